// The k-d tree behind PointIndex: nanoflann over the points' own storage (no copy).
#include "core/core.h"

#include <nanoflann.hpp>

namespace nervemap {

namespace {

struct Cloud {
  const std::vector<Vec3>* points;
  size_t kdtree_get_point_count() const { return points->size(); }
  double kdtree_get_pt(size_t i, size_t dim) const { return (*points)[i][Eigen::Index(dim)]; }
  template <class Box> bool kdtree_get_bbox(Box&) const { return false; }
};

using KdTree =
    nanoflann::KDTreeSingleIndexAdaptor<nanoflann::L2_Simple_Adaptor<double, Cloud>, Cloud, 3, size_t>;

} // namespace

struct PointIndex::Tree {
  Cloud cloud;
  // Leaf size 16: nanoflann's recommended range (10–50) for 3-D queries; the earlier per-module trees
  // used the same.
  KdTree index;
  explicit Tree(const std::vector<Vec3>* points)
      : cloud{points}, index(3, cloud, nanoflann::KDTreeSingleIndexAdaptorParams(16)) {
    index.buildIndex();
  }
};

PointIndex::PointIndex(std::vector<Vec3> points) : points_(std::move(points)) {
  if (!points_.empty())
    tree_ = std::make_unique<Tree>(&points_);
}

PointIndex::~PointIndex() = default;

// Moving the vector keeps its heap buffer, so the tree's pointer to the vector must follow the object.
PointIndex::PointIndex(PointIndex&& other) noexcept
    : points_(std::move(other.points_)), tree_(std::move(other.tree_)) {
  if (tree_)
    tree_->cloud.points = &points_;
}

PointIndex& PointIndex::operator=(PointIndex&& other) noexcept {
  points_ = std::move(other.points_);
  tree_ = std::move(other.tree_);
  if (tree_)
    tree_->cloud.points = &points_;
  return *this;
}

PointIndex::Nearest PointIndex::nearest(const Vec3& p) const {
  Nearest out;
  tree_->index.knnSearch(p.data(), 1, &out.index, &out.distance_sq_mm2);
  return out;
}

std::vector<size_t> PointIndex::within(const Vec3& p, double radius_mm) const {
  std::vector<size_t> out;
  if (!tree_)
    return out;
  std::vector<std::pair<size_t, double>> hits;
  tree_->index.radiusSearch(p.data(), radius_mm * radius_mm, hits, nanoflann::SearchParams(32, 0, false));
  out.reserve(hits.size());
  for (const auto& [index, unused] : hits)
    out.push_back(index);
  return out;
}

} // namespace nervemap
