"""The command line (relutope.cli): domain options, --out, --version, messages, exit statuses, closed pipes.

In-process tests call ``relutope.cli.main([...])``; exit statuses and the broken pipe are also checked on the real
program, ``python -m relutope`` in a subprocess (with this test run's relutope on its path).
"""
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import relutope
import relutope.enumerate
from relutope import cli
from relutope.cli import EXIT_STATUSES, main

ROOT = Path(__file__).resolve().parents[1]
# |x| on [-1, 3]: the unsafe set y <= 0.01 is hit near 0, y <= -1 is empty.
ABS = relutope.Network.from_weights([(np.array([[1.0], [-1.0]]), np.zeros(2)), (np.ones((1, 2)), np.zeros(1))])
ABS_PROP = "(declare-const X_0 Real)\n(declare-const Y_0 Real)\n(assert (>= X_0 -1))\n(assert (<= X_0 3))\n"


def _env():
    """This environment, with the relutope this test run imports first on PYTHONPATH."""
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(Path(relutope.__file__).resolve().parents[1])]
                                        + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return env


def _run(*args):
    """``python -m relutope ARGS`` in a subprocess."""
    return subprocess.run([sys.executable, "-m", "relutope", *map(str, args)], env=_env(), capture_output=True,
                          text=True, timeout=120)


@pytest.fixture(scope="module")
def net3(tmp_path_factory):
    net = relutope.Network.random([3, 8, 8, 1], seed=0)
    path = tmp_path_factory.mktemp("cli") / "net3.npz"
    net.save(path)
    return net, path


def _regions(out: str) -> int:
    return int(re.search(r"^regions\s+(\d+)", out, re.M).group(1))


def _domain_line(out: str) -> str:
    return re.search(r"^domain\s+(.*)$", out, re.M).group(1)


# ---------------------------------------------------------------------------------------------- domain options
@pytest.mark.parametrize("argv", [
    ["--box", "-1,-2,-0.5", "1,2,5e-1"],
    ["--lo", "-1,-2,-0.5", "--hi", "1,2,0.5"],
    ["--lo", "-1", "--lo", "-2", "--lo", "-5e-1", "--hi", "1", "--hi", "2", "--hi", ".5"],
    ["--lo=-1,-2,-.5", "--hi", "1,2,0.5"],
])
def test_box_accepts_negative_lists_and_per_coordinate_bounds(net3, argv, capsys):
    net, path = net3
    assert main(["enumerate", str(path), *argv]) == 0
    out = capsys.readouterr().out
    box = relutope.Box([-1.0, -2.0, -0.5], [1.0, 2.0, 0.5])
    assert _domain_line(out) == repr(box)
    assert _regions(out) == len(relutope.enumerate_regions(net, box))


def test_box_scalar_form_still_works(net3, capsys):
    net, path = net3
    assert main(["enumerate", str(path), "--box", "-1", "1"]) == 0
    out = capsys.readouterr().out
    assert _domain_line(out) == repr(relutope.Box(-np.ones(3), np.ones(3)))
    assert main(["enumerate", str(path), "--lo", "-1e-1", "--hi", "0.2"]) == 0
    assert _domain_line(capsys.readouterr().out) == repr(relutope.Box(np.full(3, -0.1), np.full(3, 0.2)))


@pytest.mark.parametrize("argv, message", [
    (["--box", "-1,-1", "1,1"], "--box LO and --box HI need 1 or 3 values"),
    (["--lo", "-1,-1", "--lo", "-1,-1", "--hi", "1"], "--lo and --hi need 1 or 3 values"),
    (["--box", "1", "-1"], "--box LO must be <= --box HI"),
    (["--lo", "1", "--hi", "-1,-1,-1"], "--lo must be <= --hi"),
    (["--lo", "-1"], "--lo and --hi go together"),
    (["--box", "-1", "1", "--lo", "-1", "--hi", "1"], "not both"),
    ([], "exactly one of --box"),
])
def test_bad_domains_name_the_flags(net3, argv, message, capsys):
    assert main(["enumerate", str(net3[1]), *argv]) == 2
    assert message in capsys.readouterr().err


def test_bad_number_is_a_usage_error(net3, capsys):
    with pytest.raises(SystemExit) as exc:
        main(["enumerate", str(net3[1]), "--box", "-1,x", "1"])
    assert exc.value.code == 2
    assert "expected a number or comma-separated numbers, got '-1,x'" in capsys.readouterr().err


