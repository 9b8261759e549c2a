#include "core/core.h"

#include <algorithm>
#include <fmt/format.h>

namespace nervemap {

void LabelTable::add(Label label) {
  if (find(label.id))
    throw InputError(fmt::format("label table lists id {} twice", label.id));
  if (find(label.name))
    throw InputError(fmt::format("label table lists the name '{}' twice", label.name));
  auto pos = std::lower_bound(
      labels_.begin(), labels_.end(), label.id, [](const Label& l, int id) { return l.id < id; });
  labels_.insert(pos, std::move(label));
}

const Label* LabelTable::find(int id) const {
  auto pos =
      std::lower_bound(labels_.begin(), labels_.end(), id, [](const Label& l, int v) { return l.id < v; });
  return pos != labels_.end() && pos->id == id ? &*pos : nullptr;
}

const Label* LabelTable::find(const std::string& name) const {
  auto pos = std::find_if(labels_.begin(), labels_.end(), [&](const Label& l) { return l.name == name; });
  return pos != labels_.end() ? &*pos : nullptr;
}

std::array<int64_t, 256> LabelMap::histogram() const {
  std::array<int64_t, 256> h{};
  for (uint8_t v : voxels.data)
    ++h[v];
  return h;
}

} // namespace nervemap
