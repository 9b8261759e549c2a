// Penalised uniform cubic B-spline (P-spline): Eilers PHC, Marx BD. Flexible smoothing with B-splines
// and penalties. Statistical Science 1996;11:89-121. Weighted least squares with a second-difference
// penalty on the coefficients; weights are 1/σ² of the placed points.
#include "nerves/internal.h"

#include <cmath>

namespace nervemap::nerves::detail {

PSpline::PSpline(const std::vector<double>& u,
                 const std::vector<double>& y,
                 const std::vector<double>& w,
                 double knot_mm,
                 double lambda) {
  const auto [lo, hi] = std::minmax_element(u.begin(), u.end());
  u0_ = *lo;
  const double range = std::max(*hi - *lo, 1e-6);
  segments_ = std::max<int64_t>(1, int64_t(std::ceil(range / knot_mm)));
  du_ = range / double(segments_);
  const int64_t n = segments_ + 3;
  Eigen::MatrixXd a = Eigen::MatrixXd::Zero(n, n);
  Eigen::VectorXd rhs = Eigen::VectorXd::Zero(n);
  double mean_w = 0;
  for (size_t s = 0; s < u.size(); ++s) {
    int64_t first;
    auto b = basis(u[s], first, 0);
    for (int p = 0; p < 4; ++p) {
      rhs[first + p] += w[s] * b[size_t(p)] * y[s];
      for (int q = 0; q < 4; ++q)
        a(first + p, first + q) += w[s] * b[size_t(p)] * b[size_t(q)];
    }
    mean_w += w[s];
  }
  mean_w /= double(std::max<size_t>(u.size(), 1));
  // Second differences of the coefficients; the penalty scales with the data weight so that lambda is
  // a dimensionless smoothness.
  Eigen::MatrixXd d = Eigen::MatrixXd::Zero(std::max<int64_t>(n - 2, 0), n);
  for (int64_t r = 0; r + 2 < n; ++r) {
    d(r, r) = 1;
    d(r, r + 1) = -2;
    d(r, r + 2) = 1;
  }
  a += lambda * mean_w * d.transpose() * d;
  // A tiny ridge keeps coefficients without data (sparse waypoints) determined.
  a += 1e-9 * mean_w * Eigen::MatrixXd::Identity(n, n);
  coef_ = a.ldlt().solve(rhs);
}

std::array<double, 4> PSpline::basis(double u, int64_t& first, int order) const {
  double s = (u - u0_) / du_;
  int64_t m = std::clamp<int64_t>(int64_t(std::floor(s)), 0, segments_ - 1);
  const double f = s - double(m);
  first = m;
  if (order == 0)
    return {(1 - f) * (1 - f) * (1 - f) / 6,
            (3 * f * f * f - 6 * f * f + 4) / 6,
            (-3 * f * f * f + 3 * f * f + 3 * f + 1) / 6,
            f * f * f / 6};
  if (order == 1)
    return {-(1 - f) * (1 - f) / 2 / du_,
            (3 * f * f - 4 * f) / 2 / du_,
            (-3 * f * f + 2 * f + 1) / 2 / du_,
            f * f / 2 / du_};
  return {(1 - f) / (du_ * du_), (3 * f - 2) / (du_ * du_), (-3 * f + 1) / (du_ * du_), f / (du_ * du_)};
}

double PSpline::value(double u) const {
  int64_t first;
  auto b = basis(u, first, 0);
  return b[0] * coef_[first] + b[1] * coef_[first + 1] + b[2] * coef_[first + 2] + b[3] * coef_[first + 3];
}

double PSpline::derivative(double u) const {
  int64_t first;
  auto b = basis(u, first, 1);
  return b[0] * coef_[first] + b[1] * coef_[first + 1] + b[2] * coef_[first + 2] + b[3] * coef_[first + 3];
}

double PSpline::second_derivative(double u) const {
  int64_t first;
  auto b = basis(u, first, 2);
  return b[0] * coef_[first] + b[1] * coef_[first + 1] + b[2] * coef_[first + 2] + b[3] * coef_[first + 3];
}

} // namespace nervemap::nerves::detail
