// Analytic solids of the phantom: superellipsoids, boxes, swept tubes, lofts and their combinations.
// Each gives an approximate depth below its surface, which the painter uses for cortex/rim HU.
#include "phantom/internal_blocks.h"

#include <algorithm>
#include <cmath>

namespace nervemap::phantom::detail {

// ---------------------------------------------------------------------------------------------
// Box

Box Box::around(const Vec3& centre, double radius) {
  Box b;
  b.lo = centre.array() - radius;
  b.hi = centre.array() + radius;
  return b;
}

Box Box::everything() {
  Box b;
  b.lo = Vec3::Constant(-1e30);
  b.hi = Vec3::Constant(1e30);
  return b;
}

void Box::expand(const Vec3& p) {
  lo = lo.cwiseMin(p);
  hi = hi.cwiseMax(p);
}

void Box::expand(const Box& b) {
  if (b.empty())
    return;
  lo = lo.cwiseMin(b.lo);
  hi = hi.cwiseMax(b.hi);
}

Box Box::padded(double mm) const {
  Box b = *this;
  if (!empty()) {
    b.lo.array() -= mm;
    b.hi.array() += mm;
  }
  return b;
}

Box Box::intersected(const Box& o) const {
  Box b;
  b.lo = lo.cwiseMax(o.lo);
  b.hi = hi.cwiseMin(o.hi);
  return b;
}

namespace {

Box oriented_bounds(const Vec3& centre, const Vec3& half, const Mat3& axes) {
  Vec3 extent = axes.cwiseAbs() * half;
  Box b;
  b.lo = centre - extent;
  b.hi = centre + extent;
  return b;
}

// ---------------------------------------------------------------------------------------------
// Superellipsoid

class Superellipsoid final : public Shape {
public:
  Superellipsoid(const Vec3& c, const Vec3& s, const Mat3& axes, double e, double ez)
      : centre_(c), semi_(s), to_local_(axes.transpose()), axes_(axes), e_(e), ez_(ez),
        min_semi_(s.minCoeff()) {}

  double depth(const Vec3& p) const override {
    Vec3 q = to_local_ * (p - centre_);
    double u = std::abs(q.x() / semi_.x()), v = std::abs(q.y() / semi_.y()), w = std::abs(q.z() / semi_.z());
    double f;
    if (e_ == 2 && ez_ == 2) {
      f = std::sqrt(u * u + v * v + w * w);
    } else {
      double xy = std::pow(std::pow(u, e_) + std::pow(v, e_), ez_ / e_);
      f = std::pow(xy + std::pow(w, ez_), 1.0 / ez_);
    }
    return (1.0 - f) * min_semi_;
  }
  Box bounds() const override { return oriented_bounds(centre_, semi_, axes_); }

private:
  Vec3 centre_, semi_;
  Mat3 to_local_, axes_;
  double e_, ez_, min_semi_;
};

class OrientedBox final : public Shape {
public:
  OrientedBox(const Vec3& c, const Vec3& h, const Mat3& axes)
      : centre_(c), half_(h), to_local_(axes.transpose()), axes_(axes) {}
  double depth(const Vec3& p) const override {
    Vec3 q = (to_local_ * (p - centre_)).cwiseAbs();
    return (half_ - q).minCoeff();
  }
  Box bounds() const override { return oriented_bounds(centre_, half_, axes_); }

private:
  Vec3 centre_, half_;
  Mat3 to_local_, axes_;
};

class HalfSpace final : public Shape {
public:
  HalfSpace(const Vec3& point, const Vec3& n) : point_(point), normal_(n.normalized()) {}
  double depth(const Vec3& p) const override { return -(p - point_).dot(normal_); }
  Box bounds() const override { return Box::everything(); }

private:
  Vec3 point_, normal_;
};

// ---------------------------------------------------------------------------------------------
// Tube: segments with a coarse 3-D bucket grid so that a query visits only nearby segments.

class Tube final : public Shape {
public:
  explicit Tube(std::vector<TubeNode> nodes) {
    if (nodes.size() == 1)
      nodes.push_back(nodes.front()), nodes.back().centre += Vec3(0, 0, 1e-3);
    for (size_t i = 0; i + 1 < nodes.size(); ++i) {
      const TubeNode& n0 = nodes[i];
      const TubeNode& n1 = nodes[i + 1];
      Segment s;
      s.a = n0.centre;
      Vec3 d = n1.centre - n0.centre;
      s.length = d.norm();
      if (s.length < 1e-9)
        continue;
      s.t = d / s.length;
      s.w0 = perpendicular(n0.width_dir, s.t);
      s.w1 = perpendicular(n1.width_dir, s.t);
      s.a0 = n0.a, s.a1 = n1.a, s.b0 = n0.b, s.b1 = n1.b;
      // Tight box: each end's elliptic section (plus a rounded cap along the tangent).
      auto section_extent = [&](const TubeNode& n, const Vec3& w) {
        Vec3 v = s.t.cross(w);
        Vec3 e = ((n.a * w).cwiseAbs2() + (n.b * v).cwiseAbs2()).cwiseSqrt();
        return Vec3(e + s.t.cwiseAbs() * std::min(n.a, n.b));
      };
      Vec3 e0 = section_extent(n0, s.w0), e1 = section_extent(n1, s.w1);
      s.box.lo = (n0.centre - e0).cwiseMin(n1.centre - e1);
      s.box.hi = (n0.centre + e0).cwiseMax(n1.centre + e1);
      s.box = s.box.padded(0.5);
      segments_.push_back(s);
      bounds_.expand(s.box);
    }
    build_buckets();
  }

