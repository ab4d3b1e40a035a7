"""Shared pytest configuration: make the test helpers (tests/oracle.py, bench/baseline.py) importable.

pytest runs with ``--import-mode=importlib``, which does not put the test directory on ``sys.path``; the helper
modules are plain modules next to the tests, so every test file can ``import oracle`` once this has run.
"""
import sys
from pathlib import Path

_ROOT = Path(__file__).resolve().parents[1]
for _p in (_ROOT / "tests", _ROOT / "bench"):
    if str(_p) not in sys.path:
        sys.path.insert(0, str(_p))