def test_compare_sampling_takes_the_same_box_options(net3, capsys):
    net, path = net3
    assert main(["compare-sampling", str(path), "--lo", "-1,-2,-0.5", "--hi", "1,2,0.5", "--budgets", "100"]) == 0
    n = len(relutope.enumerate_regions(net, relutope.Box([-1.0, -2.0, -0.5], [1.0, 2.0, 0.5])))
    assert f"exact: {n} regions" in capsys.readouterr().out
    assert main(["compare-sampling", str(path), "--budgets", "100"]) == 2
    assert "--box LO HI or --lo/--hi" in capsys.readouterr().err


# ---------------------------------------------------------------------------------------------- --out
def test_out_prints_the_path_written(net3, tmp_path, capsys):
    net, path = net3
    assert main(["enumerate", str(path), "--box", "-1", "1", "--out", str(tmp_path / "p")]) == 0
    out = capsys.readouterr().out
    written = re.search(r"^partition\s+written to (.*)$", out, re.M).group(1)
    assert written == str(tmp_path / "p.npz")
    assert sorted(os.listdir(tmp_path)) == ["p.npz"]
    assert len(relutope.Partition.load(written)) == _regions(out)
    assert main(["enumerate", str(path), "--box", "-1", "1", "--out", str(tmp_path / "q.npz")]) == 0
    assert f"written to {tmp_path / 'q.npz'}\n" in capsys.readouterr().out
    assert sorted(os.listdir(tmp_path)) == ["p.npz", "q.npz"]


def _no_run(*args, **kwargs):
    raise AssertionError("the run started although --out cannot be written")


@pytest.mark.parametrize("command", ["enumerate", "verify", "compare-sampling"])
def test_bad_out_directory_is_found_before_the_run(net3, tmp_path, monkeypatch, command, capsys):
    monkeypatch.setattr(relutope.enumerate, "enumerate_regions", _no_run)
    monkeypatch.setattr(sys.modules["relutope.verify"], "verify", _no_run)
    monkeypatch.setattr(sys.modules["relutope.compare"], "compare_sampling", _no_run)
    prop = tmp_path / "p.vnnlib"
    prop.write_text("(declare-const X_0 Real)\n(declare-const X_1 Real)\n(declare-const X_2 Real)\n"
                    "(declare-const Y_0 Real)\n(assert (<= Y_0 -1))\n")
    args = {"enumerate": ["--box", "-1", "1"], "verify": [str(prop)], "compare-sampling": ["--box", "-1", "1"]}
    missing = tmp_path / "no" / "such" / "dir" / "out"
    assert main([command, str(net3[1]), *args[command], "--out", str(missing)]) == 2
    err = capsys.readouterr().err
    assert "--out" in err and "does not exist" in err and str(missing.parent) in err
    folder = tmp_path / "folder.npz"  # --out p writes p.npz for enumerate
    folder.mkdir()
    assert main([command, str(net3[1]), *args[command], "--out", str(folder)]) == 2
    assert "is a directory" in capsys.readouterr().err
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    try:
        if os.access(locked, os.W_OK):  # root ignores the mode: let os.access answer as for another user
            real = os.access
            monkeypatch.setattr(os, "access", lambda p, mode: real(p, mode) and not (
                Path(p) == locked and mode & os.W_OK))
        assert main([command, str(net3[1]), *args[command], "--out", str(locked / "out")]) == 2
        assert "not writable" in capsys.readouterr().err
    finally:
        locked.chmod(0o700)


def test_demo_checks_png_before_the_run(tmp_path, capsys):
    assert main(["demo", "--png", str(tmp_path / "missing" / "demo.png")]) == 2
    captured = capsys.readouterr()
    assert "--png" in captured.err and "does not exist" in captured.err
    assert captured.out == ""  # nothing ran


# ---------------------------------------------------------------------------------------------- --version, messages
def test_version(capsys):
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    printed = capsys.readouterr().out.strip()
    assert printed == f"relutope {relutope.__version__}"
    declared = re.search(r'^version\s*=\s*"([^"]+)"', (ROOT / "pyproject.toml").read_text(), re.M).group(1)
    assert printed == f"relutope {declared}"


@pytest.mark.parametrize("command, argv, flag, name", [
    ("enumerate", ["--box", "-1", "1", "--max-regions", "-5"], "--max-regions", "max_regions"),
    ("enumerate", ["--box", "-1", "1", "--time-limit", "-1"], "--time-limit", "time_limit"),
    ("enumerate", ["--box", "-1", "1", "--tol", "-1e-3"], "--tol", "tol"),
    ("compare-sampling", ["--box", "-1", "1", "--budgets", "0,10"], "--budgets", "budgets"),
])
def test_messages_name_flags_not_library_arguments(net3, command, argv, flag, name, capsys):
    assert main([command, str(net3[1]), *argv]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"relutope: error: {flag} ")
    assert re.search(rf"(?<![-\w]){name}\b", err) is None


