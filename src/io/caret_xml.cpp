// TotalSegmentator's label table in a NIfTI extension: a Caret (Connectome Workbench) XML document.
//
// Writing reproduces totalsegmentator/nifti_ext_header.py add_label_map_to_nifti byte for byte (fixed
// Date, odd spacing, one <Label> per line, colour = palette[key mod 12] / 255 printed like Python's
// repr(float)), so files we write are indistinguishable from TotalSegmentator's own. Reading is a small
// tolerant parser for exactly this element structure — not a general XML parser.
#include "io/internal_nifti.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <fmt/format.h>
#include <string_view>

namespace nervemap::io {

namespace {

// TotalSegmentator's 12 label colours (nifti_ext_header.py), indexed by key mod 12.
constexpr std::array<Rgb, 12> caret_palette{{{255, 0, 0},
                                             {0, 255, 0},
                                             {0, 0, 255},
                                             {255, 255, 0},
                                             {255, 0, 255},
                                             {0, 255, 255},
                                             {255, 128, 0},
                                             {255, 0, 128},
                                             {128, 255, 128},
                                             {0, 128, 255},
                                             {128, 128, 128},
                                             {185, 170, 155}}};

constexpr std::string_view xml_before_labels = "<?xml version=\"1.0\" encoding=\"UTF-8\"?> <CaretExtension>  "
                                               "<Date><![CDATA[2013-07-14T05:45:09]]></Date>   "
                                               "<VolumeInformation Index=\"0\">   <LabelTable>";
constexpr std::string_view xml_after_labels =
    "  </LabelTable>  <StudyMetaDataLinkSet>  </StudyMetaDataLinkSet>  "
    "<VolumeType><![CDATA[Label]]></VolumeType>   "
    "</VolumeInformation></CaretExtension>";

//! A double as Python's repr() prints it: shortest round-trip digits, always with a decimal point.
std::string python_float(double value) {
  std::array<char, 32> buffer{};
  auto [end, ec] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), value);
  std::string text(buffer.data(), end);
  if (text.find_first_of(".en") == std::string::npos)
    text += ".0";
  return text;
}

//! CDATA cannot contain "]]>"; split it across two sections (TotalSegmentator would write broken XML).
std::string cdata(const std::string& text) {
  std::string out = "<![CDATA[";
  for (size_t pos = 0;;) {
    size_t hit = text.find("]]>", pos);
    if (hit == std::string::npos) {
      out.append(text, pos);
      break;
    }
    out.append(text, pos, hit + 2 - pos);
    out += "]]><![CDATA[";
    pos = hit + 2;
  }
  return out + "]]>";
}

[[noreturn]] void malformed(size_t at, std::string_view what) {
  throw InputError(fmt::format("malformed CaretExtension XML at byte {}: {}", at, what));
}

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += char(cp);
  } else if (cp < 0x800) {
    out += char(0xC0 | (cp >> 6));
    out += char(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    out += char(0xE0 | (cp >> 12));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  } else {
    out += char(0xF0 | (cp >> 18));
    out += char(0x80 | ((cp >> 12) & 0x3F));
    out += char(0x80 | ((cp >> 6) & 0x3F));
    out += char(0x80 | (cp & 0x3F));
  }
}

//! Replace the five predefined XML entities and numeric character references.
std::string decode_entities(std::string_view text, size_t at) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '&') {
      out += text[i];
      continue;
    }
    size_t semi = text.find(';', i);
    if (semi == std::string_view::npos)
      malformed(at + i, "'&' without ';'");
    std::string_view entity = text.substr(i + 1, semi - i - 1);
    if (entity == "amp")
      out += '&';
    else if (entity == "lt")
      out += '<';
    else if (entity == "gt")
      out += '>';
    else if (entity == "quot")
      out += '"';
    else if (entity == "apos")
      out += '\'';
    else if (entity.size() > 1 && entity[0] == '#') {
      bool hex = entity[1] == 'x' || entity[1] == 'X';
      std::string_view digits = entity.substr(hex ? 2 : 1);
      uint32_t cp = 0;
      auto [p, ec] = std::from_chars(digits.data(), digits.data() + digits.size(), cp, hex ? 16 : 10);
      if (ec != std::errc() || p != digits.data() + digits.size() || cp > 0x10FFFF)
        malformed(at + i, "bad character reference");
      append_utf8(out, cp);
    } else {
      malformed(at + i, fmt::format("unknown entity '&{};'", entity));
    }
    i = semi;
  }
  return out;
}

std::string_view trim(std::string_view s) {
  const char* space = " \t\r\n";
  size_t first = s.find_first_not_of(space);
  if (first == std::string_view::npos)
    return {};
  return s.substr(first, s.find_last_not_of(space) - first + 1);
}

