// Counterexample search for a safety property on an input box: uniform samples, then projected gradient descent
// on the property's violation from the best of them (Madry, Makelov, Schmidt, Tsipras & Vladu, "Towards Deep
// Learning Models Resistant to Adversarial Attacks", ICLR 2018), the gradient of each point being the
// network's local affine map on its activation region (a reverse pass through the pieces its pattern chose).
// Random restarts (descents from random points, as PGD attacks restart) start on the box's faces: each input at
// its lower bound, its upper bound or uniform in between with probability 1/3 each, because the violation's
// minimum of a piecewise-affine function over a box often lies on its boundary (the counterexample of ACAS Xu
// network 1_9, property 7 has four of its five inputs at bounds, where no descent from the best uniform samples
// arrives: the violation is nearly flat, about 5e-4, over most of that box). The same boundary principle, taken
// systematically: the centres of the box's faces of dimension at most AttackOptions::faces (vertices, then edge
// midpoints, ...) are evaluated before the samples, as long as they are at most max_face_points in all; 1_9:7's
// counterexample is met at an edge midpoint's descent within a millisecond, deterministically.
//
// The violation of y for terms {C_t y <= d_t} is min_t max_r (C_t,r y - d_t,r): a point is in the unsafe set
// exactly when it is <= 0. Every iterate is evaluated by a forward pass, so a point reported found is a
// counterexample of the float64 forward pass (the caller re-checks it with its own).
#pragma once

#include <cstdint>
#include <limits>
#include <vector>

#include "relutope/network.hpp"
#include "relutope/verify.hpp"

namespace relutope {

struct AttackOptions {
  int samples = 4096;   // uniform samples of the box (the box's centre and the given starts are added)
  int starts = 8;       // descents, from the samples (and given starts) of least violation
  int steps = 40;       // sign-gradient steps per descent: step_j = step * width_j, step from 0.25 down to 1e-4
  int64_t restarts = 0; // further descents, each from a random point of the box's faces (see above)
  int patience = 0;     // a descent ends after this many steps in a row without a new least violation (0: never)
  double min_gain = 0;  // ... one below the least by more than min_gain x |least| (0: any new least)
  int faces = -1;       // the centres of the faces of dimension 0..faces are start candidates (-1: none)
  int max_face_points = 2048;  // ... as many dimensions as fit in this many points (over the inputs of positive width)
  uint64_t seed = 0;
  double time_limit = -1.0;  // seconds; < 0: none
};

struct AttackResult {
  bool found = false;
  int term = -1;                  // the term the point satisfies (found), or the one of least violation
  std::vector<double> x;          // in_dim: the counterexample (found), else the point of least violation
  double violation = std::numeric_limits<double>::infinity();  // min_t max_r (C_r y - d_r) at x
  int64_t passes = 0;             // forward passes (one per point evaluated)
  int64_t restarts = 0;           // random restarts begun (at most AttackOptions::restarts)
};

// The centres of the faces of the box [lo, hi] (n entries) of dimension 0, 1, ..., up to max_dim, as many
// dimensions as fit in max_points points in all, over the inputs of positive width (the others at their value),
// n per point: vertices first, then edge midpoints, ... (empty when max_dim < 0 or no vertex set fits).
std::vector<double> face_centres(const double* lo, const double* hi, int n, int max_dim, int max_points);

// Search the box [lo, hi] (in_dim entries, lo <= hi) for an input whose output satisfies a term. `x0`: n0
// extra start points (n0 x in_dim, clipped to the box), e.g. a relaxation's minimiser.
AttackResult falsify_box(const Network& net, const double* lo, const double* hi,
                         const std::vector<PropertyVisitor::Term>& terms, const AttackOptions& opt,
                         const double* x0 = nullptr, int n0 = 0);

}  // namespace relutope