def test_verify_timeout_message_names_the_flag(tmp_path, capsys):
    ABS.save(tmp_path / "abs.npz")
    (tmp_path / "p.vnnlib").write_text(ABS_PROP + "(assert (<= Y_0 -1))\n")
    assert main(["verify", str(tmp_path / "abs.npz"), str(tmp_path / "p.vnnlib"), "--timeout", "-1"]) == 2
    assert capsys.readouterr().err.startswith("relutope: error: --timeout must be")


def test_flag_names_leave_paths_and_other_words_alone():
    flags = {"tol": "--tol", "max_regions": "--max-regions"}
    assert (cli._flag_names("cannot read /data/tol/net.onnx: contain_tol and tol, tolerance, max_regions=3", flags)
            == "cannot read /data/tol/net.onnx: contain_tol and --tol, tolerance, --max-regions=3")
    assert cli._flag_names("--tol must be positive", flags) == "--tol must be positive"


# ---------------------------------------------------------------------------------------------- exit statuses
def test_enumerate_exit_statuses(net3, capsys):
    path = net3[1]
    assert main(["enumerate", str(path), "--box", "-1", "1"]) == 0
    assert "incomplete" not in capsys.readouterr().out
    assert main(["enumerate", str(path), "--box", "-1", "1", "--max-regions", "5"]) == 3
    out = capsys.readouterr().out
    assert _regions(out) == 5 and "incomplete: max_regions" in out


def test_exit_statuses_of_the_program(net3, tmp_path):
    path = net3[1]
    assert _run("enumerate", path, "--box", "-1,-1,-1", "1,1,1").returncode == 0
    res = _run("enumerate", path, "--box", "-1", "1", "--max-regions", "5")
    assert res.returncode == 3 and "incomplete" in res.stdout
    res = _run("enumerate", path, "--bogus")
    assert res.returncode == 2 and "unrecognized arguments: --bogus" in res.stderr  # argparse's usage error
    ABS.save(tmp_path / "abs.npz")
    for unsafe, status, word in [("(<= Y_0 0.01)", 10, "violated"), ("(<= Y_0 -1)", 0, "holds")]:
        prop = tmp_path / f"{word}.vnnlib"
        prop.write_text(ABS_PROP + f"(assert {unsafe})\n")
        res = _run("verify", tmp_path / "abs.npz", prop)
        assert (res.returncode, res.stdout.split("\n")[0]) == (status, word)
    # unknown: a property the search cannot finish within 1 us (every region visited: no pruning)
    relutope.Network.random([3, 32, 32, 32, 1], seed=0).save(tmp_path / "big.npz")
    prop = tmp_path / "unknown.vnnlib"
    prop.write_text("".join(f"(declare-const X_{i} Real)\n(assert (>= X_{i} -1))\n(assert (<= X_{i} 1))\n"
                            for i in range(3)) + "(declare-const Y_0 Real)\n(assert (<= Y_0 -1e9))\n")
    res = _run("verify", tmp_path / "big.npz", prop, "--no-prune", "--timeout", "1e-6")
    assert (res.returncode, res.stdout.split("\n")[0]) == (20, "unknown")


def test_verify_exit_statuses_and_vnncomp_output(tmp_path, monkeypatch, capsys):
    ABS.save(tmp_path / "abs.npz")
    for unsafe, status, word, vnn in [("(<= Y_0 0.01)", 10, "violated", "sat"), ("(<= Y_0 -1)", 0, "holds", "unsat")]:
        prop = tmp_path / f"{word}.vnnlib"
        prop.write_text(ABS_PROP + f"(assert {unsafe})\n")
        assert main(["verify", str(tmp_path / "abs.npz"), str(prop)]) == status
        assert capsys.readouterr().out.split("\n")[0] == word
        result = tmp_path / f"{word}.txt"
        assert main(["verify", str(tmp_path / "abs.npz"), str(prop), "--vnncomp", "--out", str(result)]) == status
        assert capsys.readouterr().out.split("\n")[0] == vnn
        lines = result.read_text().splitlines()
        assert lines[0] == vnn
        if status == 10:  # VNN-COMP's witness format, unchanged
            assert len(lines) == 3 and lines[1].startswith("((X_0 ") and lines[2].startswith("(Y_0 ")
            x, y = float(lines[1].split()[1].rstrip(")")), float(lines[2].split()[1].rstrip(")"))
            assert lines[2].endswith("))") and y == abs(x) and abs(x) <= 0.01
        else:
            assert len(lines) == 1

    def unknown(*args, **kwargs):
        return relutope.VerificationResult(status="unknown", seconds=0.0)

    monkeypatch.setattr(sys.modules["relutope.verify"], "verify", unknown)
    prop = tmp_path / "holds.vnnlib"
    assert main(["verify", str(tmp_path / "abs.npz"), str(prop)]) == 20
    assert main(["verify", str(tmp_path / "abs.npz"), str(prop), "--vnncomp"]) == 20
    assert capsys.readouterr().out.split("\n")[0:3:2] == ["unknown", "unknown"]


