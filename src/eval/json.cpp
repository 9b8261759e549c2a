// The evaluation as JSON (`nervemap eval --json`).
#include "eval/eval.h"

#include <nlohmann/json.hpp>

namespace nervemap::eval {

std::string to_json(const Evaluation& e,
                    const std::string& pred_name,
                    const std::string& ref_name,
                    const Warnings& warnings) {
  using nlohmann::json;
  json structures = json::array();
  for (const auto& s : e.structures) {
    const Metrics& m = s.metrics;
    structures.push_back({{"name", s.name},
                          {"in_pred", s.in_pred},
                          {"in_ref", s.in_ref},
                          {"dice", round_decimal(m.dice, 1e-6)},
                          {"hd95_mm", m.hd95_mm ? json(round_decimal(*m.hd95_mm, 1e-4)) : json(nullptr)},
                          {"nsd", round_decimal(m.nsd, 1e-6)},
                          {"volume_pred_ml", round_decimal(m.volume_pred_ml, 1e-4)},
                          {"volume_ref_ml", round_decimal(m.volume_ref_ml, 1e-4)},
                          {"voxels_pred", m.voxels_pred},
                          {"voxels_ref", m.voxels_ref}});
  }
  json document = {
      {"schema", "nervemap.eval/1"},
      {"software", {{"version", version()}}},
      {"pred", pred_name},
      {"ref", ref_name},
      {"tolerance_mm", e.tolerance_mm},
      // Conventions behind the numbers, so that a reader can compare with other tools (see eval.h).
      {"conventions",
       {{"surface", "mask voxels with a 6-neighbour outside the mask"},
        {"hd95", "95th percentile (linear) of the pooled symmetric surface distances, LPS mm"},
        {"nsd", "fraction of surface voxels of both masks within tolerance_mm of the other surface"}}},
      {"mean_dice", e.mean_dice ? json(round_decimal(*e.mean_dice, 1e-6)) : json(nullptr)},
      {"structures", structures},
      {"empty_in_both", e.empty_in_both},
      {"warnings", warnings.items()}};
  return document.dump(1) + "\n";
}

} // namespace nervemap::eval
