"""Reader for VNN-LIB 1.0 property files, as used in VNN-COMP.

A VNN-LIB 1.0 file (https://www.vnnlib.org; the format of the VNN-COMP benchmarks, e.g.
stanleybak/vnncomp2021) is a small SMT-LIB 2 script over the real variables ``X_0, X_1, ...`` (network inputs)
and ``Y_0, Y_1, ...`` (outputs)::

    (declare-const X_0 Real)
    (declare-const Y_0 Real)
    (assert (<= X_0 0.6))
    (assert (>= X_0 -0.6))
    (assert (or (and (<= Y_0 Y_1)) (and (>= Y_0 3.99))))

The conjunction of the assertions describes the UNSAFE set: the property *holds* when no input satisfying the
input constraints produces an output satisfying the output constraints, and is *violated* otherwise.

:func:`load` puts the assertions in disjunctive normal form and returns a :class:`Property`: a list of
:class:`Case` objects, each an input box ``[box_lo, box_hi]`` with a list of output polytopes ``C y <= d`` (the
terms). The set described is the union over cases and terms of ``{x in box, y = net(x), C y <= d}``.

Accepted syntax: ``declare-const`` of ``X_i`` / ``Y_j`` with sort ``Real``; ``assert`` of ``and`` / ``or``
(nested freely) over comparisons ``<=``, ``>=``, ``<``, ``>``, ``=`` between linear expressions built from
numbers (``0.5``, ``-1``, ``1e-3``), variables, ``+``, ``-`` and ``*`` by constants. Comparisons chain as in SMT-LIB:
``(<= 0 X_0 1)`` is ``(and (<= 0 X_0) (<= X_0 1))``. Strict comparisons are read as
non-strict (the difference has measure zero), except where it has not: a constant comparison such as ``(< 0 0)``
is false, and strict bounds that pin an input to one value (``(< X_0 1)`` with ``(>= X_0 1)``) leave its box
empty. Input constraints must bound one input each (boxes). A disjunct whose input bounds contradict each other
(an empty box) is false, as in SMT-LIB: it is dropped with a :class:`~relutope.RelutopeWarning` naming the bounds,
and the property's input set is the union of the other disjuncts' boxes; when every box is empty, the property
would hold vacuously, which is an error (a file that constrains no input is most likely a mistake, not a
proof); output constraints may be any linear inequalities; a
comparison may not mix inputs and outputs. Variables are declared ``X_0 .. X_{n-1}`` and ``Y_0 .. Y_{m-1}``
without gaps; parentheses nest at most :data:`MAX_DEPTH` deep. The housekeeping commands ``check-sat``,
``get-model``, ``exit``, ``set-logic``, ``set-info`` and ``set-option`` are ignored. Comments run from ``;`` to the
end of the line. Files ending in ``.gz`` are read with gzip.
"""
from __future__ import annotations

import gzip
import os
import re
import zlib
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Dict, List, Optional, Sequence, Tuple, Union

import numpy as np

__all__ = ["Case", "ExactCase", "Property", "load", "loads"]

#: Largest number of conjunctions the disjunctive normal form may have.
MAX_DNF_TERMS = 1_000_000
#: Deepest nesting of parentheses accepted (VNN-COMP files nest a handful of levels; the reader recurses).
MAX_DEPTH = 100
#: Most digits a variable's index may have.
_MAX_INDEX_DIGITS = 9

_IGNORED_COMMANDS = {"check-sat", "get-model", "exit", "set-logic", "set-info", "set-option"}
_NUMBER = re.compile(r"[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?\Z")
_VAR = re.compile(r"([XY])_(\d+)\Z")
_TOKEN = re.compile(r"\s*(?:(;[^\n]*)|(\()|(\))|([^\s();]+))")


