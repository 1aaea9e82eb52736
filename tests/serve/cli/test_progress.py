"""Progress off a terminal: one line per stage, with its count and the time so far."""

from __future__ import annotations

import io
import re

from rich.console import Console

from serve.cli.progress import StageProgress


def test_one_line_per_stage_when_not_a_terminal():
    out = io.StringIO()
    with StageProgress(Console(file=out, force_terminal=False, width=200)) as bar:
        task = bar.add_task("training", total=None)
        for i, step in enumerate(["gate backtest origin 2024-01: churn",
                                  "gate backtest origin 2024-01: churn",  # same stage
                                  "gate backtest origin 2024-04: churn"]):
            bar.update(task, description=step, completed=i, total=3)
        scoring = bar.add_task("scoring", total=2)
        bar.advance(scoring)
        bar.advance(scoring)
    lines = out.getvalue().splitlines()
    assert all(re.match(r"^\[ *\d+s\] ", line) for line in lines), lines
    assert [re.sub(r"^\[ *\d+s\] ", "", line) for line in lines] == [
        "gate backtest origin 2024-01: churn (0/3)",
        "gate backtest origin 2024-04: churn (2/3)",
        "scoring (1/2)", "scoring (2/2)",
        "gate backtest origin 2024-04: churn (2/3) done", "scoring (2/2) done"]


def test_a_terminal_gets_the_bar_and_no_lines():
    out = io.StringIO()
    with StageProgress(Console(file=out, force_terminal=True, width=100)) as bar:
        assert bar.bar is not None
        task = bar.add_task("scoring", total=1)
        bar.advance(task)
    assert "done" not in out.getvalue()
