// nervemap server: the web service behind `nervemap serve` (design §9) — upload a case, run it in a
// bounded in-process worker pool, follow its progress, fetch its results — plus the browser viewer's
// static files, all from one process.
//
// State lives in SQLite (WAL) under the data folder, so a restart lists every case as it was: finished
// results survive, a job interrupted by a crash or kill -9 is re-queued (twice interrupted: failed,
// reason `interrupted`), and an upload that was answered 201 is never lost. Jobs run in-process and so
// die with the server; a restarted server never races a leftover job.
//
// Data folder layout:
//   DATA/nervemap.db          the case table (SQLite, WAL)
//   DATA/uploads/<id>/        an upload being received and checked (removed at start-up)
//   DATA/cases/<id>/input/    the checked inputs (ct.nii[.gz] or ct/ DICOM, structures, tumour, pet)
//   DATA/cases/<id>/out/      the pipeline's outputs (report.json, ct.nii.gz, labels, tracts, ...)
#pragma once

#include "io/io.h"
#include "pipeline/pipeline.h"

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

namespace nervemap::server {

namespace fs = std::filesystem;

struct Limits {
  uint64_t max_upload_bytes = 2ull << 30; //!< one whole request body (design §9: 2 GiB)
  io::ZipLimits zip;                      //!< unpacked size and entry count of an uploaded zip
};

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                     //!< 0 picks a free port
  fs::path data_dir = "nervemap-data"; //!< created if missing
  std::optional<std::string> token;    //!< bearer token; without one the API serves loopback only
  int retention_days = 0;              //!< delete finished cases older than this; 0 keeps them
  int workers = 1;                     //!< jobs run at once (each job uses every core through OpenMP)
  fs::path web_dir;                    //!< the viewer's files (index.html, *.js, niivue.js)
  Limits limits;
  //! Where the server says what it does (start-up, recovered jobs, failures); one line per call.
  std::function<void(const std::string&)> log;
};

//! True for a well-formed case id (server-generated: 16 lowercase hex digits). Checked on every route.
bool valid_case_id(std::string_view id);

//! True for a loopback host name or address (127.0.0.0/8, ::1, localhost).
bool is_loopback_host(std::string_view host);

//! A case that was run outside the server (e.g. by `nervemap demo`), to be listed and viewed by it.
struct FinishedCase {
  pipeline::CaseInputs inputs; //!< its files (copied in) and its name in the case list
  fs::path results;            //!< the pipeline's output folder (report.json and the rest)
};

//! Copy a finished case (its inputs and its results) into the data folder as a done case, replacing an
//! earlier case of the same name, so that `nervemap serve --data DIR` lists it and can re-run it. Safe
//! while a server runs on the same folder (SQLite WAL). Returns the new case's id. Throws InputError if
//! the results have no report.json or a file cannot be copied (nothing is left behind then).
std::string add_finished_case(const fs::path& data_dir, const FinishedCase& finished);

class Server {
public:
  //! Opens (or creates) the data folder and its database and recovers interrupted jobs. Throws
  //! InputError for an unusable data folder and UsageError for a non-loopback host without a token.
  explicit Server(ServerOptions options);
  ~Server();
  Server(const Server&) = delete;
  Server& operator=(const Server&) = delete;

  //! Bind the listening socket and start the job workers; returns the port (the chosen one for 0).
  //! Throws InputError if the address cannot be bound.
  int bind();
  //! Serve until stop() is called (from another thread). Returns when the listener has closed.
  void run();
  //! Stop listening, end event streams, cancel running jobs (they are re-queued for the next start).
  void stop();

private:
  struct State;
  std::unique_ptr<State> state_;
};

} // namespace nervemap::server
