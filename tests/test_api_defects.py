"""Defects found by an adversarial pass over the public API (hunt 18), each checked against what the API
documents: a clear TypeError/ValueError naming the argument, never a crash, a side effect or a silent answer."""
import os

import numpy as np
import pytest

import relutope
from relutope import Box, Network, Partition, enumerate_regions
from relutope import compare, complexity

NET = Network.random([2, 4, 1], seed=0)
BOX = Box(-np.ones(2), np.ones(2))


@pytest.fixture(scope="module")
def part():
    return enumerate_regions(NET, BOX)


# ------------------------------------------------------------------ file arguments are never file descriptors
def _writers(part):
    cs = compare.compare_sampling(NET, BOX, budgets=(10,), partition=part)
    lc = complexity.local_complexity(NET, np.zeros((1, 2)), 0.1)
    return {"Partition.to_json": part.to_json, "tables.to_json": lambda p: relutope.tables.to_json(part, p),
            "SamplingComparison.to_csv": cs.to_csv, "LocalComplexity.to_csv": lc.to_csv}


def test_writers_refuse_an_int_or_bool_path(part):
    # open(fd) writes to the descriptor and closes it: path=True was stdout, path=False stdin.
    for name, write in _writers(part).items():
        r, w = os.pipe()
        try:
            with pytest.raises(TypeError, match=r"path must be a file name \(str or os.PathLike\), got int"):
                write(w)
            os.write(w, b"still open")  # OSError (EBADF) had the writer closed it
            assert os.read(r, 100) == b"still open", name
        finally:
            os.close(r)
            os.close(w)
        with pytest.raises(TypeError, match="path must be a file name.*got bool True"):
            write(True)


def test_loaders_refuse_an_int_path_with_a_type_error(part, tmp_path):
    for load in (Partition.load, Network.load):
        with pytest.raises(TypeError, match=r"path must be a file name \(str or os.PathLike\) or a file object, "
                                            r"got int 5"):
            load(5)
    part.save(tmp_path / "p.npz")  # a path and an open file still load
    with open(tmp_path / "p.npz", "rb") as fh:
        assert np.array_equal(Partition.load(fh).patterns, part.patterns)
