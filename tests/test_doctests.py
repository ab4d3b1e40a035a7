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
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_some_examples_exist():
    finder = doctest.DocTestFinder()
    found = sum(len(t.examples) for n in MODULES for t in finder.find(importlib.import_module(n)))
    assert found >= 5 * len(MODULES) // 2
