"""Tests of relutope.vnnlib on the ACAS Xu properties of VNN-COMP 2021 and on hand-written snippets."""
import gzip
import pathlib

import numpy as np
import pytest

from relutope import Box
from relutope.vnnlib import Case, Property, load, loads

DATA = pathlib.Path(__file__).parent / "data" / "acasxu" / "vnnlib"

# Bounds as read by eye from the files (normalised coordinates).
BOX_12 = ([0.6, -0.5, -0.5, 0.45, -0.5], [0.679857769, 0.5, 0.5, 0.5, -0.45])
BOX_3 = ([-0.303531156, -0.009549297, 0.493380324, 0.3, 0.3], [-0.298552812, 0.009549297, 0.5, 0.5, 0.5])
BOX_4 = ([-0.303531156, -0.009549297, 0.0, 0.318181818, 0.083333333],
         [-0.298552812, 0.009549297, 0.0, 0.5, 0.166666667])
# "COC is maximal" (prop 2): Y_j <= Y_0, i.e. -Y_0 + Y_j <= 0 for j = 1..4
COC_MAX = np.array([[-1, 1, 0, 0, 0], [-1, 0, 1, 0, 0], [-1, 0, 0, 1, 0], [-1, 0, 0, 0, 1]], dtype=float)
# "COC is minimal" (props 3, 4): Y_0 <= Y_j, i.e. Y_0 - Y_j <= 0
COC_MIN = -COC_MAX

EXPECTED = {
    # prop 1: Y_0 >= 3.991125645861615, i.e. -Y_0 <= -3.991125645861615
    1: (BOX_12, np.array([[-1.0, 0, 0, 0, 0]]), np.array([-3.991125645861615])),
    2: (BOX_12, COC_MAX, np.zeros(4)),
    3: (BOX_3, COC_MIN, np.zeros(4)),
    4: (BOX_4, COC_MIN, np.zeros(4)),
}


@pytest.mark.parametrize("prop", [1, 2, 3, 4])
def test_acasxu_properties(prop):
    p = load(DATA / f"prop_{prop}.vnnlib")
    (lo, hi), C, d = EXPECTED[prop]
    assert isinstance(p, Property) and p.n_inputs == 5 and p.n_outputs == 5
    assert len(p.cases) == 1
    case = p.cases[0]
    assert isinstance(case, Case)
    np.testing.assert_array_equal(case.box_lo, lo)  # exact: the decimal literals parse to the same floats
    np.testing.assert_array_equal(case.box_hi, hi)
    assert len(case.terms) == 1
    np.testing.assert_array_equal(case.terms[0][0], C)
    np.testing.assert_array_equal(case.terms[0][1], d)
    assert p.source.endswith(f"prop_{prop}.vnnlib")


def test_acasxu_prop4_box_is_lower_dimensional():
    dom = load(DATA / "prop_4.vnnlib").cases[0].domain()
    assert isinstance(dom, Box)
    assert dom.dim == 5 and dom.intrinsic_dim == 4
    assert dom.free.tolist() == [0, 1, 3, 4]


def test_is_unsafe_on_prop2():
    p = load(DATA / "prop_2.vnnlib")
    x_in = np.array([0.65, 0.0, 0.0, 0.47, -0.47])
    x_out = x_in + np.array([0.0, 0.0, 0.0, 0.0, 0.1])  # X_4 > -0.45: outside the box
    y_coc_max = np.array([1.0, 0.5, 0.5, 0.5, 0.5])
    y_other = np.array([0.0, 0.5, 0.5, 0.5, 0.5])
    res = p.is_unsafe([x_in, x_in, x_out], [y_coc_max, y_other, y_coc_max])
    np.testing.assert_array_equal(res, [True, False, False])
    # ties count as unsafe (non-strict inequalities)
    assert p.is_unsafe(x_in, np.ones(5))[0]
    with pytest.raises(ValueError, match="y must have shape"):
        p.is_unsafe(x_in, np.ones(4))


HEADER = "".join(f"(declare-const X_{i} Real)\n" for i in range(2)) + \
         "".join(f"(declare-const Y_{j} Real)\n" for j in range(3))


