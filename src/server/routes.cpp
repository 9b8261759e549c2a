// The API of design §9. Every /api/ request is authorised before its body is read (the 100-continue
// and pre-routing hooks run before cpp-httplib touches the body), every case id is validated, and
// every failure is JSON {"error": ...} with its status: 400 invalid, 401 token, 404 unknown, 413 size.
#include "core/core.h"
#include "server/internal.h"

#include <fmt/format.h>
#include <fstream>

namespace nervemap::server {

namespace {

constexpr const char* kSessionCookie = "nervemap_session";

bool starts_with(const std::string& s, std::string_view prefix) {
  return s.compare(0, prefix.size(), prefix) == 0;
}

//! Constant-time comparison: the time taken does not tell how much of a guessed token was right.
bool same_secret(const std::string& given, const std::string& secret) {
  if (secret.empty())
    return false;
  unsigned char diff = given.size() == secret.size() ? 0 : 1;
  for (size_t i = 0; i < given.size(); ++i)
    diff |= uint8_t(given[i]) ^ uint8_t(secret[i % secret.size()]);
  return diff == 0;
}

std::string cookie_value(const httplib::Request& req, const std::string& name) {
  const std::string cookies = req.get_header_value("Cookie");
  size_t at = 0;
  while (at < cookies.size()) {
    size_t end = cookies.find(';', at);
    if (end == std::string::npos)
      end = cookies.size();
    std::string pair = cookies.substr(at, end - at);
    const size_t first = pair.find_first_not_of(' ');
    pair = first == std::string::npos ? "" : pair.substr(first);
    if (starts_with(pair, name + "="))
      return pair.substr(name.size() + 1);
    at = end + 1;
  }
  return {};
}

std::string host_of(const std::string& host_header) {
  if (!host_header.empty() && host_header.front() == '[') {
    const size_t close = host_header.find(']');
    return close == std::string::npos ? host_header : host_header.substr(0, close + 1);
  }
  const size_t colon = host_header.rfind(':');
  return colon == std::string::npos ? host_header : host_header.substr(0, colon);
}

//! Why an /api/ request may not proceed (status and message), or nothing if it may. Uses headers only.
std::optional<std::pair<int, std::string>> refuse_before_body(const httplib::Request& req, Context& c) {
  if (!starts_with(req.path, "/api/"))
    return std::nullopt;
  if (!c.options.token) {
    // No token: loopback clients only, and only under a loopback name — a page on another site that
    // rebinds its DNS name to 127.0.0.1 does not get in.
    if (!is_loopback_host(req.remote_addr))
      return std::pair{401, std::string("this server has no token configured and serves this machine only")};
    if (!is_loopback_host(host_of(req.get_header_value("Host"))))
      return std::pair{403, std::string("the Host header does not name this machine")};
  }
  // A browser sends Origin with cross-site requests; those never act on this API (no CORS).
  const std::string origin = req.get_header_value("Origin");
  if (!origin.empty() && req.method != "GET" && origin != "http://" + req.get_header_value("Host"))
    return std::pair{403, std::string("cross-origin requests are not accepted")};
  if (c.options.token && req.path != "/api/login") {
    const std::string auth = req.get_header_value("Authorization");
    const bool bearer = starts_with(auth, "Bearer ") && same_secret(auth.substr(7), *c.options.token);
    const std::string session = cookie_value(req, kSessionCookie);
    if (!bearer && !(session.size() == 32 && c.sessions.valid(session)))
      return std::pair{401,
                       std::string(auth.empty() && session.empty()
                                       ? "a token is required: send 'Authorization: Bearer <token>'"
                                       : "wrong token")};
  }
  if (req.method == "POST" && req.path == "/api/cases" && req.has_header("Content-Length")) {
    const std::string declared = req.get_header_value("Content-Length");
    const unsigned long long length = std::strtoull(declared.c_str(), nullptr, 10);
    if (length > c.options.limits.max_upload_bytes)
      return std::pair{413,
                       fmt::format("the upload ({} bytes) is larger than the limit of {} bytes",
                                   length,
                                   c.options.limits.max_upload_bytes)};
  }
  return std::nullopt;
}

//! cpp-httplib compresses text responses with Brotli at quality 11 whenever the client accepts it:
//! about 0.2 MB/s here, 20 s for NiiVue's 3 MB bundle and seconds for a report. gzip at its default
//! level is a hundred times faster, so only gzip is offered to the compressor. The Request is
//! cpp-httplib's own mutable object handed to us as const; only this header is changed.
void prefer_gzip(const httplib::Request& req) {
  auto& headers = const_cast<httplib::Request&>(req).headers;
  auto it = headers.find("Accept-Encoding");
  if (it == headers.end())
    return;
  const bool gzip = it->second.find("gzip") != std::string::npos;
  headers.erase(it);
  if (gzip)
    headers.emplace("Accept-Encoding", "gzip");
}

void send_json(httplib::Response& res, int status, const nlohmann::json& body) {
  res.status = status;
  res.set_header("Cache-Control", "no-store");
  res.set_content(body.dump(), "application/json");
}

//! The case id of a route, validated: malformed → 400, unknown → 404.
CaseRow case_of(Context& c, const std::string& id) {
  if (!valid_case_id(id))
    throw ApiError(400, "malformed case id");
  auto row = c.store.get(id);
  if (!row)
    throw ApiError(404, fmt::format("no case {}", id));
  return *row;
}

//! Files of a finished case, relative to its out folder, report first. Temporary names of a writer
//! (".tmp-...") and hidden files are never listed, so they can never be fetched.
std::vector<std::string> case_files(Context& c, const CaseRow& row) {
  std::vector<std::string> files;
  if (row.status != "done")
    return files;
  const fs::path out = c.folders.out(row.id);
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(out, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (name.empty() || name.front() == '.') {
      if (it->is_directory())
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file() && !it->is_symlink())
      files.push_back(fs::relative(it->path(), out).generic_string());
  }
  static const std::vector<std::string> first{
      "report.json", "report.pdf", "report.html", "ct.nii.gz", "labels.nii.gz", "labels.json", "nerves.tck"};
  auto rank = [&](const std::string& f) {
    auto it = std::find(first.begin(), first.end(), f);
    return it == first.end() ? first.size() : size_t(it - first.begin());
  };
  std::sort(files.begin(), files.end(), [&](const auto& a, const auto& b) {
    return std::pair(rank(a), a) < std::pair(rank(b), b);
  });
  return files;
}

std::string mime_type(const std::string& name) {
  auto ends = [&](std::string_view suffix) { return name.ends_with(suffix); };
  if (ends(".json"))
    return "application/json";
  if (ends(".pdf"))
    return "application/pdf";
  if (ends(".html"))
    return "text/html; charset=utf-8";
  if (ends(".png"))
    return "image/png";
  if (ends(".gz"))
    return "application/gzip";
  if (ends(".txt") || ends(".tsv") || ends(".csv"))
    return "text/plain; charset=utf-8";
  return "application/octet-stream";
}

void sync_tree(const fs::path& dir) {
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
       it.increment(ec))
    sync_path(it->path());
  sync_path(dir);
}

void create_case(Context& c,
                 const httplib::Request& req,
                 httplib::Response& res,
                 const httplib::ContentReader& reader) {
  const std::string id = new_case_id();
  const fs::path staging = c.folders.uploads() / id;
  struct Cleanup {
    fs::path dir;
    ~Cleanup() {
      std::error_code ec;
      fs::remove_all(dir, ec);
    }
  } cleanup{staging};
  const auto started = std::chrono::steady_clock::now();
  const pipeline::CaseInputs inputs = receive_case_upload(req, reader, staging, c.options.limits);
  // Durable before acknowledged: files, then the folder's move into cases/, then the row.
  sync_tree(staging);
  fs::rename(staging, c.folders.dir(id));
  sync_path(c.folders.cases());
  CaseRow row;
  row.id = id;
  row.created = iso_utc_now();
  row.status = "queued";
  row.inputs = pipeline::to_json(inputs, staging);
  c.store.insert(row);
  c.changes.notify();
  c.runner.wake();
  c.log(fmt::format("case {}: uploaded and checked in {:.1f} s; queued",
                    id,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count()));
  send_json(res, 201, {{"id", id}});
}

//! Server-sent events: the case's fields whenever they change, until it is done, failed or deleted.
void stream_events(Context& c, const std::string& id, httplib::Response& res) {
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Accel-Buffering", "no");
  struct Stream {
    std::string last;
    uint64_t seen = 0;
    std::chrono::steady_clock::time_point last_write = std::chrono::steady_clock::now();
    bool first = true;
  };
  auto stream = std::make_shared<Stream>();
  res.set_chunked_content_provider("text/event-stream", [&c, id, stream](size_t, httplib::DataSink& sink) {
    if (stream->first) {
      stream->first = false;
      // Reconnect quickly after a server restart; the stream resends the current state anyway.
      if (!sink.write("retry: 2000\n\n", 13))
        return false;
    }
    const uint64_t version = c.changes.current();
    const auto row = c.store.get(id);
    if (!row) {
      const std::string msg =
          "event: deleted\ndata: " + nlohmann::json{{"id", id}, {"deleted", true}}.dump() + "\n\n";
      sink.write(msg.data(), msg.size());
      sink.done();
      return true;
    }
    const std::string data = case_json(*row).dump();
    if (data != stream->last) {
      const std::string msg = "data: " + data + "\n\n";
      if (!sink.write(msg.data(), msg.size()))
        return false;
      stream->last = data;
      stream->last_write = std::chrono::steady_clock::now();
    }
    if (row->status == "done" || row->status == "failed" || c.stopping) {
      sink.done();
      return true;
    }
    stream->seen = c.changes.wait(version, std::chrono::seconds(1));
    // A comment now and then finds a client that went away (the write fails) and keeps proxies open.
    if (std::chrono::steady_clock::now() - stream->last_write > std::chrono::seconds(10)) {
      if (!sink.write(": keep-alive\n\n", 14))
        return false;
      stream->last_write = std::chrono::steady_clock::now();
    }
    return true;
  });
}

void send_file(const fs::path& path, const std::string& name, httplib::Response& res) {
  std::error_code ec;
  const uint64_t size = fs::file_size(path, ec);
  if (ec)
    throw ApiError(404, fmt::format("no file {}", name));
  res.set_header("Cache-Control", "no-store");
  res.set_header("X-Content-Type-Options", "nosniff");
  if (name.ends_with(".html")) // a generated report: shown, never able to run script on this origin
    res.set_header("Content-Security-Policy",
                   "sandbox; default-src 'none'; img-src data:; style-src 'unsafe-inline'");
  auto file = std::make_shared<std::ifstream>(path, std::ios::binary);
  res.set_content_provider(
      size_t(size), mime_type(name), [file](size_t offset, size_t length, httplib::DataSink& sink) {
        std::vector<char> buffer(std::min<size_t>(length, 1 << 18));
        file->seekg(std::streamoff(offset));
        file->read(buffer.data(), std::streamsize(buffer.size()));
        const auto n = size_t(file->gcount());
        return n > 0 && sink.write(buffer.data(), n);
      });
}

//! Wrap a handler: ApiError → its status, anything else → 500, all as JSON.
template <class Handler> auto guarded(Context& c, Handler handler) {
  return [&c, handler](const httplib::Request& req, httplib::Response& res) {
    try {
      handler(req, res);
    } catch (const ApiError& e) {
      send_error(res, e.status(), e.what());
    } catch (const std::exception& e) {
      c.log(fmt::format("{} {}: internal error: {}", req.method, req.path, e.what()));
      send_error(res, 500, "internal error; see the server's log");
    }
  };
}

} // namespace

