// The viewer's files, served by the same process so that it works offline: index.html for "/" and
// "/case/{id}", and every file of the web folder (the viewer's ES modules and NiiVue's ESM build copied
// there at build time). The set of files is read once at start-up; a request can reach nothing else.
#include "server/internal.h"

#include <fmt/format.h>
#include <fstream>
#include <sstream>

namespace nervemap::server {

namespace {

std::string static_mime(const fs::path& p) {
  const std::string ext = p.extension().string();
  if (ext == ".html")
    return "text/html; charset=utf-8";
  if (ext == ".js" || ext == ".mjs")
    return "text/javascript; charset=utf-8";
  if (ext == ".css")
    return "text/css; charset=utf-8";
  if (ext == ".json" || ext == ".map")
    return "application/json";
  if (ext == ".svg")
    return "image/svg+xml";
  if (ext == ".png")
    return "image/png";
  if (ext == ".ico")
    return "image/x-icon";
  if (ext == ".woff2")
    return "font/woff2";
  return "application/octet-stream";
}

std::optional<std::string> read_all(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  if (!in)
    return std::nullopt;
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

void set_common_headers(httplib::Response& res) {
  res.set_header("X-Content-Type-Options", "nosniff");
  res.set_header("Referrer-Policy", "no-referrer");
  res.set_header("X-Frame-Options", "DENY");
  // Everything comes from this server; NiiVue compiles its shaders (no eval) and decodes in WASM.
  res.set_header(
      "Content-Security-Policy",
      "default-src 'self'; script-src 'self' 'wasm-unsafe-eval'; style-src 'self' 'unsafe-inline'; "
      "img-src 'self' data: blob:; worker-src 'self' blob:; connect-src 'self'; object-src 'none'; "
      "frame-ancestors 'none'; base-uri 'none'");
  res.set_header("Cache-Control", "no-cache");
}

} // namespace

void add_static_routes(httplib::Server& http, const fs::path& web_dir) {
  auto files = std::make_shared<std::map<std::string, fs::path>>();
  std::error_code ec;
  for (auto it = fs::recursive_directory_iterator(web_dir, ec);
       !ec && it != fs::recursive_directory_iterator();
       it.increment(ec)) {
    const std::string name = it->path().filename().string();
    if (!name.empty() && name.front() == '.') {
      if (it->is_directory())
        it.disable_recursion_pending();
      continue;
    }
    if (it->is_regular_file())
      (*files)["/" + fs::relative(it->path(), web_dir).generic_string()] = it->path();
  }
  const bool has_viewer = files->count("/index.html") > 0;

  auto serve = [files](const std::string& url, httplib::Response& res) {
    auto it = files->find(url);
    if (it == files->end())
      return false;
    auto content = read_all(it->second);
    if (!content)
      return false;
    set_common_headers(res);
    res.set_content(std::move(*content), static_mime(it->second));
    return true;
  };

  http.Get(R"(/(|case/[^/]*))",
           [serve, has_viewer, web_dir](const httplib::Request&, httplib::Response& res) {
             if (!serve("/index.html", res)) {
               res.status = has_viewer ? 500 : 404;
               res.set_content(
                   fmt::format("The viewer's files are not in {}: build nervemap (cmake --build build) "
                               "after `npm ci`, or pass --web DIR. The API under /api/ works without them.\n",
                               web_dir.string()),
                   "text/plain; charset=utf-8");
             }
           });
  http.Get(R"(/(?!api/).+)", [serve](const httplib::Request& req, httplib::Response& res) {
    if (!serve(req.path, res)) {
      res.status = 404;
      res.set_content("not found\n", "text/plain; charset=utf-8");
    }
  });
}

} // namespace nervemap::server
