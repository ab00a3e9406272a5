"""The examples of bindings/python/README.md (the package's readme) run
against the installed package: every ```python block, in order, in one
namespace, so the README cannot go stale."""

import contextlib
import io
import os
import re
from pathlib import Path

README = Path(__file__).parents[1] / "README.md"


def python_blocks() -> list:
    return re.findall(r"^```python\n(.*?)^```$", README.read_text(encoding="utf-8"), flags=re.S | re.M)


def test_the_readme_has_an_example_per_section():
    text = README.read_text(encoding="utf-8")
    for section in ("## Install", "## Errors", "## Frames", "## Calls", "## Policy", "## Meetings"):
        assert section in text, section
    assert len(python_blocks()) >= 6


def test_the_readme_examples_run():
    namespace = {"__name__": "readme"}
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        for number, block in enumerate(python_blocks(), 1):
            exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    # The first block prints the version: the workspace's.
    assert out.getvalue().split() == [os.environ["CALLSEAL_VERSION"]]