//! Attributes of a start tag's inside, e.g. ` Key="1" Red="0.0"` → {{"Key","1"}, {"Red","0.0"}}.
std::vector<std::pair<std::string, std::string>> parse_attributes(std::string_view tag, size_t at) {
  std::vector<std::pair<std::string, std::string>> attributes;
  size_t i = 0;
  while (true) {
    while (i < tag.size() && std::string_view(" \t\r\n").find(tag[i]) != std::string_view::npos)
      ++i;
    if (i >= tag.size())
      return attributes;
    size_t eq = tag.find('=', i);
    if (eq == std::string_view::npos)
      malformed(at + i, "attribute without '='");
    std::string name(trim(tag.substr(i, eq - i)));
    size_t open = tag.find_first_not_of(" \t\r\n", eq + 1);
    if (open == std::string_view::npos || (tag[open] != '"' && tag[open] != '\''))
      malformed(at + eq, "attribute value not quoted");
    size_t close = tag.find(tag[open], open + 1);
    if (close == std::string_view::npos)
      malformed(at + open, "attribute value not closed");
    attributes.emplace_back(name, decode_entities(tag.substr(open + 1, close - open - 1), at + open + 1));
    i = close + 1;
  }
}

//! Element text: CDATA sections kept verbatim, other text entity-decoded, surrounding space trimmed
//! (as xmltodict, which TotalSegmentator's own reader uses, does).
std::string element_text(std::string_view body, size_t at) {
  std::string text;
  size_t i = 0;
  while (i < body.size()) {
    size_t start = body.find("<![CDATA[", i);
    std::string_view plain = body.substr(i, start == std::string_view::npos ? start : start - i);
    if (plain.find('<') != std::string_view::npos)
      malformed(at + i, "unexpected markup inside <Label>");
    text += decode_entities(plain, at + i);
    if (start == std::string_view::npos)
      break;
    size_t end = body.find("]]>", start + 9);
    if (end == std::string_view::npos)
      malformed(at + start, "CDATA section not closed");
    text.append(body.substr(start + 9, end - start - 9));
    i = end + 3;
  }
  return std::string(trim(text));
}

uint8_t colour_byte(const std::string& value, size_t at) {
  double v = 0;
  auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), v);
  if (ec != std::errc() || p != value.data() + value.size() || !std::isfinite(v))
    malformed(at, fmt::format("colour '{}' is not a number", value));
  return uint8_t(std::lround(std::clamp(v, 0.0, 1.0) * 255));
}

} // namespace

const std::string* nifti::caret_extension(const NiftiHeader& header) {
  for (const auto& [ecode, content] : header.extensions)
    if ((ecode == 0 || ecode == 30) && content.find("<CaretExtension") != std::string::npos)
      return &content;
  return nullptr;
}

std::string caret_label_xml(const LabelTable& table) {
  std::string xml(xml_before_labels);
  xml += '\n';
  for (const Label& label : table.labels()) {
    const Rgb& rgb = caret_palette[size_t(((label.id % 12) + 12) % 12)]; // Python's mod is never negative
    xml += fmt::format("<Label Key=\"{}\" Red=\"{}\" Green=\"{}\" Blue=\"{}\" Alpha=\"1\">{}</Label>\n",
                       label.id,
                       python_float(rgb[0] / 255.0),
                       python_float(rgb[1] / 255.0),
                       python_float(rgb[2] / 255.0),
                       cdata(label.name));
  }
  xml += '\n';
  xml += xml_after_labels;
  xml += "\n              ";
  return xml;
}

LabelTable parse_caret_label_xml(const std::string& xml) {
  std::string_view doc(xml);
  if (doc.find("<CaretExtension") == std::string_view::npos)
    malformed(0, "no <CaretExtension> element");
  LabelTable table;
  size_t pos = 0;
  while ((pos = doc.find("<Label", pos)) != std::string_view::npos) {
    size_t after_name = pos + 6;
    if (after_name >= doc.size() ||
        std::string_view(" \t\r\n>").find(doc[after_name]) == std::string_view::npos) {
      pos = after_name; // <LabelTable> and other names that merely start with "Label"
      continue;
    }
    // End of the start tag: the first '>' outside quotes.
    size_t tag_end = after_name;
    char quote = 0;
    for (; tag_end < doc.size(); ++tag_end) {
      char c = doc[tag_end];
      if (quote) {
        quote = c == quote ? 0 : quote;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>') {
        break;
      }
    }
    if (tag_end >= doc.size())
      malformed(pos, "<Label> start tag not closed");
    if (doc[tag_end - 1] == '/')
      malformed(pos, "<Label/> without a name");
    auto attributes = parse_attributes(doc.substr(after_name, tag_end - after_name), after_name);
    size_t close = doc.find("</Label>", tag_end + 1);
    if (close == std::string_view::npos)
      malformed(pos, "<Label> without </Label>");

    Label label;
    bool has_key = false;
    for (const auto& [name, value] : attributes) {
      if (name == "Key") {
        auto [p, ec] = std::from_chars(value.data(), value.data() + value.size(), label.id);
        if (ec != std::errc() || p != value.data() + value.size())
          malformed(pos, fmt::format("Key '{}' is not an integer", value));
        has_key = true;
      } else if (name == "Red") {
        label.rgb[0] = colour_byte(value, pos);
      } else if (name == "Green") {
        label.rgb[1] = colour_byte(value, pos);
      } else if (name == "Blue") {
        label.rgb[2] = colour_byte(value, pos);
      }
    }
    if (!has_key)
      malformed(pos, "<Label> without a Key attribute");
    label.name = element_text(doc.substr(tag_end + 1, close - tag_end - 1), tag_end + 1);
    if (label.name.empty())
      malformed(pos, fmt::format("label {} has an empty name", label.id));
    table.add(std::move(label));
    pos = close + 8;
  }
  return table;
}

} // namespace nervemap::io
