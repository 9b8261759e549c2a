// cairo helpers for the printable report: fonts, text measuring and wrapping, images, PNG and base64.
#include "report/internal.h"

#include <libdeflate.h>
#include <memory>
#include <sstream>
#include <stdexcept>

namespace nervemap::report {

void set_font(cairo_t* cr, Font font, double size) {
  // DejaVu (fonts-dejavu-core) covers ≤ ± ° → – and is what fontconfig finds on Debian; the families
  // are named so that another machine's fontconfig picks its closest match.
  const char* family = font == Font::mono ? "DejaVu Sans Mono" : "DejaVu Sans";
  cairo_select_font_face(cr,
                         family,
                         font == Font::italic ? CAIRO_FONT_SLANT_OBLIQUE : CAIRO_FONT_SLANT_NORMAL,
                         font == Font::bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL);
  cairo_set_font_size(cr, size);
}

void set_rgb(cairo_t* cr, const Rgb& rgb) {
  cairo_set_source_rgb(cr, rgb[0] / 255.0, rgb[1] / 255.0, rgb[2] / 255.0);
}

double text_width(cairo_t* cr, const std::string& text) {
  cairo_text_extents_t e;
  cairo_text_extents(cr, text.c_str(), &e);
  return e.x_advance;
}

namespace {

//! Byte length of the UTF-8 character starting at s[i].
size_t utf8_length(const std::string& s, size_t i) {
  const unsigned char c = static_cast<unsigned char>(s[i]);
  return c < 0x80 ? 1 : c < 0xE0 ? 2 : c < 0xF0 ? 3 : 4;
}

} // namespace

std::vector<std::string> wrap_text(cairo_t* cr, const std::string& text, double width) {
  std::vector<std::string> lines;
  std::istringstream words(text);
  std::string word, line;
  while (words >> word) {
    const std::string candidate = line.empty() ? word : line + " " + word;
    if (text_width(cr, candidate) <= width) {
      line = candidate;
      continue;
    }
    if (!line.empty())
      lines.push_back(line);
    line.clear();
    // A word wider than the column (a long DOI or UID) is cut at character boundaries.
    while (text_width(cr, word) > width) {
      size_t cut = 0;
      for (size_t i = 0; i < word.size();) {
        const size_t next = i + utf8_length(word, i);
        if (text_width(cr, word.substr(0, next)) > width)
          break;
        cut = next;
        i = next;
      }
      if (cut == 0)
        cut = utf8_length(word, 0);
      lines.push_back(word.substr(0, cut));
      word = word.substr(cut);
    }
    line = word;
  }
  if (!line.empty() || lines.empty())
    lines.push_back(line);
  return lines;
}

void show_text(cairo_t* cr, const std::string& text, double x, double y, double align) {
  cairo_move_to(cr, x - align * text_width(cr, text), y);
  cairo_show_text(cr, text.c_str());
}

cairo_surface_t* rgb24_surface(const std::vector<uint32_t>& pixels, int width, int height) {
  cairo_surface_t* s = cairo_image_surface_create(CAIRO_FORMAT_RGB24, width, height);
  cairo_surface_flush(s);
  unsigned char* data = cairo_image_surface_get_data(s);
  const int stride = cairo_image_surface_get_stride(s);
  for (int r = 0; r < height; ++r)
    std::copy_n(pixels.data() + size_t(r) * size_t(width),
                size_t(width),
                reinterpret_cast<uint32_t*>(data + r * stride));
  cairo_surface_mark_dirty(s);
  return s;
}

namespace {

void put_u32(std::string& out, uint32_t v) {
  for (int shift = 24; shift >= 0; shift -= 8)
    out += char((v >> shift) & 0xff);
}

void put_chunk(std::string& out, const char* type, const std::string& data) {
  put_u32(out, uint32_t(data.size()));
  const std::string typed = std::string(type, 4) + data;
  out += typed;
  put_u32(out, libdeflate_crc32(0, typed.data(), typed.size()));
}

} // namespace

std::string png_bytes(cairo_surface_t* surface) {
  // Our own PNG writer (8-bit RGB, "Sub" row filter, libdeflate at a fast level): cairo's libpng path at
  // the default zlib level took most of the time of the whole printable report.
  cairo_surface_flush(surface);
  const int width = cairo_image_surface_get_width(surface), height = cairo_image_surface_get_height(surface);
  const int stride = cairo_image_surface_get_stride(surface);
  const unsigned char* data = cairo_image_surface_get_data(surface);
  std::string raw;
  raw.reserve(size_t(height) * (1 + 3 * size_t(width)));
  for (int r = 0; r < height; ++r) {
    const auto* row = reinterpret_cast<const uint32_t*>(data + r * stride);
    raw += char(1); // Sub: each byte minus the same channel of the pixel to its left
    uint8_t prev[3] = {0, 0, 0};
    for (int c = 0; c < width; ++c) {
      const uint8_t rgb[3] = {uint8_t(row[c] >> 16), uint8_t(row[c] >> 8), uint8_t(row[c])};
      for (int k = 0; k < 3; ++k) {
        raw += char(uint8_t(rgb[k] - prev[k]));
        prev[k] = rgb[k];
      }
    }
  }
  std::unique_ptr<libdeflate_compressor, void (*)(libdeflate_compressor*)> compressor(
      libdeflate_alloc_compressor(4), libdeflate_free_compressor);
  if (!compressor)
    throw std::bad_alloc();
  std::string idat(libdeflate_zlib_compress_bound(compressor.get(), raw.size()), '\0');
  idat.resize(libdeflate_zlib_compress(compressor.get(), raw.data(), raw.size(), idat.data(), idat.size()));
  std::string png("\x89PNG\r\n\x1a\n", 8);
  std::string header;
  put_u32(header, uint32_t(width));
  put_u32(header, uint32_t(height));
  header += std::string("\x08\x02\x00\x00\x00", 5); // 8 bits, RGB, deflate, adaptive filters, no interlace
  put_chunk(png, "IHDR", header);
  put_chunk(png, "IDAT", idat);
  put_chunk(png, "IEND", "");
  return png;
}

std::string base64(const std::string& bytes) {
  static const char* alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8) |
                       uint32_t(uint8_t(bytes[i + 2]));
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += alphabet[v & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t v = uint32_t(uint8_t(bytes[i])) << 16;
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t v = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += alphabet[(v >> 18) & 63];
    out += alphabet[(v >> 12) & 63];
    out += alphabet[(v >> 6) & 63];
    out += '=';
  }
  return out;
}

} // namespace nervemap::report