# ---------------------------------------------------------------------------------------------------- results
@dataclass(frozen=True, eq=False)
class Case:
    """One input box with the output conditions that make it unsafe.

    Attributes
    ----------
    box_lo, box_hi : ndarray, shape (n_inputs,), float64
        Bounds of the input box; ``box_lo[i] == box_hi[i]`` fixes input ``i``.
    terms : list of (C, d)
        Output polytopes: ``C`` of shape (r, n_outputs) and ``d`` of shape (r,), float64, meaning ``C y <= d``
        (``r = 0``: no condition on the output). The case is unsafe if some input of the box has an output in
        *some* term.
    """

    box_lo: np.ndarray
    box_hi: np.ndarray
    terms: List[Tuple[np.ndarray, np.ndarray]] = field(default_factory=list)

    def domain(self):
        """The input box as a :class:`relutope.Box` (lower-dimensional when inputs are fixed)."""
        from .domains import Box

        return Box(self.box_lo, self.box_hi)

    def __repr__(self) -> str:
        return (f"Case(box_lo={self.box_lo.tolist()}, box_hi={self.box_hi.tolist()}, "
                f"terms={[t[0].shape[0] for t in self.terms]} rows)")


@dataclass(frozen=True, eq=False)
class Property:
    """A parsed VNN-LIB property: UNSAFE iff for some case, ``x`` in its box and ``C y <= d`` for some term.

    Attributes
    ----------
    cases : list of Case
        In order of first appearance in the file's disjunctive normal form; disjuncts whose input comparisons
        read the same (the same box, written the same way) are merged into one case, the same in
        :meth:`exact_cases` (two boxes that round to the same floats but differ exactly are two cases).
    n_inputs, n_outputs : int
        Number of declared ``X_i`` and ``Y_j``.
    source : str or None
        The path the property was read from.
    """

    cases: List[Case]
    n_inputs: int
    n_outputs: int
    source: Optional[str] = None
    text: Optional[str] = field(default=None, repr=False)  # the VNN-LIB text parsed (exact_cases() re-reads it)

    def exact_cases(self) -> List["ExactCase"]:
        """The cases with every constant as the exact rational the file writes.

        Returns
        -------
        list of ExactCase
            In the order of :attr:`cases`. A decimal such as ``0.6`` is ``Fraction(3, 5)`` here, where
            :attr:`cases` holds the nearest float64. A property built from arrays (no :attr:`text`) gives its
            float64 values as the exact binary fractions they are.

        Notes
        -----
        The text is parsed again with :class:`fractions.Fraction` arithmetic: the same DNF, the same merging of
        cases (conjunctions whose input comparisons read the same), so case ``i`` and term ``j`` here are case
        ``i``, term ``j`` of :attr:`cases`.

        Examples
        --------
        >>> p = loads("(declare-const X_0 Real)(declare-const Y_0 Real)(assert (<= X_0 0.6))(assert (>= X_0 -0.6))"
        ...           "(assert (>= Y_0 3.99))")
        >>> p.exact_cases()[0].box_hi, p.exact_cases()[0].terms
        ((Fraction(3, 5),), [(((-1,),), (Fraction(-399, 100),))])
        """
        if self.text is None:
            ex = lambda a: [Fraction(float(v)) for v in np.asarray(a, dtype=np.float64).reshape(-1)]  # noqa: E731
            return [ExactCase(tuple(ex(c.box_lo)), tuple(ex(c.box_hi)),
                              [([tuple(ex(row)) for row in np.atleast_2d(C)], tuple(ex(d))) for C, d in c.terms])
                    for c in self.cases]
        return _Parser(exact=True).parse(self.text, self.source)

    def is_unsafe(self, x, y, atol: float = 0.0) -> np.ndarray:
        """Which input/output pairs lie in the unsafe set.

        Parameters
        ----------
        x : array_like, shape (N, n_inputs), float64
        y : array_like, shape (N, n_outputs), float64
            Typically ``y = net(x)``.
        atol : float, optional
            Slack allowed in every inequality (box bounds and ``C y <= d``).

        Returns
        -------
        ndarray, shape (N,), bool

        Raises
        ------
        ValueError
            When the shapes do not fit.
        """
        x = np.atleast_2d(np.asarray(x, dtype=np.float64))
        y = np.atleast_2d(np.asarray(y, dtype=np.float64))
        if x.ndim != 2 or x.shape[1] != self.n_inputs:
            raise ValueError(f"x must have shape (N, {self.n_inputs}), got {x.shape}")
        if y.ndim != 2 or y.shape != (x.shape[0], self.n_outputs):
            raise ValueError(f"y must have shape ({x.shape[0]}, {self.n_outputs}), got {y.shape}")
        out = np.zeros(x.shape[0], dtype=bool)
        for case in self.cases:
            inside = np.all((x >= case.box_lo - atol) & (x <= case.box_hi + atol), axis=1)
            for C, d in case.terms:
                out |= inside & np.all(y @ C.T <= d + atol, axis=1)
        return out

    def __repr__(self) -> str:
        return (f"Property(n_inputs={self.n_inputs}, n_outputs={self.n_outputs}, cases={len(self.cases)}, "
                f"terms={sum(len(c.terms) for c in self.cases)})")