def test_disjunction_over_input_boxes_and_outputs():
    # two input boxes (the style of ACAS Xu property 6) and an output disjunction: 2 cases x 2 terms
    text = HEADER + """
    (assert (or (and (<= X_0 1.0) (>= X_0 0.5) (<= X_1 0.25) (>= X_1 -0.25))
                (and (<= X_0 -0.5) (>= X_0 -1) (<= X_1 0.25) (>= X_1 -0.25))))
    (assert (or (<= Y_1 Y_0) (and (>= Y_2 1e-1) (<= (+ Y_0 (* 2 Y_1) (- Y_2)) 3))))
    """
    p = loads(text)
    assert len(p.cases) == 2
    np.testing.assert_array_equal(p.cases[0].box_lo, [0.5, -0.25])
    np.testing.assert_array_equal(p.cases[0].box_hi, [1.0, 0.25])
    np.testing.assert_array_equal(p.cases[1].box_lo, [-1.0, -0.25])
    np.testing.assert_array_equal(p.cases[1].box_hi, [-0.5, 0.25])
    for case in p.cases:
        assert len(case.terms) == 2
        (C1, d1), (C2, d2) = case.terms
        np.testing.assert_array_equal(C1, [[-1.0, 1.0, 0.0]])
        np.testing.assert_array_equal(d1, [0.0])
        np.testing.assert_array_equal(C2, [[0.0, 0.0, -1.0], [1.0, 2.0, -1.0]])
        np.testing.assert_allclose(d2, [-0.1, 3.0])


def test_disjuncts_with_one_box_are_merged_into_one_case():
    text = HEADER + """
    (assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1)) (assert (>= X_1 0))
    (assert (or (and (>= Y_0 2)) (and (>= Y_1 2)) (and (>= Y_2 2))))
    """
    p = loads(text)
    assert len(p.cases) == 1 and len(p.cases[0].terms) == 3


def test_equality_strict_and_constant_comparisons():
    text = HEADER + """
    ; X_1 fixed by =, strict < read as <=, constant atoms
    (assert (= X_1 0.5)) (assert (< X_0 2)) (assert (> X_0 -2)) (assert (<= 0 1))
    (assert (= Y_0 Y_1))
    """
    p = loads(text)
    case = p.cases[0]
    np.testing.assert_array_equal(case.box_lo, [-2.0, 0.5])
    np.testing.assert_array_equal(case.box_hi, [2.0, 0.5])
    np.testing.assert_array_equal(case.terms[0][0], [[1.0, -1.0, 0.0], [-1.0, 1.0, 0.0]])
    # a disjunct made false by a constant comparison disappears
    q = loads(HEADER + "(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1)) (assert (>= X_1 0))"
                       "(assert (or (and (<= 1 0) (>= Y_0 5)) (>= Y_1 7)))")
    assert len(q.cases[0].terms) == 1
    np.testing.assert_array_equal(q.cases[0].terms[0][0], [[0.0, -1.0, 0.0]])


def test_strict_comparisons_where_strictness_is_not_measure_zero():
    """Read as non-strict, ``(< 0 0)`` was true (every input of the box unsafe) and ``(< X_0 1) (>= X_0 1)`` the
    point X_0 = 1 (an input that satisfies neither strict constraint): the references are the strict sets."""
    box = "(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1)) (assert (>= X_1 0))"
    q = loads(HEADER + box + "(assert (or (and (< (- Y_0 Y_0) 0) (>= Y_0 5)) (>= Y_1 7)))")
    assert [t[0].tolist() for t in q.cases[0].terms] == [[[0.0, -1.0, 0.0]]]
    assert [[[float(v) for v in r] for r in t[0]] for t in q.exact_cases()[0].terms] == [[[0.0, -1.0, 0.0]]]
    empty = loads(HEADER + box + "(assert (< (* 0 Y_0) 0))")
    assert len(empty.cases) == 0 and len(empty.exact_cases()) == 0
    assert len(loads(HEADER + box + "(assert (< 0 1)) (assert (<= Y_0 1))").cases) == 1
    for pin in ("(assert (< X_0 1)) (assert (>= X_0 1))", "(assert (<= X_0 1)) (assert (> X_0 1))",
                "(assert (< X_0 1)) (assert (<= X_0 1)) (assert (>= X_0 1))"):
        with pytest.raises(ValueError, match=r"X_0 .* equal to the upper bound 1.0 \(line \d\), one of them "
                                             r"strict: the input box is empty"):
            loads(HEADER + pin + "(assert (<= X_1 1)) (assert (>= X_1 0)) (assert (<= Y_0 1))")
    weak = loads(HEADER + "(assert (<= X_0 1)) (assert (>= X_0 1)) (assert (<= X_1 1)) (assert (>= X_1 0))"
                          "(assert (<= Y_0 1))")
    assert weak.cases[0].box_lo[0] == weak.cases[0].box_hi[0] == 1.0  # non-strict: the point stays


def test_output_unconstrained_gives_an_empty_term():
    p = loads("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (and (<= X_0 1) (>= X_0 0)))")
    C, d = p.cases[0].terms[0]
    assert C.shape == (0, 1) and d.shape == (0,)
    assert p.is_unsafe([[0.5]], [[123.0]])[0]


