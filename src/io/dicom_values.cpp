// nervemap io, DICOM: attribute values — text without its padding, person names and descriptions as
// UTF-8 from the file's SpecificCharacterSet, and the numbers of DS, IS and US elements.
#include "io/internal_dicom.h"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <iconv.h>

namespace nervemap::io::dicom {
namespace {

bool valid_utf8(const std::string& s) {
  for (size_t i = 0; i < s.size();) {
    const auto c = uint8_t(s[i]);
    // Lead bytes C0, C1 and F5..FF only start overlong or out-of-range sequences (RFC 3629 §4).
    const size_t n = c < 0x80                          ? 0
                     : (c & 0xE0) == 0xC0 && c >= 0xC2 ? 1
                     : (c & 0xF0) == 0xE0              ? 2
                     : c >= 0xF0 && c <= 0xF4          ? 3
                                                       : 4;
    if (n == 4 || i + n >= s.size())
      return false;
    for (size_t k = 1; k <= n; ++k)
      if ((uint8_t(s[i + k]) & 0xC0) != 0x80)
        return false;
    if (c == 0xED && n == 2 && uint8_t(s[i + 1]) >= 0xA0) // UTF-16 surrogates
      return false;
    i += n + 1;
  }
  return true;
}

} // namespace

std::string trim(const std::string& s) {
  const char* ws = " \t\r\n";
  std::string out = s;
  while (!out.empty() && (out.back() == '\0' || std::strchr(ws, out.back())))
    out.pop_back();
  size_t b = 0;
  while (b < out.size() && std::strchr(ws, out[b]) && out[b] != '\0')
    ++b;
  return out.substr(b);
}

// Text of a person name or description as UTF-8 (reports are JSON, which must be UTF-8). The bytes
// are in the SpecificCharacterSet (0008,0005) of the file (PS3.3 C.12.1.1.2); only its first value
// (the single-byte or default repertoire) is honoured here.
std::string to_utf8(const std::string& bytes, const std::string& charset) {
  if (std::all_of(bytes.begin(), bytes.end(), [](char c) { return uint8_t(c) < 0x80; }))
    return bytes;
  static const std::map<std::string, const char*> iconv_names = {{"ISO_IR 100", "ISO-8859-1"},
                                                                 {"ISO_IR 101", "ISO-8859-2"},
                                                                 {"ISO_IR 109", "ISO-8859-3"},
                                                                 {"ISO_IR 110", "ISO-8859-4"},
                                                                 {"ISO_IR 144", "ISO-8859-5"},
                                                                 {"ISO_IR 127", "ISO-8859-6"},
                                                                 {"ISO_IR 126", "ISO-8859-7"},
                                                                 {"ISO_IR 138", "ISO-8859-8"},
                                                                 {"ISO_IR 148", "ISO-8859-9"},
                                                                 {"ISO_IR 203", "ISO-8859-15"},
                                                                 {"ISO_IR 166", "TIS-620"},
                                                                 {"ISO_IR 13", "SHIFT_JIS"},
                                                                 {"GB18030", "GB18030"},
                                                                 {"GBK", "GBK"}};
  std::string term = trim(charset.substr(0, charset.find('\\')));
  if (term.rfind("ISO 2022 IR ", 0) == 0)
    term = "ISO_IR " + term.substr(12);
  if (auto it = iconv_names.find(term); it != iconv_names.end()) {
    iconv_t cd = iconv_open("UTF-8", it->second);
    if (cd != iconv_t(-1)) {
      std::string in = bytes, out(bytes.size() * 4 + 4, '\0');
      char* ip = in.data();
      char* op = out.data();
      size_t il = in.size(), ol = out.size();
      const size_t rc = iconv(cd, &ip, &il, &op, &ol);
      iconv_close(cd);
      if (rc != size_t(-1) && il == 0)
        return out.substr(0, out.size() - ol);
    }
  }
  // ISO_IR 192, or no/unknown repertoire: many writers put UTF-8 there anyway.
  if (valid_utf8(bytes))
    return bytes;
  // Otherwise read the bytes as Latin-1 so that the text stays valid UTF-8.
  std::string out;
  for (char ch : bytes) {
    const auto c = uint8_t(ch);
    if (c < 0x80) {
      out += ch;
    } else {
      out += char(0xC0 | c >> 6);
      out += char(0x80 | (c & 0x3F));
    }
  }
  return out;
}

std::optional<double> parse_double(std::string s) {
  s = trim(s);
  if (!s.empty() && s[0] == '+')
    s.erase(0, 1);
  double v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || end != s.data() + s.size() || !std::isfinite(v))
    return std::nullopt;
  return v;
}

const RawElement* Values::find(uint32_t tag) const {
  auto it = values_.find(tag);
  return it == values_.end() ? nullptr : &it->second;
}

std::string Values::text(uint32_t tag) const {
  const RawElement* e = find(tag);
  return e ? trim(e->bytes) : std::string();
}

std::vector<double> Values::numbers(uint32_t tag) const {
  std::vector<double> out;
  const RawElement* e = find(tag);
  if (!e)
    return out;
  size_t start = 0;
  const std::string& s = e->bytes;
  while (start <= s.size()) {
    size_t stop = s.find('\\', start);
    if (stop == std::string::npos)
      stop = s.size();
    auto v = parse_double(s.substr(start, stop - start));
    if (!v)
      return {};
    out.push_back(*v);
    start = stop + 1;
  }
  return out;
}

std::optional<double> Values::number(uint32_t tag) const {
  auto v = numbers(tag);
  return v.empty() ? std::nullopt : std::optional<double>(v[0]);
}

std::optional<int> Values::integer(uint32_t tag) const {
  auto v = number(tag);
  if (!v || std::abs(*v) > 2e9 || *v != std::round(*v))
    return std::nullopt;
  return int(*v);
}

std::optional<int> Values::ushort(uint32_t tag) const {
  const RawElement* e = find(tag);
  if (!e || e->bytes.size() < 2 || (!e->vr.empty() && e->vr != "US" && e->vr != "SS"))
    return std::nullopt;
  return load_u16(reinterpret_cast<const uint8_t*>(e->bytes.data()), e->big_endian);
}

} // namespace nervemap::io::dicom
