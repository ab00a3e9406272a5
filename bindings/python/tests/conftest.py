"""Shared helpers of the Python suite.

The suite imports the package ``callseal``: the wheel installed in a fresh
venv (scripts/test-mobile), or, for the tests marked ``conformance``, the
module generated from the conformance build, put first on PYTHONPATH. It
reads the conformance files from CALLSEAL_CONFORMANCE.

Tests marked ``conformance`` need the conformance build of the library
(Cargo feature ``conformance``: the fixed-randomness functions);
scripts/test-mobile runs them against it (``-m conformance``) and every
other test against the shipping library (``-m "not conformance"``).
"""

import json
import os
from pathlib import Path

import pytest

import callseal


def pytest_configure(config):
    config.addinivalue_line("markers", "conformance: needs the conformance build of the library")


def load_cases(name: str, version: int = 1) -> list:
    """The cases of one conformance file, after checking its version."""
    folder = Path(os.environ.get("CALLSEAL_CONFORMANCE", Path(__file__).parents[3] / "tests" / "conformance"))
    data = json.loads((folder / name).read_text(encoding="utf-8"))
    assert data["version"] == version, name
    assert data["cases"], name
    return data["cases"]


def unhex(text: str) -> bytes:
    return bytes.fromhex(text)


@pytest.fixture
def key() -> bytes:
    return bytes([0x42] * 16)