  double depth(const Vec3& p) const override {
    if (!bounds_.contains(p))
      return -1;
    Eigen::Vector3i c = cell_of(p);
    const auto& list = buckets_[size_t(c.x() + cells_.x() * (c.y() + cells_.y() * c.z()))];
    double best = -1e9;
    for (uint32_t index : list) {
      const Segment& s = segments_[index];
      if (!s.box.contains(p))
        continue;
      Vec3 rel = p - s.a;
      double along = rel.dot(s.t);
      double f = std::clamp(along / s.length, 0.0, 1.0);
      double over = along - f * s.length; // beyond either end: rounded cap
      Vec3 radial = rel - along * s.t;
      Vec3 w = (s.w0 * (1 - f) + s.w1 * f);
      w = (w - w.dot(s.t) * s.t).normalized();
      Vec3 v = s.t.cross(w);
      double a = s.a0 * (1 - f) + s.a1 * f, b = s.b0 * (1 - f) + s.b1 * f;
      double m = std::min(a, b);
      double x = radial.dot(w) / a, y = radial.dot(v) / b, z = over / m;
      double d = (1.0 - std::sqrt(x * x + y * y + z * z)) * m;
      best = std::max(best, d);
    }
    return best;
  }
  Box bounds() const override { return bounds_; }

private:
  struct Segment {
    Vec3 a, t, w0, w1;
    double length = 0, a0 = 1, a1 = 1, b0 = 1, b1 = 1;
    Box box;
  };

  static Vec3 perpendicular(const Vec3& w, const Vec3& t) {
    Vec3 p = w - w.dot(t) * t;
    if (p.norm() < 1e-6) {
      Vec3 other = std::abs(t.x()) < 0.9 ? Vec3::UnitX() : Vec3::UnitY();
      p = other - other.dot(t) * t;
    }
    return p.normalized();
  }

  Eigen::Vector3i cell_of(const Vec3& p) const {
    Eigen::Vector3i c;
    for (int a = 0; a < 3; ++a)
      c[a] = std::clamp(int((p[a] - bounds_.lo[a]) / kCell), 0, cells_[a] - 1);
    return c;
  }

  void build_buckets() {
    if (segments_.empty()) {
      bounds_ = Box::around(Vec3::Zero(), 0);
      cells_ = Eigen::Vector3i::Ones();
      buckets_.resize(1);
      return;
    }
    for (int a = 0; a < 3; ++a)
      cells_[a] = std::max(1, int(std::ceil((bounds_.hi[a] - bounds_.lo[a]) / kCell)));
    buckets_.resize(size_t(cells_.prod()));
    for (uint32_t i = 0; i < segments_.size(); ++i) {
      Eigen::Vector3i lo = cell_of(segments_[i].box.lo), hi = cell_of(segments_[i].box.hi);
      for (int z = lo.z(); z <= hi.z(); ++z)
        for (int y = lo.y(); y <= hi.y(); ++y)
          for (int x = lo.x(); x <= hi.x(); ++x)
            buckets_[size_t(x + cells_.x() * (y + cells_.y() * z))].push_back(i);
    }
  }