@dataclass(frozen=True, eq=False)
class ExactCase:
    """A :class:`Case` in exact rationals (:meth:`Property.exact_cases`).

    Attributes
    ----------
    box_lo, box_hi : tuple of fractions.Fraction, length n_inputs
    terms : list of (C, d)
        ``C``: tuple of rows, each a tuple of n_outputs Fractions; ``d``: tuple of Fractions; ``C y <= d``.
    """

    box_lo: Tuple[Fraction, ...]
    box_hi: Tuple[Fraction, ...]
    terms: List[Tuple[Tuple[Tuple[Fraction, ...], ...], Tuple[Fraction, ...]]] = field(default_factory=list)


# ---------------------------------------------------------------------------------------------------- S-expressions
class _Atom(str):
    """A token with the line it came from."""

    line: int

    def __new__(cls, text: str, line: int):
        obj = super().__new__(cls, text)
        obj.line = line
        return obj


class _List(list):
    """A parenthesised list with the line of its opening parenthesis."""

    def __init__(self, line: int):
        super().__init__()
        self.line = line


def _parse_sexprs(text: str) -> List[Union[_Atom, _List]]:
    """Top-level S-expressions of ``text``; ValueError with the line number on unbalanced parentheses or nesting
    deeper than :data:`MAX_DEPTH`."""
    stack: List[_List] = []
    top: List[Union[_Atom, _List]] = []
    line, pos, n = 1, 0, len(text)
    while pos < n:
        m = _TOKEN.match(text, pos)
        if m is None:  # only trailing whitespace is left
            break
        line += text.count("\n", pos, m.start(m.lastindex))
        pos = m.end()
        comment, opening, closing, atom = m.groups()
        if comment is not None:
            continue
        if opening is not None:
            if len(stack) >= MAX_DEPTH:
                raise ValueError(f"line {line}: parentheses nested deeper than {MAX_DEPTH} levels (opened on lines "
                                 f"{stack[0].line}, {stack[1].line}, ...)")
            stack.append(_List(line))
        elif closing is not None:
            if not stack:
                raise ValueError(f"line {line}: unexpected ')'")
            done = stack.pop()
            (stack[-1] if stack else top).append(done)
        else:
            if not stack:
                raise ValueError(f"line {line}: {atom!r} outside parentheses")
            stack[-1].append(_Atom(atom, line))
    if stack:
        raise ValueError(f"line {stack[-1].line}: '(' is never closed")
    return top


# ---------------------------------------------------------------------------------------------------- linear algebra
_Lin = Tuple[Dict[Tuple[str, int], float], float]  # ({(kind, index): coefficient}, constant)


def _lin_sum(args: Sequence[_Lin], sign: float) -> _Lin:
    """``args[0] + sign * (args[1] + args[2] + ...)``, accumulated in place (linear in the number of terms)."""
    coefs = dict(args[0][0])
    const = args[0][1]
    for a in args[1:]:
        for k, v in a[0].items():
            coefs[k] = coefs.get(k, 0) + sign * v
        const += sign * a[1]
    return coefs, const


def _lin_scale(a: _Lin, c: float) -> _Lin:
    return {k: c * v for k, v in a[0].items()}, c * a[1]


@dataclass
class _Comparison:
    """``expr <= 0`` (``equal=False``) or ``expr == 0`` (``equal=True``); ``strict``: written ``<`` or ``>``."""

    coefs: Dict[Tuple[str, int], float]
    const: float
    equal: bool
    line: int
    strict: bool = False
    text: str = ""  # an input comparison's source text (with its position in a chain): what fixes its box


def _text(e) -> str:
    """The source text of an S-expression, spaces normalised."""
    return "(" + " ".join(_text(a) for a in e) + ")" if isinstance(e, list) else str(e)


