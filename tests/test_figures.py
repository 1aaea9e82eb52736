"""Figures with one source: the current-figures tables of benchmarks/RESULTS.md.

README and the documents quote a figure as a link to its row
(`[0.931](benchmarks/RESULTS.md#churn-backtest)`): the link's text must be in the row. The
model card's tables are written by the benchmarks themselves: the rows taken from them must
say what the card says. A figure updated in one place and not the other fails here.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).parents[1]
RESULTS = ROOT / "benchmarks" / "RESULTS.md"
CARD = ROOT / "docs" / "model-card.md"
QUOTING = ("README.md", "docs/*.md", "docs/zh/*.md", "notebooks/README.md",
           "serve/dashboard/guides/*.md")
NUMBER = re.compile(r"-?\d[\d,]*(?:\.\d+)?%?")

CARD_ROWS = {
    # row key: (cells that pick the card's rows, column for a min-max range or None)
    "churn-backtest": (("churn", "model"), None),
    "churn-logistic": (("churn", "logistic"), None),
    "churn-baseline": (("churn", "rhythm"), None),
    "decline-backtest": (("decline", "model"), None),
    "forecast-backtest": (("forecast", "model"), None),
    "forecast-baseline": (("forecast", "seasonal_naive"), None),
    "forecast-coverage": (("forecast", "model"), None),
    "reasons-cause": (("all (not sudden)",), None),
    "cdnow": (("ours",), None),
    "cdnow-spend": (("ours expected",), None),
    "worlds-auc": ((), "ratio (95%)"),
    "worlds-calibration": ((), "worst origin gap (oracle's)"),
    "worlds-reasons": ((), "true cause in top 3 (naive)"),
}
"""Rows of RESULTS that come from the model card, and where the card has them."""


def cells(line: str) -> list[str]:
    return [c.strip() for c in line.strip().strip("|").split("|")]


def results_rows() -> dict[str, dict[str, str]]:
    """Key -> the row's cells by column name, from every table of RESULTS."""
    rows: dict[str, dict[str, str]] = {}
    header: list[str] | None = None
    for line in RESULTS.read_text(encoding="utf-8").splitlines():
        if not line.startswith("|"):
            header = None
            continue
        if header is None:
            header = cells(line)
            continue
        found = re.search(r'<a id="([a-z0-9-]+)"></a>', line)
        if found:
            assert found.group(1) not in rows, f"row {found.group(1)} twice"
            rows[found.group(1)] = dict(zip(header, cells(line), strict=True))
    return rows


def number(text: str) -> float:
    value = float(text.rstrip("%").replace(",", ""))
    return value / 100 if text.endswith("%") else value


def numbers(text: str) -> list[float]:
    return [number(n) for n in NUMBER.findall(text)]


def card_tables() -> list[list[list[str]]]:
    """Every Markdown table of the model card, as rows of cells (header first)."""
    tables, current = [], []
    for line in CARD.read_text(encoding="utf-8").splitlines():
        if line.startswith("|") and not line.startswith("|---"):
            current.append(cells(line))
        elif not line.startswith("|---") and current:
            tables.append(current)
            current = []
    return tables + ([current] if current else [])


def test_every_row_has_its_value_baseline_command_date_and_commit():
    rows = results_rows()
    assert len(rows) >= 20
    for key, row in rows.items():
        assert row["value"], key
        assert row["command"] and row["date"] and row["commit"], key
        assert re.fullmatch(r"\d{4}-\d{2}-\d{2}", row["date"]), (key, row["date"])
        assert re.fullmatch(r"[0-9a-f]{7,40}", row["commit"]), (key, row["commit"])


def test_the_commits_exist():
    if not (ROOT / ".git").exists():
        pytest.skip("not a git checkout")
    for key, row in results_rows().items():
        found = subprocess.run(["git", "-C", str(ROOT), "cat-file", "-e",
                                f"{row['commit']}^{{commit}}"], capture_output=True)
        assert found.returncode == 0, (key, row["commit"])


def quotes() -> list[tuple[str, str, str]]:
    """(file, link text, row key) of every link to a RESULTS row."""
    out = []
    for pattern in QUOTING:
        for path in sorted(ROOT.glob(pattern)):
            text = path.read_text(encoding="utf-8")
            for shown, key in re.findall(r"\[([^\]]+)\]\([^)]*RESULTS\.md#([a-z0-9-]+)\)",
                                         text):
                out.append((str(path.relative_to(ROOT)), shown, key))
    return out


def test_every_quoted_figure_is_its_rows():
    rows = results_rows()
    found = quotes()
    assert any(f == "README.md" for f, _, _ in found), "README quotes no figure"
    for path, shown, key in found:
        assert key in rows, f"{path}: no row '{key}' in RESULTS"
        row = rows[key]
        if shown == key:  # a reference to the row by its name, not a figure
            continue
        assert shown in row["value"] or shown in row["baseline"], \
            f"{path}: '{shown}' is not what RESULTS#{key} says ({row['value']})"


def test_a_figure_quoted_wrong_is_caught(tmp_path, monkeypatch):
    """The check above can fail: a README quoting an old figure."""
    (tmp_path / "README.md").write_text("[0.999](benchmarks/RESULTS.md#churn-backtest)")
    monkeypatch.setattr(sys.modules[__name__], "ROOT", tmp_path)
    monkeypatch.setattr(sys.modules[__name__], "QUOTING", ("README.md",))
    with pytest.raises(AssertionError, match="'0.999' is not what RESULTS#churn-backtest"):
        test_every_quoted_figure_is_its_rows()


def card_rows(picks: tuple[str, ...]) -> list[list[str]]:
    return [row for table in card_tables() for row in table[1:]
            if all(p in row for p in picks)]


def card_column(name: str) -> list[float]:
    """The first number of every cell in the card's table having this column."""
    for table in card_tables():
        if name in table[0]:
            at = table[0].index(name)
            return [numbers(row[at])[0] for row in table[1:]]
    raise AssertionError(f"no table with a column '{name}' in the model card")


@pytest.mark.parametrize("key", sorted(CARD_ROWS))
def test_rows_taken_from_the_model_card_say_what_it_says(key):
    row = results_rows()[key]
    picks, column = CARD_ROWS[key]
    if column is not None:  # a range over the worlds: "lowest-highest"
        values = card_column(column)
        low, high = numbers(row["value"].replace("-", " "))[:2]
        assert (low, high) == pytest.approx((min(values), max(values)), abs=5e-4), key
        return
    rows = card_rows(picks)
    assert rows, f"{key}: no row with {picks} in the model card"
    in_card = {round(number(n), 4) for r in rows for cell in r for n in NUMBER.findall(cell)}
    for value in numbers(row["value"]):
        assert round(value, 4) in in_card, f"{key}: {value} is not in the card's {picks} rows"
