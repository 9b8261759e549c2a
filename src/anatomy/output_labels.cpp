#include "anatomy/anatomy.h"

#include <stdexcept>

namespace nervemap::anatomy {

LabelMap with_tumours(StructureMap structures, const StructureMap* tumour) {
  // Structures keep their catalogue ids, tumours overwrite with 201/202 (design §3).
  const auto& catalogue = Catalogue::get();
  LabelTable table;
  const auto histogram = structures.histogram();
  for (const auto& label : structures.table.labels())
    if (histogram[size_t(label.id)] > 0)
      table.add({label.id, label.name, catalogue.find(label.id) ? catalogue.find(label.id)->rgb : label.rgb});
  if (tumour) {
    if (!tumour->voxels.geometry.same_grid(structures.voxels.geometry))
      throw std::logic_error("with_tumours: the tumour map is not on the structures' grid");
    const auto th = tumour->histogram();
    for (int id : {kGtvpId, kGtvnId})
      if (th[size_t(id)] > 0)
        table.add(*catalogue.output_table().find(id));
    auto& voxels = structures.voxels.data;
    for (size_t o = 0; o < voxels.size(); ++o)
      if (const uint8_t t = tumour->voxels.data[o])
        voxels[o] = t;
  }
  structures.table = std::move(table);
  return structures;
}

} // namespace nervemap::anatomy
