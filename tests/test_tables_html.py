"""Partition.to_frame / adjacency_frame / to_json / from_json (relutope.tables) and the notebook _repr_html_.

The frame's values are checked against the partition's own arrays and, where possible, against independent
computations: the output by a forward pass, the pattern counts by the network's own activation pattern at the
witness, the gradient norm by central differences inside the region's Chebyshev ball and an SVD, the planar
volumes by Qhull (:meth:`Partition.volumes`) and their sum by the domain's area.
"""
import base64
import html.parser
import json
import re

import numpy as np
import pytest

import relutope
from relutope import Box, Network, Slice, enumerate_regions
from relutope import tables

pd = pytest.importorskip("pandas")


@pytest.fixture(scope="module")
def planar():
    net = Network.random([2, 8, 6, 3], seed=4)
    return enumerate_regions(net, Box([-1.5, 0.5], [0.5, 3.0]))


@pytest.fixture(scope="module")
def cube():
    net = Network.random([3, 6, 5, 1], seed=5)
    return enumerate_regions(net, Box([-1.0, -1.0, 2.0], [1.0, 0.5, 3.0]))


def _central_jacobian(net, x, h):
    d = x.shape[0]
    E = np.eye(d) * h
    return np.stack([(net(x + E[i]) - net(x - E[i]))[0] / (2 * h) for i in range(d)], axis=1)


@pytest.mark.parametrize("which", ["planar", "cube"])
def test_frame_values_equal_the_partition_and_independent_computations(which, request):
    part = request.getfixturevalue(which)
    net = part.network
    df = part.to_frame()
    R, d, m = len(part), net.in_dim, net.out_dim
    assert len(df) == R and df.index.name == "region" and list(df.index) == list(range(R))
    X = part.witnesses
    np.testing.assert_array_equal(df[[f"x{i}" for i in range(d)]].to_numpy(), X)
    assert not any(c.startswith("t") for c in df.columns)  # t == x on a box with every coordinate free
    np.testing.assert_array_equal(df["radius"].to_numpy(), part.radii)
    # the network's own pattern at each witness, counted per layer
    _, pats = net.forward(X)
    offsets = np.cumsum([0] + [layer.n_units for layer in net.layers])
    for l in range(len(net.layers)):
        want = (pats[:, offsets[l]:offsets[l + 1]] != 0).sum(axis=1)
        np.testing.assert_array_equal(df[f"active_{l}"].to_numpy(), want)
        assert df[f"active_{l}"].dtype == np.int64
    Y = net(X)
    np.testing.assert_array_equal(df[[f"y{j}" for j in range(m)]].to_numpy(), Y)
    if m >= 2:
        np.testing.assert_array_equal(df["predicted"].to_numpy(), np.argmax(Y, axis=1))
    else:
        assert "predicted" not in df.columns
    # gradient norm: central differences inside the region's ball (the network is affine there), then an SVD
    rows = np.linspace(0, R - 1, 15).astype(int)
    for i in rows:
        J = _central_jacobian(net, X[i], 0.5 * part.radii[i])
        want = np.linalg.svd(J, compute_uv=False)[0]
        assert df["grad_norm"].iloc[i] == pytest.approx(want, rel=1e-6)
    A, _ = part.affine_maps()
    np.testing.assert_allclose(df["grad_norm"].to_numpy(), [np.linalg.norm(a, 2) for a in A], rtol=1e-12)


def test_frame_volumes(planar, cube):
    df = planar.to_frame()  # planar: polygon areas, no Qhull
    assert df["volume"].sum() == pytest.approx(2.0 * 2.5, rel=1e-12)
    np.testing.assert_allclose(df["volume"].to_numpy(), planar.volumes(), rtol=1e-9)
    assert "volume" not in planar.to_frame(volumes=False).columns
    fresh = enumerate_regions(cube.network, cube.domain)
    assert "volume" not in fresh.to_frame().columns  # 3-D: only on request
    dv = fresh.to_frame(volumes=True)["volume"].to_numpy()
    np.testing.assert_array_equal(dv, fresh.volumes())
    assert dv.sum() == pytest.approx(2.0 * 1.5 * 1.0, rel=1e-9)
    with pytest.raises(TypeError, match="volumes must be None, True or False, got 'yes'"):
        planar.to_frame(volumes="yes")


