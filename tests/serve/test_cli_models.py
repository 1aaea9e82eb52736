"""train, backtest and promote through the real console entry point, on a small network."""

from __future__ import annotations

import json
import subprocess

import pytest

from tests.serve.test_cli import CLI, _env

SMALL_MODELS = """
[models.booster]
n_estimators = 60
early_stopping_rounds = 15
min_child_samples = 20

[models.backtest]
origins = 2
gate_origins = 2

[models.gate]
max_ece = 0.15
coverage_tolerance = 0.5
"""


def run(args: list[str], cwd) -> subprocess.CompletedProcess:
    return subprocess.run([*CLI, *args], capture_output=True, text=True, cwd=cwd, env=_env())


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-models")
    (root / "dealer-risk.toml").write_text(SMALL_MODELS, encoding="utf-8")
    made = run(["simulate", "net", "--dealers", "300", "--months", "30", "--seed", "3"], root)
    assert made.returncode == 0, made.stderr
    return root


def test_train_registers_and_reports_json(project):
    result = run(["train", "net", "--as-of", "2024-07-01", "--json"], project)
    assert result.returncode == 0, result.stderr
    assert "Traceback" not in result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["versions"] == {"churn": "1", "decline": "1", "forecast": "1"}
    assert set(out["promoted"]) == {"churn", "decline", "forecast"}
    assert out["tracking_uri"].startswith("sqlite:///") and out["run_id"]
    assert (project / ".dealer-risk" / "mlflow.db").is_file()
    assert (project / ".dealer-risk" / "mlartifacts").is_dir()


def test_score_writes_a_snapshot_and_exports_rows(project):
    import pandas as pd

    result = run(["score", "net", "--out", "scores.csv"], project)
    assert result.returncode == 0, result.stderr
    assert "Top 10 by revenue at risk" in result.stdout
    folder = project / ".dealer-risk" / "snapshots"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2024-07-01.json", "2024-07-01.parquet", "2024-07-01.population.parquet"]
    snapshots = [folder / "2024-07-01.parquet"]
    rows = pd.read_csv(project / "scores.csv", encoding="utf-8-sig")
    assert {"dealer_id", "churn_probability", "band", "top_reason_zh"} <= set(rows.columns)
    assert len(rows) == len(pd.read_parquet(snapshots[0]))
    earlier = run(["score", "net", "--as-of", "2024-05-20"], project)
    assert earlier.returncode == 0, earlier.stderr
    assert "as of 2024-05-01" in earlier.stdout
    bad = run(["score", "net", "--out", "scores.xlsx"], project)
    assert bad.returncode == 2 and "--out must end in .csv or .parquet" in bad.stderr


def test_backtest_writes_the_table_and_the_model_card(project):
    result = run(["backtest", "net", "--as-of", "2024-07-01", "--card", "card.md"], project)
    assert result.returncode == 0, result.stderr
    assert "Backtest over 2 origins" in result.stdout
    assert "Explanations naming the true cause" in result.stdout
    card = (project / "card.md").read_text(encoding="utf-8")
    assert card.startswith("# Model card") and "| churn | logistic |" in card
    assert (project / ".dealer-risk" / "backtest.csv").is_file()


def test_promote_by_hand_and_its_errors(project):
    ok = run(["promote", "churn", "1", "--reason", "checked by hand"], project)
    assert ok.returncode == 0, ok.stderr
    assert "dealer-risk-churn version 1 is now champion" in ok.stdout
    missing = run(["promote", "churn", "7", "--reason", "typo"], project)
    assert missing.returncode == 2
    assert missing.stderr.startswith("error: dealer-risk-churn has no version 7")
    wrong = run(["promote", "profit", "1", "--reason", "x"], project)
    assert wrong.returncode == 2 and "model must be churn, decline or forecast" in wrong.stderr


def test_scoring_without_a_champion_is_a_clear_error(tmp_path):
    made = run(["simulate", "net", "--dealers", "40", "--months", "15"], tmp_path)
    assert made.returncode == 0, made.stderr
    result = run(["score", "net"], tmp_path)
    assert result.returncode == 2
    assert "no 'champion' version of dealer-risk-churn" in result.stderr
    assert "run `dealer-risk train` first" in result.stderr


def test_too_short_a_history_is_a_clear_error(project):
    made = run(["simulate", "short", "--dealers", "60", "--months", "12"], project)
    assert made.returncode == 0, made.stderr
    result = run(["train", "short", "--as-of", "2023-01-01"], project)
    assert result.returncode == 2
    assert "Traceback" not in result.stderr
    assert "labelled cutoffs before the origin, need at least" in result.stderr
