"""Run the Examples sections of the public docstrings (of the installed package)."""
import doctest
import importlib
import pkgutil

import pytest

import relutope

# Every public module of the package, found by walking it (no list to keep up to date by hand).
MODULES = sorted(m.name for m in pkgutil.walk_packages(relutope.__path__, "relutope.")
                 if not any(part.startswith("_") for part in m.name.split(".")[1:]))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    if name == "relutope.plot":
        pytest.importorskip("matplotlib")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_some_examples_exist():
    found = sum(doctest.testmod(importlib.import_module(n)).attempted for n in MODULES if n != "relutope.plot")
    assert found >= 5
