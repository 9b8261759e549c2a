// The job workers: a fixed number of threads in the server process take queued cases in upload order
// and run them through the pipeline library. Running in-process means a job dies with the server, so a
// restarted server never races a leftover job; the database says what was running and recovery
// re-queues it.
#include "core/core.h"
#include "pipeline/pipeline.h"
#include "server/internal.h"

#include <fmt/format.h>

namespace nervemap::server {

namespace {

//! Thrown from the progress callback to unwind a job that was deleted or whose server is stopping;
//! the pipeline's output transaction removes what the run had written.
struct Cancelled {};

pipeline::RunOptions run_options(const CaseRow& row, const fs::path& case_dir, const fs::path& out) {
  pipeline::RunOptions o;
  // Uploaded structure files are named by TotalSegmentator class or carry their table, and masks are
  // on the CT grid (both checked at upload).
  o.inputs = pipeline::case_inputs_from_json(row.inputs, case_dir);
  o.out = out;
  return o;
}

} // namespace

JobRunner::JobRunner(CaseStore& store,
                     ChangeSignal& changes,
                     CaseFolders folders,
                     int workers,
                     std::function<void(const std::string&)> log)
    : store_(store), changes_(changes), folders_(std::move(folders)), worker_count_(std::max(1, workers)),
      log_(std::move(log)) {}

JobRunner::~JobRunner() {
  shutdown(std::chrono::milliseconds(0));
}

void JobRunner::start() {
  std::lock_guard lock(mutex_);
  for (int i = 0; i < worker_count_; ++i)
    threads_.emplace_back([this] { work(); });
}

void JobRunner::wake() {
  cv_.notify_all();
}

bool JobRunner::cancel(const std::string& id) {
  std::lock_guard lock(mutex_);
  // Remove the row under the runner's lock: a worker claims under the same lock, so a deleted case is
  // either claimed-and-cancelled here or never claimed.
  store_.remove(id);
  if (!running_.count(id))
    return false;
  cancelled_.insert(id);
  return true;
}

bool JobRunner::shutdown(std::chrono::milliseconds grace) {
  std::vector<std::thread> threads;
  {
    std::unique_lock lock(mutex_);
    if (!stopping_) {
      stopping_ = true;
      // A graceful stop is not a crash: the job starts again next time without counting an attempt.
      for (const auto& id : running_)
        if (!cancelled_.count(id))
          store_.requeue(id, true);
    }
    cv_.notify_all();
    cv_.wait_for(lock, grace, [&] { return busy_ == 0; });
    threads.swap(threads_);
    if (busy_ > 0) {
      // The caller ends the process; these jobs die with it. Detached, so that no joinable thread is
      // destroyed on the way out.
      for (auto& t : threads)
        t.detach();
      return false;
    }
  }
  changes_.notify();
  for (auto& t : threads)
    t.join();
  return true;
}

void JobRunner::work() {
  for (;;) {
    std::optional<CaseRow> row;
    {
      std::unique_lock lock(mutex_);
      // Wake at least every few seconds: a case inserted by another thread between our check and
      // the wait must not sit in the queue.
      while (!stopping_) {
        row = store_.claim_next();
        if (row)
          break;
        cv_.wait_for(lock, std::chrono::seconds(5));
      }
      if (stopping_ && !row)
        return;
      if (stopping_) { // claimed just as we stopped: give it back untouched
        store_.requeue(row->id, true);
        return;
      }
      running_.insert(row->id);
      ++busy_;
    }
    changes_.notify();
    run_one(*row);
    {
      std::lock_guard lock(mutex_);
      running_.erase(row->id);
      cancelled_.erase(row->id);
      --busy_;
    }
    cv_.notify_all();
    changes_.notify();
  }
}

void JobRunner::run_one(const CaseRow& row) {
  const std::string& id = row.id;
  const fs::path case_dir = folders_.dir(id);
  const fs::path out = folders_.out(id);
  auto is_cancelled = [&] {
    std::lock_guard lock(mutex_);
    return cancelled_.count(id) > 0 || stopping_;
  };
  if (log_)
    log_(fmt::format("case {}: started (attempt {})", id, row.attempts));
  const auto started = std::chrono::steady_clock::now();
  std::optional<std::string> failure;
  try {
    // Leftovers of an interrupted attempt (temporary files of a killed run) must not be listed.
    fs::remove_all(out);
    const pipeline::RunOptions options = run_options(row, case_dir, out);
    pipeline::run_case(options, [&](const std::string& stage, double progress) {
      // The last report comes after the outputs are committed: finish rather than throw them away.
      if (progress < 1.0 && is_cancelled())
        throw Cancelled{};
      store_.set_progress(id, stage, progress);
      changes_.notify();
    });
    if (!is_cancelled())
      store_.set_done(id);
  } catch (const Cancelled&) {
  } catch (const InputError& e) {
    failure = e.what();
  } catch (const std::bad_alloc&) {
    failure = "out of memory: the case is larger than this machine can hold";
  } catch (const std::exception& e) {
    failure = fmt::format("internal error: {}", e.what());
  }
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  bool deleted = false;
  {
    std::lock_guard lock(mutex_);
    deleted = cancelled_.count(id) > 0;
  }
  if (deleted) {
    // Nothing writes into the folder any more: the case is gone.
    std::error_code ec;
    fs::remove_all(case_dir, ec);
    if (log_)
      log_(fmt::format("case {}: deleted while running; stopped after {:.1f} s", id, seconds));
    return;
  }
  if (failure) {
    store_.set_failed(id, *failure);
    if (log_)
      log_(fmt::format("case {}: failed after {:.1f} s: {}", id, seconds, *failure));
  } else if (log_ && !is_cancelled()) {
    log_(fmt::format("case {}: done in {:.1f} s", id, seconds));
  }
}

} // namespace nervemap::server
