// The 2-D fast path: activation regions of a MASO network on a bounded two-dimensional domain (a 2-D box, polygon
// or slice) kept as exact convex polygons, with no LP in the splitting.
//
// Same scheme and the same region semantics as enumerate.hpp: layer by layer, depth first; on a cell of the
// partition induced by layers 0..l-1 the pieces of layer l are affine in the domain coordinates u, and each unit's
// line (K = 2) or argmax cells (K > 2: the cell clipped by the K-1 half-planes of each piece) are inserted into the
// cell. A cell is a convex polygon (vertex list, counter-clockwise); a line splits it by the signs of its vertices
// (Sutherland & Hodgman, "Reentrant polygon clipping", CACM 1974), classified with a relative epsilon so that a
// line through a vertex, along an edge or through a point where other lines meet creates no spurious sliver.
// A region exists when it holds a disc of radius > tol: a polygon of area A and perimeter P has inradius
// r in [A/P, 2A/P] (A = integral of the inner parallel bodies' perimeters), which decides most cells without an LP;
// the rest, and every final region, get their exact Chebyshev disc from a 3-variable LP over the polygon's edge
// lines (the lines themselves, not lines through rounded vertices). The witness is the Chebyshev centre.
// The 2-D slices through three inputs are those of SplineCam (Humayun, Balestriero, Balakrishnan & Baraniuk,
// "SplineCam: Exact Visualization and Characterization of Deep Network Geometry and Decision Boundaries",
// CVPR 2023).
#pragma once

#include <cstdint>
#include <vector>

#include "relutope/enumerate.hpp"
#include "relutope/network.hpp"
#include "relutope/patterns.hpp"

namespace relutope {

// One vertex of a polygon together with the edge that starts at it (towards the next vertex): the edge lies on the
// line nx * u0 + ny * u1 = c with (nx, ny) the unit outward normal, and `label` names the constraint it came from:
// a global unit index >= 0, or -1 - i for row i of the domain.
struct PolyVertex {
  double x, y;
  double nx, ny, c;
  int32_t label;
};

// Relative epsilon of the vertex sign tests: a vertex u is on the line h0 u0 + h1 u1 + h2 = 0 when
// |h0 u0 + h1 u1 + h2| <= kSideEps * (|h0 u0| + |h1 u1| + |h2|). (The enumeration works in coordinates centred on
// the domain, so that these magnitudes are of the domain's size.)
constexpr double kSideEps = 1e-12;

// Signed area (positive for counter-clockwise) and perimeter of a polygon.
void polygon_area_perimeter(const PolyVertex* v, int n, double& area, double& perimeter);

// Split the polygon v[0..n) by the line h0 * u0 + h1 * u1 + h2 = 0 (|(h0, h1)| > 0) into its parts with h >= 0
// (appended to `pos`) and h <= 0 (appended to `neg`); a part that holds no vertex strictly on its side is left
// empty. The new edge along the line gets `label`. Returns +1 when the polygon lies in h >= 0 (nothing was
// appended), -1 when it lies in h <= 0 and is not in h >= 0 (nothing was appended), 0 when it was split.
// Either output pointer may be null to drop that part.
int split_polygon(const PolyVertex* v, int n, const double* h, int32_t label, std::vector<PolyVertex>* pos,
                  std::vector<PolyVertex>* neg);

// Chebyshev disc of a convex polygon from its edge lines: maximise r subject to n_e . p + r <= c_e. Solved with
// the project's dual simplex (lp.hpp). Returns false when the LP fails (never observed). `lp_iterations` is
// incremented by the simplex iterations used.
bool polygon_chebyshev(const PolyVertex* v, int n, double radius_cap, double* center, double* radius,
                       int64_t* lp_iterations);

// The convex polygon {u : Adom u <= bdom} (m rows, 2 columns), counter-clockwise, with edge labels -1 - row.
// Empty when the set is empty or has no interior. Throws std::invalid_argument when it is unbounded.
std::vector<PolyVertex> domain_polygon(const double* Adom, const double* bdom, int m);

struct PolygonEnumResult {
  EnumResult base;                    // patterns, centers, radii, layer_counts, lps (= Chebyshev LPs), status...
  BlockVector<int64_t> offsets;       // R + 1: region r's vertices are rows offsets[r]..offsets[r+1] of vertices
  BlockVector<double> vertices;       // V x 2, counter-clockwise, in engine coordinates u
  BlockVector<int32_t> edge_labels;   // V: the constraint of the edge from each vertex to the next (see PolyVertex)
};

// Enumerate the regions of `net` on the bounded two-dimensional domain {u in R^2 : Adom u <= bdom} embedded as
// x = x0 + Q u (Q is in_dim x 2, row-major, orthonormal columns). Options as in enumerate_regions (radius_cap caps
// the Chebyshev radii; sliver is unused). Throws std::invalid_argument for an unbounded domain or bad options.
PolygonEnumResult enumerate_polygons_2d(const Network& net, const double* x0, const double* Q, const double* Adom,
                                        const double* bdom, int mdom, const EnumOptions& opt,
                                        const Checkpoint& checkpoint);

}  // namespace relutope
