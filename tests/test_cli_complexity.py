"""``relutope complexity``: the table it writes is the library's, bad input gives status 2 naming the flag."""
import csv

import numpy as np
import pytest

import relutope
from relutope.cli import EXIT_INCOMPLETE, EXIT_OK, EXIT_USAGE, main
from relutope.complexity import local_complexity, local_complexity_estimate


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    tmp = tmp_path_factory.mktemp("complexity")
    net = relutope.Network.random([4, 10, 10, 2], seed=0)
    net.save(tmp / "net.npz")
    X = np.random.default_rng(1).normal(size=(6, 4))
    np.save(tmp / "x.npy", X)
    np.savetxt(tmp / "x.csv", X, delimiter=",")
    np.savez(tmp / "x.npz", x=X)
    return net, X, tmp


@pytest.mark.parametrize("name", ["x.npy", "x.csv", "x.npz"])
def test_complexity_table_is_the_librarys(files, name, capsys):
    net, X, tmp = files
    out = tmp / f"lc_{name}.csv"
    status = main(["complexity", str(tmp / "net.npz"), "--points", str(tmp / name), "--radius", "0.4",
                   "--n-dirs", "2", "--seed", "3", "--out", str(out)])
    assert status == EXIT_OK
    text = capsys.readouterr().out
    lc = local_complexity(net, X, 0.4, 2, seed=3)
    est = local_complexity_estimate(net, X, 0.4, 2, seed=3)
    assert f"mean {lc.n_regions.mean():.4g}" in text
    with open(out) as fh:
        rows = list(csv.DictReader(fh))
    assert [int(r["n_regions"]) for r in rows] == lc.n_regions.tolist()
    assert [int(r["n_cut"]) for r in rows] == lc.n_cut.tolist()
    assert [int(r["estimate_n_cut"]) for r in rows] == est.n_cut.tolist()
    np.testing.assert_allclose([float(r["boundary_density"]) for r in rows], lc.boundary_density, rtol=1e-9)


def test_complexity_incomplete_and_bad_input(files, capsys):
    net, X, tmp = files
    model = str(tmp / "net.npz")
    assert main(["complexity", model, "--points", str(tmp / "x.npy"), "--radius", "2", "--max-regions", "1"]) \
        == EXIT_INCOMPLETE
    capsys.readouterr()
    assert main(["complexity", model, "--points", str(tmp / "x.npy"), "--radius", "-1"]) == EXIT_USAGE
    assert "--radius must be positive" in capsys.readouterr().err
    assert main(["complexity", model, "--points", str(tmp / "x.npy"), "--radius", "1", "--n-dirs", "9"]) \
        == EXIT_USAGE
    assert "--n-dirs must be between" in capsys.readouterr().err
    np.save(tmp / "bad.npy", np.zeros((3, 5)))
    assert main(["complexity", model, "--points", str(tmp / "bad.npy"), "--radius", "1"]) == EXIT_USAGE
    err = capsys.readouterr().err
    assert "--points" in err and "(N, 4)" in err
    assert main(["complexity", model, "--points", str(tmp / "missing.npy"), "--radius", "1"]) == EXIT_USAGE
    assert "no such file" in capsys.readouterr().err
