"""The documents say what the code does: their Python snippets run as written."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
SNIPPETS = ("docs/your-data.md", "docs/features.md")


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    """A folder named as the documents name it: `my-export`, a small simulated network
    (26 months, enough for 2026-01-01 to be a cutoff)."""
    from features.simulator import simulate
    from features.simulator.settings import SimulatorSettings

    root = tmp_path_factory.mktemp("docs")
    simulate(root / "my-export", SimulatorSettings(dealers=30, months=26, start="2024-01",
                                                   seed=2, format="csv"))
    return root


@pytest.mark.parametrize("doc", SNIPPETS)
def test_python_snippets_run_as_written(doc, export, monkeypatch):
    blocks = re.findall(r"```python\n(.*?)```", (ROOT / doc).read_text(encoding="utf-8"),
                        flags=re.S)
    assert blocks, f"{doc} has no Python snippet"
    monkeypatch.chdir(export)
    for block in blocks:
        namespace: dict = {}
        exec(compile(block, doc, "exec"), namespace)  # noqa: S102  (our own document)
        assert len(namespace["panel"]) > 0