def test_gzip_file(tmp_path):
    path = tmp_path / "prop_2.vnnlib.gz"
    path.write_bytes(gzip.compress((DATA / "prop_2.vnnlib").read_bytes()))
    p = load(path)
    np.testing.assert_array_equal(p.cases[0].terms[0][0], COC_MAX)


OK_BOX = "(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1)) (assert (>= X_1 0))\n"


@pytest.mark.parametrize("text, match", [
    (HEADER + OK_BOX + "(assert (<= Y_0 1)", r"line 7: '\(' is never closed"),
    (HEADER + OK_BOX + "(assert (<= Y_0 1)))", r"line 7: unexpected '\)'"),
    (HEADER + OK_BOX + "(assert (<= Y_7 1))", r"line 7: variable Y_7 is used but not declared"),
    (HEADER + OK_BOX + "(assert (<= Y_0 abc))", r"line 7: expected a number or a variable"),
    (HEADER + OK_BOX + "(assert (<= Y_0))", r"line 7: '<=' takes at least two arguments"),
    (HEADER + OK_BOX + "(assert (<= X_0 Y_0))", r"line 7: a comparison may not mix inputs X and outputs Y"),
    (HEADER + OK_BOX + "(assert (<= (+ X_0 X_1) 1))", r"line 7: input constraints must bound a single input"),
    (HEADER + OK_BOX + "(assert (<= (* Y_0 Y_1) 1))", r"line 7: product of two variables is not linear"),
    (HEADER + OK_BOX + "(assert (not (<= Y_0 1)))", r"line 7: 'not' is not supported"),
    (HEADER + OK_BOX + "(assert (xor (<= Y_0 1)))", r"line 7: unknown formula operator 'xor'"),
    (HEADER + OK_BOX + "(assert (<= Y_0 nan))", r"line 7: expected a number or a variable"),
    (HEADER + OK_BOX + "(assert (<= Y_0 1) (<= Y_1 1))", r"line 7: assert takes exactly one formula"),
    (HEADER + OK_BOX + "(declare-fun f (Real) Real)", r"line 7: unknown command 'declare-fun'"),
    (HEADER + OK_BOX + "(declare-const X_0 Real)", r"line 7: X_0 is declared twice \(first on line 1\)"),
    (HEADER + "(declare-const Z_0 Real)", r"line 6: variable names must be X_i"),
    (HEADER + "(declare-const X_2 Int)", r"line 6: variable X_2 must have sort Real"),
    (HEADER + OK_BOX + "<= Y_0 1", r"line 7: '<=' outside parentheses"),
    (HEADER + "(assert (<= X_0 1)) (assert (>= X_0 0)) (assert (<= X_1 1))\n(assert (<= Y_0 1))",
     r"line 6: input X_1 has no lower bound"),
    ("(declare-const X_0 Real)\n(declare-const X_2 Real)\n(declare-const Y_0 Real)\n(assert (<= Y_0 1))",
     r"X_1 is not declared but X_2 is"),
    ("(declare-const X_0 Real)\n(assert (<= X_0 1))", r"no outputs Y_0, Y_1, ... are declared"),
    (HEADER, r"no assert"),
])
def test_malformed_raises_with_line_number(text, match):
    with pytest.raises(ValueError, match=match):
        loads(text)


def test_load_names_the_file_in_errors(tmp_path):
    path = tmp_path / "bad.vnnlib"
    path.write_text(HEADER + OK_BOX + "(assert (<= Y_0 1)")
    with pytest.raises(ValueError, match=r"bad\.vnnlib: line 7: '\(' is never closed"):
        load(path)
    path.write_bytes(b"\xff\xfe(")
    with pytest.raises(ValueError, match="not a UTF-8"):
        load(path)
    with pytest.raises(FileNotFoundError):
        load(tmp_path / "missing.vnnlib")
    with pytest.raises(TypeError, match="text must be a str"):
        loads(b"(declare-const X_0 Real)")


# ---------------------------------------------------------------------------------------------- issue 16, item 10
def test_empty_input_box_is_an_error_naming_the_variable_and_lines():
    # used to drop the case: the property then had no case and verify() answered "holds"
    text = HEADER + "(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= X_1 0.2))\n(assert (>= X_1 0.7))\n" \
                    "(assert (<= Y_0 1))"
    with pytest.raises(ValueError, match=r"line 9: input X_1 has the lower bound 0\.7 \(line 9\) above the upper "
                                         r"bound 0\.2 \(line 8\): the input box is empty"):
        loads(text)
    with pytest.raises(ValueError, match=r"input X_0 has the lower bound 2\.0 .* above the upper bound 1\.0"):
        loads(HEADER + OK_BOX + "(assert (= X_0 2)) (assert (<= Y_0 1))")
    p = loads(HEADER + OK_BOX + "(assert (= X_0 1)) (assert (<= Y_0 1))")  # lo == hi is a fixed input, fine
    assert p.cases[0].box_lo[0] == p.cases[0].box_hi[0] == 1.0