def test_frame_on_a_slice_has_both_coordinates():
    net = Network.random([4, 6, 2], seed=2)
    basis = np.array([[1.0, 0.5], [0.0, 2.0], [1.0, 0.0], [0.3, -1.0]])
    dom = Slice(np.array([0.2, -0.1, 1e3, 5.0]), basis, Box([-1.0, -1.0], [1.0, 1.0]))
    part = enumerate_regions(net, dom)
    df = part.to_frame()
    np.testing.assert_array_equal(df[["t0", "t1"]].to_numpy(), part.witness_coords)
    np.testing.assert_array_equal(df[[f"x{i}" for i in range(4)]].to_numpy(), part.witnesses)
    # areas in input units: the t-square's area times sqrt(det(B^T B))
    assert df["volume"].sum() == pytest.approx(4.0 * np.sqrt(np.linalg.det(basis.T @ basis)), rel=1e-9)
    assert not any(c.startswith("x") for c in part.to_frame(max_input_columns=3).columns)


def test_frame_columns_are_documented(planar):
    doc = tables.__doc__
    for col in planar.to_frame().columns:
        stem = re.sub(r"\d+$", "", col) if col[0] in "xyt" else col.split("_")[0] if col.startswith("active") else col
        assert f"``{stem}" in doc, f"column {col!r} is not in relutope.tables' table of columns"
    assert re.search(r"``grad_norm``.*output units per input\s+unit", doc, re.S)


def test_adjacency_frame_is_the_edge_list(planar):
    df = planar.adjacency_frame()
    adj = planar.adjacency()
    assert list(df.columns) == ["source", "target", "layer", "unit", "unit_in_layer", "t0", "t1"]
    np.testing.assert_array_equal(df[["source", "target"]].to_numpy(), adj.edges)
    np.testing.assert_array_equal(df["unit"].to_numpy(), adj.unit)
    np.testing.assert_array_equal(df[["t0", "t1"]].to_numpy(), adj.points)
    assert len(df) == planar.adjacency_graph().number_of_edges()
    # independent: the crossed unit's piece differs between the two regions
    P = planar.patterns
    s, t, u = df["source"].to_numpy(), df["target"].to_numpy(), df["unit"].to_numpy()
    assert np.all(P[s, u] != P[t, u]) and np.all(s < t)
    np.testing.assert_array_equal(planar.network.unit_layer[u], df["layer"].to_numpy())


def test_json_round_trip_is_bit_for_bit(planar, tmp_path):
    text = planar.to_json(tmp_path / "p.json")
    json.loads(text, parse_constant=lambda c: pytest.fail(f"non-standard JSON constant {c}"))
    for back in (relutope.Partition.from_json(text), relutope.Partition.from_json(tmp_path / "p.json"),
                 relutope.Partition.from_json(str(tmp_path / "p.json")), relutope.Partition.from_json(text.encode())):
        np.testing.assert_array_equal(back.patterns, planar.patterns)
        np.testing.assert_array_equal(back.witnesses, planar.witnesses)
        np.testing.assert_array_equal(back.radii, planar.radii)
        assert back.network.fingerprint() == planar.network.fingerprint()
        assert back.domain._same(planar.domain) and back.status == planar.status and back.tol == planar.tol
        assert [p.tolist() for p in back.polygons()] == [p.tolist() for p in planar.polygons()]
    doc = json.loads(text)
    assert doc["format"] == tables.JSON_FORMAT and doc["n_regions"] == len(planar)
    # the schema's names are those of Partition.save's .npz file, and the module documents every one
    assert set(doc["arrays"]) == set(planar._archive_arrays())
    for name in doc["arrays"]:
        stem = re.sub(r"\d+", "{i}", name)
        assert f"``{stem}``" in tables.__doc__ or name.startswith("domain_"), name


