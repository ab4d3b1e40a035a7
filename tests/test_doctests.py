"""Run the Examples sections of the public docstrings (of the installed package)."""
import doctest
import importlib

import pytest

MODULES = ["relutope.network", "relutope.domains", "relutope.enumerate", "relutope.partition", "relutope.sampling",
           "relutope.vnnlib", "relutope.verify", "relutope.plot", "relutope.geometry", "relutope.graph",
           "relutope.compare", "relutope.topology"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "relutope.plot":
        pytest.importorskip("matplotlib")
    if name in ("relutope.plot", "relutope.topology"):
        pytest.importorskip("gudhi")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_some_examples_exist():
    found = sum(doctest.testmod(importlib.import_module(n)).attempted for n in MODULES if n != "relutope.plot")
    assert found >= 5