  static constexpr double kCell = 6.0;
  std::vector<Segment> segments_;
  Box bounds_;
  Eigen::Vector3i cells_{1, 1, 1};
  std::vector<std::vector<uint32_t>> buckets_;
};

// ---------------------------------------------------------------------------------------------
// Loft of axial superellipses

class Loft final : public Shape {
public:
  explicit Loft(std::vector<LoftSection> s) : sections_(std::move(s)) {
    std::sort(sections_.begin(), sections_.end(), [](const auto& a, const auto& b) { return a.z < b.z; });
    for (const auto& q : sections_) {
      bounds_.expand(Vec3(q.cx - q.a, q.cy - q.b, q.z));
      bounds_.expand(Vec3(q.cx + q.a, q.cy + q.b, q.z));
    }
  }
  double depth(const Vec3& p) const override {
    if (sections_.size() < 2 || p.z() < sections_.front().z || p.z() > sections_.back().z)
      return -1;
    auto it = std::upper_bound(
        sections_.begin(), sections_.end(), p.z(), [](double z, const LoftSection& s) { return z < s.z; });
    if (it == sections_.end())
      --it;
    const LoftSection& s1 = *it;
    const LoftSection& s0 = *(it - 1);
    double f = s1.z > s0.z ? (p.z() - s0.z) / (s1.z - s0.z) : 0;
    auto lerp = [f](double a, double b) { return a + (b - a) * f; };
    double cx = lerp(s0.cx, s1.cx), cy = lerp(s0.cy, s1.cy), a = lerp(s0.a, s1.a), b = lerp(s0.b, s1.b),
           n = lerp(s0.exponent, s1.exponent);
    double u = std::abs(p.x() - cx) / a, v = std::abs(p.y() - cy) / b;
    if (u > 1 || v > 1)
      return -1;
    const double m = std::min(a, b);
    double ends = std::min(p.z() - sections_.front().z, sections_.back().z - p.z());
    // For exponents >= 2 the superellipse norm is at most the Euclidean one, so deep inside the
    // ellipse the (cheap) elliptic depth is a valid lower bound; callers only need exact depths
    // within a few mm of the surface.
    double r2 = std::sqrt(u * u + v * v);
    if (n >= 2 && (1.0 - r2) * m > 4.0)
      return std::min((1.0 - r2) * m, ends);
    double r = n == 2 ? r2 : std::pow(std::pow(u, n) + std::pow(v, n), 1.0 / n);
    double d = (1.0 - r) * m;
    return std::min(d, ends);
  }
  Box bounds() const override { return bounds_; }

private:
  std::vector<LoftSection> sections_;
  Box bounds_;
};

// ---------------------------------------------------------------------------------------------
// Combinations

class Intersection final : public Shape {
public:
  Intersection(ShapePtr a, ShapePtr b)
      : a_(std::move(a)), b_(std::move(b)), box_(a_->bounds().intersected(b_->bounds())) {}
  double depth(const Vec3& p) const override {
    double da = a_->depth(p);
    if (da <= 0)
      return da;
    return std::min(da, b_->depth(p));
  }
  Box bounds() const override { return box_; }

private:
  ShapePtr a_, b_;
  Box box_;
};

class Difference final : public Shape {
public:
  Difference(ShapePtr a, ShapePtr b) : a_(std::move(a)), b_(std::move(b)), cut_box_(b_->bounds()) {}
  double depth(const Vec3& p) const override {
    double da = a_->depth(p);
    if (da <= 0 || !cut_box_.contains(p))
      return da;
    return std::min(da, -b_->depth(p));
  }
  Box bounds() const override { return a_->bounds(); }

private:
  ShapePtr a_, b_;
  Box cut_box_;
};

class Union final : public Shape {
public:
  explicit Union(std::vector<ShapePtr> parts) : parts_(std::move(parts)) {
    for (const auto& p : parts_) {
      boxes_.push_back(p->bounds());
      box_.expand(boxes_.back());
    }
  }
  double depth(const Vec3& p) const override {
    double best = -1e9;
    for (size_t i = 0; i < parts_.size(); ++i)
      if (boxes_[i].contains(p))
        best = std::max(best, parts_[i]->depth(p));
    return best == -1e9 ? -1 : best;
  }
  Box bounds() const override { return box_; }

private:
  std::vector<ShapePtr> parts_;
  std::vector<Box> boxes_;
  Box box_;
};

} // namespace

ShapePtr ellipsoid(
    const Vec3& centre, const Vec3& semi_axes_mm, const Mat3& axes, double exponent, double z_exponent) {
  return std::make_shared<Superellipsoid>(centre, semi_axes_mm, axes, exponent, z_exponent);
}

ShapePtr box(const Vec3& centre, const Vec3& half_mm, const Mat3& axes) {
  return std::make_shared<OrientedBox>(centre, half_mm, axes);
}

ShapePtr half_space(const Vec3& point, const Vec3& outward_normal) {
  return std::make_shared<HalfSpace>(point, outward_normal);
}

ShapePtr tube(std::vector<TubeNode> nodes) {
  return std::make_shared<Tube>(std::move(nodes));
}

ShapePtr tube(const std::vector<Vec3>& centreline, double radius_mm) {
  std::vector<TubeNode> nodes;
  for (const auto& c : centreline)
    nodes.push_back({c, radius_mm, radius_mm, Vec3::UnitX()});
  return tube(std::move(nodes));
}

ShapePtr loft(std::vector<LoftSection> sections) {
  return std::make_shared<Loft>(std::move(sections));
}

ShapePtr intersect(ShapePtr a, ShapePtr b) {
  return std::make_shared<Intersection>(std::move(a), std::move(b));
}
ShapePtr subtract(ShapePtr a, ShapePtr b) {
  return std::make_shared<Difference>(std::move(a), std::move(b));
}
ShapePtr unite(std::vector<ShapePtr> parts) {
  return std::make_shared<Union>(std::move(parts));
}

double distance_to_polyline(const Vec3& p, const std::vector<Vec3>& line) {
  if (line.empty())
    return 1e30;
  double best = (p - line.front()).squaredNorm();
  for (size_t i = 0; i + 1 < line.size(); ++i) {
    Vec3 d = line[i + 1] - line[i];
    double l2 = d.squaredNorm();
    double t = l2 > 0 ? std::clamp((p - line[i]).dot(d) / l2, 0.0, 1.0) : 0.0;
    best = std::min(best, (p - (line[i] + t * d)).squaredNorm());
  }
  return std::sqrt(best);
}

} // namespace nervemap::phantom::detail