def test_json_refuses_bad_documents(planar, cube):
    doc = json.loads(planar.to_json())
    bad = json.loads(json.dumps(doc))
    bad["arrays"]["net_layer0_A"]["data"][0] += 1.0
    with pytest.raises(ValueError, match="do not match the fingerprint"):
        relutope.Partition.from_json(json.dumps(bad))
    bad = json.loads(json.dumps(doc))
    bad["arrays"]["radii"]["dtype"] = "complex128"
    with pytest.raises(ValueError, match=r"arrays\['radii'\] has dtype 'complex128'"):
        relutope.Partition.from_json(json.dumps(bad))
    bad = json.loads(json.dumps(doc))
    bad["arrays"]["radii"]["shape"] = [3]
    with pytest.raises(ValueError, match=r"arrays\['radii'\]\['data'\] must be a list of 3 numbers"):
        relutope.Partition.from_json(json.dumps(bad))
    bad = json.loads(json.dumps(doc))
    del bad["arrays"]["centers"]
    with pytest.raises(ValueError, match="array 'centers' is missing"):
        relutope.Partition.from_json(json.dumps(bad))
    with pytest.raises(ValueError, match="not a relutope partition document"):
        relutope.Partition.from_json('{"format": "other"}')
    with pytest.raises(ValueError, match="not JSON"):
        relutope.Partition.from_json("{oops")
    with pytest.raises(TypeError, match="from_json takes a JSON string, bytes or a path, got int"):
        relutope.Partition.from_json(3)
    with pytest.raises(ValueError, match=f"the partition has {len(cube)} regions, more than max_regions=5"):
        cube.to_json(max_regions=5)


# ---------------------------------------------------------------------------------------------- HTML
class _Parser(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.tags, self.text, self.imgs = [], [], []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.imgs.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def _parse(markup):
    p = _Parser()
    p.feed(markup)
    p.close()
    assert "script" not in p.tags and "table" in p.tags
    return p, " ".join(p.text)


def test_html_of_network_and_partitions(planar, cube):
    _, text = _parse(planar.network._repr_html_())
    assert "relutope.Network" in text and "[2, 8, 6, 3]" in text and "8 units (8 x 2 pieces), input 2" in text
    p, text = _parse(planar._repr_html_())
    assert f"{len(planar)}" in text and "complete" in text and len(p.imgs) == 1
    png = base64.b64decode(p.imgs[0].split(",", 1)[1])
    assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) <= relutope._html.PICTURE_MAX_BYTES
    p, _ = _parse(cube._repr_html_())
    assert p.imgs == []  # 3-D: no picture


def test_html_picture_is_size_limited(planar, monkeypatch):
    monkeypatch.setattr(relutope._html, "PICTURE_MAX_REGIONS", len(planar) - 1)
    assert _parse(planar._repr_html_())[0].imgs == []
    monkeypatch.setattr(relutope._html, "PICTURE_MAX_REGIONS", 10 ** 6)
    monkeypatch.setattr(relutope._html, "PICTURE_MAX_BYTES", 10)
    assert _parse(planar._repr_html_())[0].imgs == []


def test_html_of_result_objects():
    net = Network.random([2, 4, 3], seed=1)
    box = Box([-1.0, -1.0], [1.0, 1.0])
    small = enumerate_regions(net, box)
    results = [relutope.output_bounds(net, box), relutope.lipschitz(small),
               relutope.AdversarialResult(status="found", distance=0.25, x_adv=np.array([0.1, 0.2]), target=1,
                                          region=0, partition=small, programs=3),
               relutope.compare_sampling(net, box, budgets=(50, 200), seed=0, partition=small),
               small.check_complete()]
    for res in results:
        _, text = _parse(res._repr_html_())
        assert type(res).__name__ in text
    _, text = _parse(results[3]._repr_html_())
    assert "samples" in text and "chao1" in text
    _, text = _parse(relutope.VerificationResult(status="<b>holds</b>")._repr_html_())
    assert "<b>holds</b>" in text  # escaped markup comes back as text, not as a tag
