"""Every public function taking a random ``seed`` accepts what it documents (None, an int >= 0, a numpy Generator)
and refuses anything else with a TypeError or ValueError naming ``seed`` (one helper, relutope._checks.check_seed).

The reference for the accepted seeds is numpy itself: a call with ``seed=3`` draws the same as with
``np.int64(3)`` and as with ``numpy.random.default_rng(3)`` (the documented meaning of the seed).
"""
import importlib
import inspect
import pkgutil
from functools import lru_cache

import numpy as np
import pytest

import relutope
from relutope import Box, Network, WholeSpace, compare, complexity, gaussian, region_stats, sampling
from relutope import generative as gen

BOX = Box([-1.0, -2.0], [3.0, 0.5])


@lru_cache(maxsize=None)
def net():
    return Network.random([2, 4, 1], seed=0)


@lru_cache(maxsize=None)
def latent_partition():
    return relutope.enumerate_regions(Network.random([2, 4, 3], seed=0), WholeSpace(2))


def _fingerprint(res):
    """The random part of a result, as an array."""
    for attr in ("patterns", "counts", "directions", "replicate_mass", "standard_error", "lengths", "rows"):
        if hasattr(res, attr):
            v = getattr(res, attr)
            return np.asarray([r["found"] for r in v] if attr == "rows" else v, dtype=float)
    if isinstance(res, list):  # Slices
        return np.concatenate([s.origin.ravel() for s in res] + [s.basis.ravel() for s in res])
    if isinstance(res, Network):
        return np.concatenate([layer.A.ravel() for layer in res.layers])
    return np.asarray(res, dtype=float)


X3 = np.array([[0.1, 0.2], [-0.3, 0.4], [0.5, -0.6], [0.2, 0.9]])
# (name of the function's seed argument, call(seed), whether a Generator is documented)
CALLS = {
    "relutope.sampling.sample_points": ("seed", lambda s: sampling.sample_points(BOX, 7, seed=s), True),
    "relutope.sampling.sample_patterns": ("seed", lambda s: sampling.sample_patterns(net(), BOX, 7, seed=s), True),
    "relutope.sampling.sample_patterns_gaussian": (
        "seed", lambda s: sampling.sample_patterns_gaussian(net(), [0.5, -0.5], 0.3, 7, seed=s), True),
    "relutope.sampling.line_density": ("seed", lambda s: sampling.line_density(net(), BOX, 3, seed=s), True),
    "relutope.compare.compare_sampling": (
        "seed", lambda s: compare.compare_sampling(net(), BOX, budgets=(20,), seed=s), True),
    "relutope.complexity.directions": ("seed", lambda s: complexity.directions(3, 4, 2, seed=s), True),
    "relutope.complexity.local_complexity_estimate": (
        "seed", lambda s: complexity.local_complexity_estimate(net(), X3[:2], 0.3, 2, seed=s), True),
    "relutope.complexity.local_complexity": (
        "seed", lambda s: complexity.local_complexity(net(), X3[:2], 0.3, 2, seed=s), True),
    "relutope.gaussian.polytope_masses": (
        "seed", lambda s: gaussian.polytope_masses([0, 3], np.eye(3), np.ones(3), n_directions=64, replicates=2,
                                                   seed=s), True),
    "relutope.generative.entropy_monte_carlo": (
        "seed", lambda s: gen.entropy_monte_carlo(latent_partition(), n=50, seed=s), True),
    "relutope.region_stats.data_slices": ("seed", lambda s: region_stats.data_slices(X3, 2, seed=s), True),
    "relutope.network.Network.random": ("seed", lambda s: Network.random([2, 3, 1], seed=s), False),
    "relutope.domains.Box.sample": ("rng", lambda s: BOX.sample(5, s), True),
}
# The verdicts of verify and verify_distributed do not depend on the seed (only the search's path does), so the
# fingerprint test above does not apply; their refusals are checked in test_verify_refuses_bad_seeds.
NOT_HERE = {"relutope.verify.verify", "relutope.distributed.verify_distributed"}


def _public_functions_with_a_seed():
    """Every public function or method of the package whose signature has a ``seed`` or ``rng`` argument."""
    found = set()
    for m in pkgutil.walk_packages(relutope.__path__, "relutope."):
        if any(part.startswith("_") for part in m.name.split(".")[1:]):
            continue
        try:
            mod = importlib.import_module(m.name)
        except ImportError:  # an optional dependency missing
            continue
        for name, obj in vars(mod).items():
            if name.startswith("_") or getattr(obj, "__module__", None) != m.name:
                continue
            members = [(name, obj)] if inspect.isfunction(obj) else []
            if inspect.isclass(obj):
                members = [(f"{name}.{k}", getattr(obj, k)) for k, v in vars(obj).items()
                           if not k.startswith("_") and (inspect.isfunction(v) or isinstance(v, (classmethod,
                                                                                                 staticmethod)))]
            for qual, fn in members:
                try:
                    params = inspect.signature(fn).parameters
                except (TypeError, ValueError):
                    continue
                if "seed" in params or "rng" in params:
                    found.add(f"{m.name}.{qual}")
    return found


def test_every_function_taking_a_seed_is_covered():
    found = _public_functions_with_a_seed()
    assert found - NOT_HERE <= set(CALLS), sorted(found - NOT_HERE - set(CALLS))
    assert set(CALLS) <= found  # the table names real functions


@pytest.mark.parametrize("name", sorted(CALLS))
def test_documented_seeds_are_accepted_and_mean_what_numpy_says(name):
    arg, call, generator = CALLS[name]
    ref = _fingerprint(call(3))
    other = _fingerprint(call(4))
    assert other.shape != ref.shape or not np.array_equal(other, ref)  # the seed is used
    np.testing.assert_array_equal(_fingerprint(call(np.int64(3))), ref)
    if generator:
        np.testing.assert_array_equal(_fingerprint(call(np.random.default_rng(3))), ref)
    else:
        with pytest.raises(TypeError, match=arg):
            call(np.random.default_rng(3))
    call(None)   # fresh entropy: any draw
    call(0)


@pytest.mark.parametrize("bad, exc", [(-1, ValueError), (1.5, TypeError), (3.0, TypeError), ("0", TypeError),
                                      (True, TypeError), ([1, 2], TypeError)],
                         ids=["negative", "float", "whole float", "str", "bool", "list"])
@pytest.mark.parametrize("name", sorted(CALLS))
def test_other_seeds_are_refused_naming_the_argument(name, bad, exc):
    arg, call, _ = CALLS[name]
    with pytest.raises(exc, match=rf"\b{arg} must be"):
        call(bad)


def test_check_seed_options():
    from relutope._checks import check_seed

    g = np.random.default_rng(1)
    assert check_seed(g) is g and check_seed(None) is None and type(check_seed(np.uint8(7))) is int
    with pytest.raises(TypeError, match="rng must be an int >= 0 or None, got Generator"):
        check_seed(g, "rng", generator=False)
    with pytest.raises(TypeError, match="seed must be an int >= 0, got NoneType"):
        check_seed(None, generator=False, none=False)


@pytest.mark.parametrize("bad, error", [(-1, ValueError), (1.5, TypeError), ("0", TypeError), (True, TypeError)])
def test_verify_refuses_bad_seeds(bad, error):
    from relutope.distributed import verify_distributed
    from relutope.vnnlib import Case, Property

    spec = Property([Case(BOX.lo, BOX.hi, [(np.array([[1.0]]), np.array([-1e9]))])], 2, 1)
    for call in (relutope.verify, verify_distributed):
        with pytest.raises(error, match="seed"):
            call(net(), spec, seed=bad)
