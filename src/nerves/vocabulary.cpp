// The rule files' words for the vocabulary enums (tables in internal.h), for notes, reports and messages.
#include "nerves/internal.h"

#include <fmt/format.h>

namespace nervemap::nerves {

using namespace detail;

std::string_view to_string(Direction value) {
  return word_of(kDirectionWords, value).value_or("?");
}

std::string_view to_string(Primitive value) {
  return word_of(kPrimitiveWords, value).value_or("?");
}

std::string_view to_string(Anchor value) {
  return word_of(kAnchorWords, value).value_or("?");
}

std::string_view to_string(LevelKind value) {
  if (auto w = word_of(kStructureLevelWords, value))
    return *w;
  return word_of(kNamedLevelWords, value).value_or("?");
}

std::string_view to_string(Part value) {
  return word_of(kPartWords, value).value_or("?");
}

std::string_view to_string(Condition value) {
  return word_of(kConditionWords, value).value_or("?");
}

std::string_view to_string(Goitre value) {
  return word_of(kGoitreWords, value).value_or("?");
}

std::string Level::describe() const {
  std::string base;
  switch (kind) {
  case LevelKind::top:
  case LevelKind::bottom:
  case LevelKind::middle:
    base = fmt::format("{} of {}", to_string(kind), structure);
    break;
  case LevelKind::fraction:
    base = fmt::format("{:.2f} down {}", fraction.value, structure);
    break;
  case LevelKind::thoracic_inlet:
  case LevelKind::carotid_bifurcation:
  case LevelKind::laryngeal_prominence:
    base = to_string(kind);
    break;
  }
  if (part)
    base += fmt::format(" ({} part)", to_string(*part));
  if (offset_mm.value != 0)
    base += fmt::format(" {:+.1f} mm", offset_mm.value);
  return base;
}

} // namespace nervemap::nerves