void send_error(httplib::Response& res, int status, const std::string& message) {
  send_json(res, status, {{"error", message}});
}

void add_api_routes(httplib::Server& http, Context& c) {
  auto check = [&c](const httplib::Request& req, httplib::Response& res) {
    if (auto refusal = refuse_before_body(req, c)) {
      send_error(res, refusal->first, refusal->second);
      return true;
    }
    return false;
  };
  // curl and other clients wait for "100 Continue" before a large body: refuse before it is sent.
  http.set_expect_100_continue_handler([check](const httplib::Request& req, httplib::Response& res) {
    return check(req, res) ? res.status : 100;
  });
  http.set_pre_routing_handler([check](const httplib::Request& req, httplib::Response& res) {
    prefer_gzip(req);
    return check(req, res) ? httplib::Server::HandlerResponse::Handled
                           : httplib::Server::HandlerResponse::Unhandled;
  });
  http.set_error_handler(
      httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
        if (!res.body.empty() || !starts_with(req.path, "/api/"))
          return httplib::Server::HandlerResponse::Unhandled;
        // A path under /api/cases/ that matched no route: a malformed id is 400, as on the routes.
        constexpr std::string_view cases = "/api/cases/";
        if (res.status == 404 && starts_with(req.path, cases)) {
          const std::string rest = req.path.substr(cases.size());
          if (!valid_case_id(rest.substr(0, rest.find('/')))) {
            send_error(res, 400, "malformed case id");
            return httplib::Server::HandlerResponse::Handled;
          }
        }
        send_error(res, res.status, res.status == 404 ? "no such API route" : "request refused");
        return httplib::Server::HandlerResponse::Handled;
      }));
  http.set_exception_handler(
      [&c](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        c.log(fmt::format("{} {}: internal error: {}", req.method, req.path, what));
        send_error(res, 500, "internal error; see the server's log");
      });

  http.Post(
      "/api/login", guarded(c, [&c](const httplib::Request& req, httplib::Response& res) {
        if (!c.options.token) {
          send_json(res, 200, {{"ok", true}, {"token_required", false}});
          return;
        }
        const auto body = nlohmann::json::parse(req.body, nullptr, false);
        const std::string token = body.is_object() && body.contains("token") && body["token"].is_string()
                                      ? body["token"].get<std::string>()
                                      : req.get_param_value("token");
        if (token.empty() || !same_secret(token, *c.options.token))
          throw ApiError(401, "wrong token");
        res.set_header(
            "Set-Cookie",
            fmt::format("{}={}; Path=/; HttpOnly; SameSite=Strict", kSessionCookie, c.sessions.create()));
        send_json(res, 200, {{"ok", true}, {"token_required", true}});
      }));

  http.Get("/api/cases", guarded(c, [&c](const httplib::Request&, httplib::Response& res) {
             nlohmann::json list = nlohmann::json::array();
             for (const auto& row : c.store.list()) {
               auto j = case_json(row);
               j["name"] = row.inputs.value("name", "");
               list.push_back(std::move(j));
             }
             send_json(res, 200, list);
           }));

  http.Post("/api/cases",
            [&c](const httplib::Request& req, httplib::Response& res, const httplib::ContentReader& reader) {
              guarded(c, [&](const httplib::Request& r, httplib::Response& s) {
                create_case(c, r, s, reader);
              })(req, res);
            });

  http.Get(R"(/api/cases/([^/]+))", guarded(c, [&c](const httplib::Request& req, httplib::Response& res) {
             const CaseRow row = case_of(c, req.matches[1]);
             auto j = case_json(row);
             j["name"] = row.inputs.value("name", "");
             send_json(res, 200, j);
           }));

  http.Get(R"(/api/cases/([^/]+)/events)",
           guarded(c, [&c](const httplib::Request& req, httplib::Response& res) {
             const CaseRow row = case_of(c, req.matches[1]);
             stream_events(c, row.id, res);
           }));

  http.Get(R"(/api/cases/([^/]+)/files)",
           guarded(c, [&c](const httplib::Request& req, httplib::Response& res) {
             const CaseRow row = case_of(c, req.matches[1]);
             send_json(res, 200, case_files(c, row));
           }));

  http.Get(R"(/api/cases/([^/]+)/files/(.+))",
           guarded(c, [&c](const httplib::Request& req, httplib::Response& res) {
             const CaseRow row = case_of(c, req.matches[1]);
             const std::string name = req.matches[2];
             // Only a name in the case's own list is served: nothing else can be reached by any spelling.
             const auto files = case_files(c, row);
             if (std::find(files.begin(), files.end(), name) == files.end())
               throw ApiError(404, fmt::format("case {} has no file {}", row.id, name));
             send_file(c.folders.out(row.id) / name, name, res);
           }));

  http.Delete(R"(/api/cases/([^/]+))", guarded(c, [&c](const httplib::Request& req, httplib::Response& res) {
                const CaseRow row = case_of(c, req.matches[1]);
                // A running job stops at its next stage boundary and removes the folder itself.
                if (!c.runner.cancel(row.id))
                  c.delete_case_files(row.id);
                c.changes.notify();
                c.log(fmt::format("case {}: deleted", row.id));
                send_json(res, 200, {{"id", row.id}, {"deleted", true}});
              }));
}

} // namespace nervemap::server