def _var_key(atom: "_Atom") -> Optional[Tuple[str, int]]:
    """``("X", i)`` or ``("Y", j)`` for a variable name, None for anything else; ValueError on a huge index."""
    m = _VAR.match(atom)
    if not m:
        return None
    if len(m.group(2)) > _MAX_INDEX_DIGITS:
        raise ValueError(f"line {atom.line}: the index of variable {str(atom)[:20]}... has more than "
                         f"{_MAX_INDEX_DIGITS} digits")
    return m.group(1), int(m.group(2))


def _number(atom: "_Atom") -> float:
    value = float(atom)
    if not np.isfinite(value):
        raise ValueError(f"line {atom.line}: the number {str(atom)[:30]} overflows double precision")
    return value


class _Parser:
    """``exact``: numbers as :class:`fractions.Fraction` (the decimal written), cases as :class:`ExactCase`."""

    def __init__(self, exact: bool = False):
        self.declared: Dict[Tuple[str, int], int] = {}
        self.exact = exact

    # --- expressions
    def linear(self, e) -> _Lin:
        if isinstance(e, _Atom):
            if _NUMBER.match(e):
                return {}, (Fraction(str(e)) if self.exact else _number(e))
            key = _var_key(e)
            if key is not None:
                if key not in self.declared:
                    raise ValueError(f"line {e.line}: variable {e} is used but not declared")
                return {key: 1}, 0
            raise ValueError(f"line {e.line}: expected a number or a variable X_i / Y_j, got {str(e)!r}")
        if not e:
            raise ValueError(f"line {e.line}: empty expression ()")
        op = e[0]
        if not isinstance(op, _Atom):
            raise ValueError(f"line {e.line}: expected an operator, got a list")
        args = [self.linear(a) for a in e[1:]]
        if op in ("+", "-"):
            if not args:
                raise ValueError(f"line {e.line}: '{op}' needs arguments")
            if op == "-" and len(args) == 1:
                return _lin_scale(args[0], -1)
            return _lin_sum(args, 1 if op == "+" else -1)
        if op == "*":
            if len(args) < 2:
                raise ValueError(f"line {e.line}: '*' needs at least two arguments")
            out = args[0]
            for a in args[1:]:
                if not out[0]:
                    out = _lin_scale(a, out[1])
                elif not a[0]:
                    out = _lin_scale(out, a[1])
                else:
                    raise ValueError(f"line {e.line}: product of two variables is not linear")
            return out
        raise ValueError(f"line {op.line}: unknown arithmetic operator {str(op)!r}")

    # --- boolean formulas -> DNF (list of conjunctions, each a list of comparisons)
    def dnf(self, e) -> List[List[_Comparison]]:
        if isinstance(e, _Atom):
            if e == "true":
                return [[]]
            if e == "false":
                return []
            raise ValueError(f"line {e.line}: expected a formula, got {str(e)!r}")
        if not e or not isinstance(e[0], _Atom):
            raise ValueError(f"line {e.line}: expected a formula such as (<= X_0 1.0)")
        op = e[0]
        if op in ("and", "or"):
            if len(e) < 2:
                raise ValueError(f"line {e.line}: '{op}' needs arguments")
            parts = [self.dnf(a) for a in e[1:]]
            if op == "or":
                out = [conj for p in parts for conj in p]
            else:
                out = [[]]
                for p in parts:
                    if len(out) * len(p) > MAX_DNF_TERMS:
                        raise ValueError(f"line {e.line}: the disjunctive normal form has more than "
                                         f"{MAX_DNF_TERMS} terms")
                    out = [c + q for c in out for q in p]
            if len(out) > MAX_DNF_TERMS:
                raise ValueError(f"line {e.line}: the disjunctive normal form has more than {MAX_DNF_TERMS} terms")
            return out
        if op in ("<=", ">=", "<", ">", "="):
            if len(e) < 3:
                raise ValueError(f"line {e.line}: '{op}' takes at least two arguments, got {len(e) - 1}")
            # SMT-LIB's comparisons are chainable: (<= a b c) is (and (<= a b) (<= b c)) (SMT-LIB 2.6, sec. 3.6,
            # :chainable); one conjunction of the adjacent pairs.
            terms = [self.linear(a) for a in e[1:]]
            out = []
            for pos, (lhs, rhs) in enumerate(zip(terms[:-1], terms[1:])):
                expr = _lin_sum([lhs, rhs], -1) if op in ("<=", "<", "=") else _lin_sum([rhs, lhs], -1)
                coefs = {k: v for k, v in expr[0].items() if v != 0}
                if not self.exact and not (np.isfinite(expr[1]) and all(np.isfinite(v) for v in coefs.values())):
                    raise ValueError(f"line {e.line}: a coefficient or constant of the comparison overflows double "
                                     f"precision")
                kinds = {k[0] for k in coefs}
                if len(kinds) > 1:
                    raise ValueError(f"line {e.line}: a comparison may not mix inputs X and outputs Y")
                text = f"{pos} {_text(e)}" if kinds == {"X"} else ""
                out.append(_Comparison(coefs, expr[1], op == "=", e.line, op in ("<", ">"), text))
            return [out]
        if op == "not":
            raise ValueError(f"line {e.line}: 'not' is not supported (write the negated comparison instead)")
        raise ValueError(f"line {op.line}: unknown formula operator {str(op)!r}")

    # --- file
    def parse(self, text: str, source: Optional[str]) -> Property:
        conjs, n_in, n_out, formulas = self._conjunctions(text)
        built_all = [self._case(conj, n_in, n_out, formulas[0].line) for conj in conjs]
        # Cases merge the conjunctions whose input comparisons read the same (the same texts: so the same box in
        # float64 and exactly), the same ones in both readings, so that case i, term j of exact_cases() is case i,
        # term j of cases. (Keyed by the float64 box, two boxes equal in float but not exactly, 0.1 and
        # 0.10000000000000000001, were one case but two exact ones.)
        keys = [repr(sorted({c.text for c in conj if c.text})).encode() for conj in conjs]
        cases: List[Case] = []
        index: Dict[bytes, int] = {}
        empty: List[str] = []  # why each disjunct with an empty input box is false
        for built, key in zip(built_all, keys):
            if built is None:
                continue
            if isinstance(built, str):
                empty.append(built)
                continue
            lo, hi, term = built
            if self.exact:
                if key not in index:
                    index[key] = len(cases)
                    cases.append(ExactCase(tuple(lo), tuple(hi), []))
                cases[index[key]].terms.append((tuple(tuple(r) for r in term[0]), tuple(term[1])))
                continue
            if key not in index:
                index[key] = len(cases)
                cases.append(Case(lo, hi, []))
            cases[index[key]].terms.append(term)
        if empty and not cases:  # no input at all: the property would hold vacuously, most likely a typo
            raise ValueError(f"{empty[0]}: the input box is empty, so the property would hold vacuously"
                             + (f" (and so are the other {len(empty) - 1} disjuncts' boxes)" if len(empty) > 1 else ""))
        if empty and not self.exact:  # (exact_cases re-reads the text: warned once, here)
            import warnings

            from .errors import RelutopeWarning

            warnings.warn(f"{source + ': ' if source else ''}{len(empty)} disjunct(s) of the property have an empty "
                          f"input box and are false, dropped (the input set is the union of the other "
                          f"{len(conjs) - len(empty)}): {empty[0]}", RelutopeWarning, stacklevel=3)
        if self.exact:
            return cases
        return Property(cases=cases, n_inputs=n_in, n_outputs=n_out, source=source, text=text)

    def _conjunctions(self, text: str):
        """The disjunctive normal form of the file's assertions: (conjunctions, n_in, n_out, formulas)."""
        commands = _parse_sexprs(text)
        formulas: List[_List] = []
        for cmd in commands:
            if isinstance(cmd, _Atom) or not cmd or not isinstance(cmd[0], _Atom):
                raise ValueError(f"line {cmd.line}: expected a command such as (declare-const X_0 Real)")
            name = cmd[0]
            if name == "declare-const":
                if len(cmd) != 3 or not all(isinstance(a, _Atom) for a in cmd[1:]):
                    raise ValueError(f"line {cmd.line}: expected (declare-const NAME Real)")
                key = _var_key(cmd[1])
                if key is None:
                    raise ValueError(f"line {cmd.line}: variable names must be X_i (inputs) or Y_j (outputs), "
                                     f"got {str(cmd[1])!r}")
                if cmd[2] != "Real":
                    raise ValueError(f"line {cmd.line}: variable {cmd[1]} must have sort Real, got {str(cmd[2])!r}")
                if key in self.declared:
                    raise ValueError(f"line {cmd.line}: {cmd[1]} is declared twice (first on line "
                                     f"{self.declared[key]})")
                self.declared[key] = cmd.line
            elif name == "assert":
                if len(cmd) != 2:
                    raise ValueError(f"line {cmd.line}: assert takes exactly one formula")
                formulas.append(cmd)
            elif name in _IGNORED_COMMANDS:
                continue
            else:
                raise ValueError(f"line {cmd.line}: unknown command {str(name)!r}")
        n_in = self._count("X")
        n_out = self._count("Y")
        # DNF of the conjunction of all assertions
        conjs: List[List[_Comparison]] = [[]]
        for cmd in formulas:
            d = self.dnf(cmd[1])
            if len(d) == 1:
                for c in conjs:
                    c.extend(d[0])
            else:
                if len(conjs) * len(d) > MAX_DNF_TERMS:
                    raise ValueError(f"line {cmd.line}: the disjunctive normal form has more than "
                                     f"{MAX_DNF_TERMS} terms")
                conjs = [c + q for c in conjs for q in d]
        if not formulas:
            raise ValueError("the file has no assert: it constrains neither the inputs nor the outputs")
        return conjs, n_in, n_out, formulas

    def _count(self, kind: str) -> int:
        """The number of declared variables of a kind, which must be numbered 0, 1, ... without gaps.

        Checked against the declarations only (nothing is allocated by the largest index)."""
        idx = sorted(i for k, i in self.declared if k == kind)
        if not idx:
            what = "inputs X_0, X_1, ..." if kind == "X" else "outputs Y_0, Y_1, ..."
            raise ValueError(f"no {what} are declared")
        missing = next((i for i, j in enumerate(idx) if i != j), None)
        if missing is not None:
            raise ValueError(f"line {self.declared[(kind, idx[-1])]}: {kind}_{missing} is not declared but "
                             f"{kind}_{idx[-1]} is (indices must run from 0 without gaps)")
        return len(idx)

    def _case(self, conj: Sequence[_Comparison], n_in: int, n_out: int, first_line: int):
        """(lo, hi, (C, d)) of one conjunction, None when a constant comparison is false, or a str saying which
        bounds of an input contradict each other (an empty input box: the conjunction is false too). Exact: lists
        of Fractions."""
        zero = 0 if self.exact else 0.0  # (+ 0.0 turns -0.0 into 0.0)
        lo = np.full(n_in, -np.inf, dtype=object if self.exact else np.float64)
        hi = np.full(n_in, np.inf, dtype=object if self.exact else np.float64)
        lo_line: Dict[int, int] = {}
        hi_line: Dict[int, int] = {}
        lo_strict: Dict[int, bool] = {}
        hi_strict: Dict[int, bool] = {}
        rows, rhs = [], []
        lines = [c.line for c in conj] or [first_line]
        for comp in conj:
            if not comp.coefs:  # constant comparison: const <= 0 (< 0 when strict) or const == 0
                if (comp.const != 0) if comp.equal else (comp.const >= 0 if comp.strict else comp.const > 0):
                    return None
                continue
            kind = next(iter(comp.coefs))[0]
            if kind == "X":
                if len(comp.coefs) != 1:
                    raise ValueError(f"line {comp.line}: input constraints must bound a single input (a box); "
                                     f"got a constraint on {len(comp.coefs)} inputs")
                (_, i), a = next(iter(comp.coefs.items()))
                bound = -comp.const / a + zero
                if (comp.equal or a > 0) and (bound < hi[i] or (bound == hi[i] and comp.strict)):
                    hi[i], hi_line[i], hi_strict[i] = bound, comp.line, comp.strict
                if (comp.equal or a < 0) and (bound > lo[i] or (bound == lo[i] and comp.strict)):
                    lo[i], lo_line[i], lo_strict[i] = bound, comp.line, comp.strict
            else:
                row = np.zeros(n_out, dtype=object) + zero if self.exact else np.zeros(n_out)
                for (_, j), a in comp.coefs.items():
                    row[j] = a
                rows.append(row)
                rhs.append(-comp.const + zero)
                if comp.equal:
                    rows.append(-row)
                    rhs.append(comp.const + zero)
        for i in range(n_in):
            if lo[i] == -np.inf or hi[i] == np.inf:
                side = "lower" if not np.isfinite(lo[i]) else "upper"
                raise ValueError(f"line {min(lines)}: input X_{i} has no {side} bound in the disjunct starting "
                                 f"here (every input needs finite bounds)")
        # a strict bound where lo == hi leaves no input at all (not a set of measure zero less)
        bad = np.flatnonzero(np.asarray(lo > hi, dtype=bool)
                             | (np.asarray(lo == hi, dtype=bool)
                                & np.array([lo_strict.get(i, False) or hi_strict.get(i, False) for i in range(n_in)],
                                           dtype=bool).reshape(n_in)))
        if bad.size:
            i = int(bad[0])
            where, strict = ("above", "") if lo[i] > hi[i] else ("equal to", ", one of them strict")
            return (f"line {max(lo_line[i], hi_line[i])}: input X_{i} has the lower bound {float(lo[i])!r} (line "
                    f"{lo_line[i]}) {where} the upper bound {float(hi[i])!r} (line {hi_line[i]}){strict}")
        if self.exact:
            return list(lo), list(hi), ([list(r) for r in rows], list(rhs))
        C = np.array(rows, dtype=np.float64).reshape(len(rows), n_out)
        d = np.array(rhs, dtype=np.float64)
        return lo, hi, (C, d)


