"""Defects found and not yet fixed, each as a strict xfail: it fails today and turns into an error (XPASS) once
fixed, so that the fix must remove the mark.

Each test derives its expected value independently (exact rationals of the float64 weights)."""
