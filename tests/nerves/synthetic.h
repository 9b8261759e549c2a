// Analytic test anatomy for the nerve engine: shapes rasterised onto grids of any orientation, and
// small rule bases written to a temporary folder.
#pragma once

#include "anatomy/anatomy.h"
#include "nerves/nerves.h"
#include "support/test_support.h"

#include <fstream>
#include <functional>
#include <gtest/gtest.h>
#include <string>

namespace nervemap::test {

//! A grid covering the LPS box [lo, hi] with the given spacing and direction.
inline Geometry
grid(const Vec3& lo, const Vec3& hi, const Vec3& spacing, const Mat3& direction = Mat3::Identity()) {
  return covering_grid(lo, hi, spacing, direction);
}

//! Shapes as inside-tests in LPS, painted in order (later shapes overwrite earlier ones).
struct Shape {
  std::string structure;
  std::function<bool(const Vec3&)> inside;
};

inline LabelMap rasterise(const Geometry& g, const std::vector<Shape>& shapes) {
  LabelMap m;
  m.voxels = MaskVolume(g, 0);
  const auto& cat = anatomy::Catalogue::get();
  for (const auto& s : shapes) {
    const auto& st = cat.at(s.structure);
    if (!m.table.find(st.id))
      m.table.add({st.id, st.name, st.rgb});
  }
#pragma omp parallel for
  for (int64_t k = 0; k < g.dims[2]; ++k)
    for (int64_t j = 0; j < g.dims[1]; ++j)
      for (int64_t i = 0; i < g.dims[0]; ++i) {
        const Vec3 p = g.index_to_lps(Vec3(double(i), double(j), double(k)));
        for (const auto& s : shapes)
          if (s.inside(p))
            m.voxels.at(i, j, k) = uint8_t(cat.at(s.structure).id);
      }
  return m;
}

//! Vertical cylinder (axis along z) between z0 and z1.
inline Shape cylinder(const std::string& name, double cx, double cy, double r, double z0, double z1) {
  return {name, [=](const Vec3& p) {
            return p.z() >= z0 && p.z() <= z1 && std::hypot(p.x() - cx, p.y() - cy) <= r;
          }};
}

inline Shape box(const std::string& name, const Vec3& lo, const Vec3& hi) {
  return {name,
          [=](const Vec3& p) { return (p.array() >= lo.array()).all() && (p.array() <= hi.array()).all(); }};
}

//! The `settings:` block of the shipped rules/rule_base.yaml (its lines up to the next top-level key), so
//! that test rules are estimated with the shipped tuning.
inline std::string shipped_settings() {
  std::ifstream in(nerves::default_rules_dir() / "rule_base.yaml");
  std::string line, block;
  bool inside = false;
  while (std::getline(in, line)) {
    if (!line.empty() && line[0] != ' ' && line[0] != '#') {
      if (inside)
        break;
      inside = line == "settings:";
    }
    if (inside)
      block += line + "\n";
  }
  return block;
}

//! `yaml` with the first `key: {value: X` given the value `value` (e.g. a setting changed for a test).
inline std::string with_value(std::string yaml, const std::string& key, const std::string& value) {
  const std::string field = key + ": {value: ";
  const size_t at = yaml.find(field);
  EXPECT_NE(at, std::string::npos) << key;
  if (at != std::string::npos) {
    const size_t from = at + field.size();
    yaml.replace(from, yaml.find(',', from) - from, value);
  }
  return yaml;
}

//! A folder with rule_base.yaml (the given settings block, one test source) and nerve rule files.
class RuleDir {
public:
  explicit RuleDir(const std::vector<std::pair<std::string, std::string>>& files,
                   const std::string& settings = shipped_settings()) {
    std::ofstream(dir_ / "rule_base.yaml") << "version: \"test\"\n"
                                           << settings << R"(sources:
  Test 2026:
    authors: Test A
    title: A test source
    journal: Tests 2026;1:1
    year: 2026
)";
    for (const auto& [name, text] : files)
      std::ofstream(dir_ / name) << text;
  }
  const std::filesystem::path& path() const { return dir_.path(); }

private:
  TempDir dir_;
};

inline const char* kTestQuantity = "{value: 1.0, tag: D, note: test}";

//! The lines a test rule starts with: one nerve on the left, 1 mm radius, SDs of 1 and 0 mm.
inline const std::string kTestRuleHead = R"(nerve: testnerve
title: test
sides: [left]
order: cranial_to_caudal
radius_mm: {value: 1.0, tag: D, note: t}
segmentation_sd_mm: {value: 1.0, tag: D, note: t}
craniocaudal_sd_mm: {value: 0.0, tag: D, note: t}
)";

//! Loading a rule base with `text` as bad.yaml fails with an InputError naming the file and `needle`.
inline void expect_rule_error(const std::string& text, const std::string& needle) {
  RuleDir dir({{"bad.yaml", text}});
  try {
    nerves::load_rule_base(dir.path());
    ADD_FAILURE() << "accepted: " << needle;
  } catch (const InputError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
    EXPECT_NE(std::string(e.what()).find("bad.yaml"), std::string::npos) << e.what();
  }
}

} // namespace nervemap::test