def test_deep_nesting_is_refused_with_a_line_number():
    deep = "(assert " + "(and " * 5000 + "(<= Y_0 1)" + ")" * 5000 + ")"
    with pytest.raises(ValueError, match=r"line 7: parentheses nested deeper than 100 levels"):
        loads(HEADER + OK_BOX + deep)
    deep_expr = "(assert (<= " + "(- " * 3000 + "Y_0" + ")" * 3000 + " 1))"
    with pytest.raises(ValueError, match="nested deeper"):
        loads(HEADER + OK_BOX + deep_expr)
    ok = "(assert " + "(and " * 60 + "(<= Y_0 1)" + ")" * 60 + ")"  # deep but within the limit: parsed
    assert loads(HEADER + OK_BOX + ok).cases[0].terms[0][1].tolist() == [1.0]


def test_huge_declared_index_is_checked_against_the_declarations_without_allocating():
    import tracemalloc

    text = "(declare-const X_0 Real)\n(declare-const X_10000000 Real)\n(declare-const Y_0 Real)\n" \
           "(assert (<= X_0 1))\n(assert (>= X_0 0))\n(assert (<= Y_0 1))\n"
    tracemalloc.start()
    try:
        with pytest.raises(ValueError, match=r"line 2: X_1 is not declared but X_10000000 is"):
            loads(text)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 10 * 2 ** 20  # used to take 1.1 GB
    with pytest.raises(ValueError, match=r"line 1: the index of variable X_1234567890.* more than 9 digits"):
        loads("(declare-const X_12345678901234567890 Real)")


def test_numbers_that_overflow_are_refused():
    with pytest.raises(ValueError, match=r"line 7: the number 1e999 overflows"):
        loads(HEADER + OK_BOX + "(assert (<= Y_0 1e999))")
    with pytest.raises(ValueError, match=r"line 7: a coefficient or constant of the comparison overflows"):
        loads(HEADER + OK_BOX + "(assert (<= (* 1e300 1e300 Y_0) 1))")


def test_long_sums_are_one_linear_expression():
    n = 2000
    text = "".join(f"(declare-const Y_{j} Real)\n" for j in range(n))
    text = "(declare-const X_0 Real)\n" + text + "(assert (<= X_0 1))(assert (>= X_0 0))\n"
    text += "(assert (<= (+ " + " ".join(f"Y_{j}" for j in range(n)) + ") 1))"
    C, d = loads(text).cases[0].terms[0]
    np.testing.assert_array_equal(C, np.ones((1, n)))  # (accumulated in place: the sum is linear in n)


def test_corrupt_gzip_is_a_value_error_naming_the_file(tmp_path):
    path = tmp_path / "p.vnnlib.gz"
    raw = gzip.compress((DATA / "prop_2.vnnlib").read_bytes())
    path.write_bytes(raw[: len(raw) // 2])
    with pytest.raises(ValueError, match=r"p\.vnnlib\.gz: not a valid gzip file"):
        load(path)
    path.write_bytes(b"plain text")
    with pytest.raises(ValueError, match="not a valid gzip file"):
        load(path)


def test_chained_comparisons_are_the_conjunction_of_adjacent_pairs():
    # SMT-LIB's <=, <, >=, >, = are :chainable: (<= a b c) is (and (<= a b) (<= b c)); it was refused
    chained = loads(HEADER + "(assert (<= 0 X_0 1)) (assert (>= 1 X_1 0))\n(assert (>= Y_0 Y_1 0.5))")
    pairs = loads(HEADER + OK_BOX + "(assert (and (>= Y_0 Y_1) (>= Y_1 0.5)))")
    assert len(chained.cases) == len(pairs.cases) == 1
    a, b = chained.cases[0], pairs.cases[0]
    np.testing.assert_array_equal(a.box_lo, b.box_lo)
    np.testing.assert_array_equal(a.box_hi, b.box_hi)
    np.testing.assert_array_equal(a.terms[0][0], b.terms[0][0])
    np.testing.assert_array_equal(a.terms[0][1], b.terms[0][1])
    assert not loads(HEADER + OK_BOX + "(assert (<= Y_0 2 1))").cases  # 2 <= 1: no unsafe input
