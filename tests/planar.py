"""Independent planar geometry for the tests: convex polygons clipped by half-planes, and their areas.

Plain numpy (Sutherland & Hodgman's clipping, the shoelace formula), written apart from relutope's own polygon
code so that tests can check the engine's areas against it.
"""
import numpy as np


def clip(poly, w, b):
    """The part of convex polygon ``poly`` (n, 2), in order, where ``w . x + b >= 0``."""
    out = []
    n = len(poly)
    for i in range(n):
        p, q = poly[i], poly[(i + 1) % n]
        fp, fq = float(w @ p + b), float(w @ q + b)
        if fp >= 0:
            out.append(p)
        if (fp >= 0) != (fq >= 0):
            out.append(p + (q - p) * (fp / (fp - fq)))
    return np.array(out).reshape(-1, 2)


def area(poly):
    """Area of a polygon (n, 2) by the shoelace formula (0 for fewer than 3 vertices)."""
    if len(poly) < 3:
        return 0.0
    x, y = poly[:, 0], poly[:, 1]
    return 0.5 * abs(float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1))))


def square(lo, hi):
    """The box [lo0, hi0] x [lo1, hi1] as a counter-clockwise polygon."""
    return np.array([[lo[0], lo[1]], [hi[0], lo[1]], [hi[0], hi[1]], [lo[0], hi[1]]], dtype=np.float64)


def intersect(P, Q):
    """The intersection of two convex counter-clockwise polygons (clip P by every edge of Q)."""
    R = np.asarray(P, dtype=np.float64)
    n = len(Q)
    for i in range(n):
        if len(R) == 0:
            break
        a, c = Q[i], Q[(i + 1) % n]
        e = c - a
        w = np.array([-e[1], e[0]])  # inward normal of a counter-clockwise edge
        R = clip(R, w, -float(w @ a))
    return R