# ---------------------------------------------------------------------------------------------------- public API
def loads(text: str, source: Optional[str] = None) -> Property:
    """Parse the text of a VNN-LIB 1.0 property.

    Parameters
    ----------
    text : str
        The file contents.
    source : str, optional
        Where the text came from (kept in :attr:`Property.source` and used in error messages).

    Returns
    -------
    Property

    Raises
    ------
    TypeError
        ``text`` is not a string.
    ValueError
        Malformed or unsupported content (including nesting deeper than :data:`MAX_DEPTH`, every input box empty, a
        gap in the declared indices, a number that overflows); the message starts with ``line N:`` where a line
        is to blame. These two are the only exceptions any text can raise.

    Examples
    --------
    >>> p = loads("(declare-const X_0 Real)(declare-const Y_0 Real)(declare-const Y_1 Real)"
    ...           "(assert (<= X_0 1))(assert (>= X_0 -1))(assert (<= Y_0 Y_1))")
    >>> p.cases[0].box_lo, p.cases[0].terms[0][0]
    (array([-1.]), array([[ 1., -1.]]))
    """
    if not isinstance(text, str):
        raise TypeError(f"text must be a str, got {type(text).__name__}")
    try:
        return _Parser().parse(text, source)
    except ValueError as exc:
        if source is None:
            raise
        raise ValueError(f"{source}: {exc}") from None