def test_numerical_failure_exits_1(net3, monkeypatch, capsys):
    def broken(*args, **kwargs):
        raise relutope.NumericalError("the LP solver broke down: singular basis")

    monkeypatch.setattr(relutope.enumerate, "enumerate_regions", broken)
    assert main(["enumerate", str(net3[1]), "--box", "-1", "1"]) == 1
    assert capsys.readouterr().err == "relutope: error: the LP solver broke down: singular basis\n"


def test_help_and_readme_document_the_exit_statuses(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    text = capsys.readouterr().out
    for code, meaning in EXIT_STATUSES.items():
        assert re.search(rf"^\s+{code}\s+{re.escape(meaning)}$", text, re.M), (code, meaning)
    for command, codes in [("enumerate", [0, 1, 2, 3]), ("verify", [0, 1, 2, 10, 20]),
                           ("compare-sampling", [0, 1, 2]), ("bounds", [0, 1, 2, 3])]:
        with pytest.raises(SystemExit):
            main([command, "--help"])
        epilog = capsys.readouterr().out.split("exit status:")[1]
        assert sorted(int(m) for m in re.findall(r"^\s+(\d+)\s", epilog, re.M)) == codes
    readme = (ROOT / "README.md").read_text()
    table = readme.split("Exit statuses")[1]
    for code in EXIT_STATUSES:
        assert re.search(rf"^\| {code} \|", table, re.M), code


# ---------------------------------------------------------------------------------------------- closed pipe
def test_closed_pipe_is_quiet(net3):
    proc = subprocess.Popen([sys.executable, "-m", "relutope", "enumerate", str(net3[1]), "--box", "-1", "1"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=_env())
    proc.stdout.close()  # the reader goes away before the program writes anything (as `| head -1` can)
    err = proc.stderr.read()
    proc.stderr.close()
    assert proc.wait(timeout=120) == 141
    assert err == b""


# ---------------------------------------------------------------------------------------------- bounds
def _two_outputs(scale):
    """y0 = |x0| + x1 and y1 = -|x0 - scale| (x1 > 0 on the box): closed-form extremes over the box below."""
    W1 = np.array([[1.0, 0.0], [-1.0, 0.0], [1.0, 0.0], [-1.0, 0.0], [0.0, 1.0]])
    b1 = np.array([0.0, 0.0, -scale, scale, 0.0])
    W2 = np.array([[1.0, 1.0, 0.0, 0.0, 1.0], [0.0, 0.0, -1.0, -1.0, 0.0]])
    return relutope.Network.from_weights([(W1, b1), (W2, np.zeros(2))])


@pytest.mark.parametrize("scale", [1e-6, 1.0, 1e6])
@pytest.mark.parametrize("certify", [False, True])
def test_bounds_prints_the_closed_form_extremes(scale, certify, tmp_path, capsys):
    # on [-1, 3] x [2, 5] (times scale): y0 in [2, 8], y1 in [-2, 0] (times scale), by hand
    path = tmp_path / "two.npz"
    _two_outputs(scale).save(path)
    argv = ["bounds", str(path), "--lo", f"{-scale!r},{2 * scale!r}", "--hi", f"{3 * scale!r},{5 * scale!r}"]
    assert main(argv + (["--certify"] if certify else [])) == 0
    out = capsys.readouterr().out
    rows = re.findall(r"^y\[(\d)\]  min (\S+)  max (\S+)(.*)$", out, re.M)
    assert [r[0] for r in rows] == ["0", "1"]
    for (_, lo, hi, rest), (lo_ref, hi_ref) in zip(rows, [(2, 8), (-2, 0)]):
        assert float(lo) == pytest.approx(lo_ref * scale, rel=1e-12, abs=1e-12 * scale)
        assert float(hi) == pytest.approx(hi_ref * scale, rel=1e-12, abs=1e-12 * scale)
        if certify:  # the proven intervals hold the exact extremes
            ends = [float(v) for v in re.findall(r"[-+0-9.e]+(?=[\],])", rest)]
            assert len(ends) == 4
            assert ends[0] <= lo_ref * scale <= ends[1] and ends[2] <= hi_ref * scale <= ends[3]
    assert ("certificate: certified" in out) == certify


def test_bounds_names_a_missing_domain(net3, capsys):
    assert main(["bounds", str(net3[1])]) == 2
    assert "--box" in capsys.readouterr().err