def load(path: Union[str, "os.PathLike[str]"]) -> Property:
    """Read a VNN-LIB 1.0 property file (``.vnnlib``, or gzip-compressed ``.vnnlib.gz``).

    Parameters
    ----------
    path : str or os.PathLike

    Returns
    -------
    Property
        ``cases``: a list of :class:`Case` (input box ``box_lo``/``box_hi`` of shape (n_inputs,) and output terms
        ``(C, d)`` meaning ``C y <= d``); the property is violated iff some input in some case's box has an output
        satisfying some of the case's terms. Also ``n_inputs`` and ``n_outputs``.

    Raises
    ------
    OSError
        The file cannot be opened (e.g. ``FileNotFoundError``).
    ValueError
        Malformed or unsupported content (the message names the file and the line, see :func:`loads`), a file
        that is not UTF-8, or a ``.gz`` file that is not valid gzip.

    Notes
    -----
    See the module docstring for the accepted syntax. Example (ACAS Xu property 2 of VNN-COMP 2021): one case, the
    box ``[0.6, 0.679857769] x [-0.5, 0.5] x ...``, one term with the four rows of ``Y_j - Y_0 <= 0``,
    ``j = 1..4``.
    """
    path = os.fspath(path)
    if str(path).endswith(".gz"):
        with open(path, "rb") as fh:  # opening errors (a missing file) stay OSErrors
            try:
                raw = gzip.GzipFile(fileobj=fh).read()
            except (OSError, EOFError, zlib.error) as exc:
                raise ValueError(f"{path}: not a valid gzip file ({type(exc).__name__}: {exc})") from None
    else:
        with open(path, "rb") as fh:
            raw = fh.read()
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(f"{path}: not a UTF-8 text file ({exc})") from None
    return loads(text, source=str(path))
