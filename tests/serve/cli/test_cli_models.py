"""train, backtest and promote through the real console entry point, on a small network."""

from __future__ import annotations

import json
import re
import subprocess

import pytest

from tests.cli import cli_env, run_cli

SMALL_BOOSTER = """
[models.booster]
n_estimators = 60
early_stopping_rounds = 15
min_child_samples = 20

[models.backtest]
origins = 2
gate_origins = 2
"""
SMALL_MODELS = SMALL_BOOSTER + """
[models.gate]
max_ece = 0.15
coverage_tolerance = 0.5
"""


def run(args: list[str], cwd) -> subprocess.CompletedProcess:
    return run_cli(args, cwd)


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
    # off a terminal, one line per stage on stderr: a run of minutes never looks stuck
    stages = [line for line in result.stderr.splitlines() if re.match(r"\[ *\d+s\] ", line)]
    assert any("gate backtest" in line for line in stages), result.stderr
    assert any("final model" in line for line in stages), result.stderr
    assert len(stages) == len(set(stages))


def test_score_writes_a_snapshot_and_exports_rows(project):
    import pandas as pd

    result = run(["score", "net", "--out", "scores.csv"], project)
    assert result.returncode == 0, result.stderr
    assert "Top 10 by revenue at risk" in result.stdout
    folder = project / ".dealer-risk" / "snapshots"
    assert sorted(p.name for p in folder.iterdir()) == [
        "2024-07-01.calibration.json", "2024-07-01.json", "2024-07-01.parquet",
        "2024-07-01.population.parquet", "2024-07-01.reps.parquet",
        "2024-07-01.roster.parquet", "2024-07-01.support.parquet"]
    check = json.loads((folder / "2024-07-01.calibration.json").read_text())
    assert set(check) == {"churn", "decline"}
    # the newest months whose 90-day window ended by the as-of date
    assert check["churn"]["months"] == ["2024-02-01", "2024-03-01", "2024-04-01"]
    assert f"churn calibration on {check['churn']['months'][0]}" in " ".join(
        result.stdout.split())
    snapshots = [folder / "2024-07-01.parquet"]
    rows = pd.read_csv(project / "scores.csv", encoding="utf-8-sig")
    assert {"dealer_id", "churn_probability", "band", "top_reason_zh"} <= set(rows.columns)
    assert len(rows) == len(pd.read_parquet(snapshots[0]))
    # every dealer opened by the cutoff is on the roster; the scored ones are active
    roster = pd.read_parquet(folder / "2024-07-01.roster.parquet")
    assert set(roster.loc[roster["status"] == "active", "dealer_id"]) == set(rows["dealer_id"])
    assert set(roster["status"]) <= {"active", "closed", "inactive"}
    earlier = run(["score", "net", "--as-of", "2024-05-20"], project)
    assert earlier.returncode == 0, earlier.stderr
    assert "as of 2024-05-01" in earlier.stdout
    bad = run(["score", "net", "--out", "scores.xlsx"], project)
    assert bad.returncode == 2 and "--out must end in .csv or .parquet" in bad.stderr
    reps = pd.read_parquet(folder / "2024-07-01.reps.parquet")
    assert reps.loc[reps["quarter"] == 0, "dealer_id"].tolist() == pd.read_parquet(
        snapshots[0])["dealer_id"].tolist()
    assert reps.loc[reps["quarter"] == 1, "expected"].isna().all()  # no 2024-04-01 yet
    # scored oldest first, the newest scorecard reads the snapshot of its quarter's start
    history = run(["score", "net", "--history", "4"], project)
    assert history.returncode == 0, history.stderr
    reps = pd.read_parquet(folder / "2024-07-01.reps.parquet")
    quarter = reps[reps["quarter"] == 1]
    assert len(quarter) and quarter["expected"].notna().all()
    assert quarter["start"].eq("2024-04-01").all()


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


def _client(project):
    from mlflow import MlflowClient
    return MlflowClient(tracking_uri=f"sqlite:///{project / '.dealer-risk' / 'mlflow.db'}")


def _artifact(project, run_id: str, name: str) -> str:
    import mlflow
    mlflow.set_tracking_uri(f"sqlite:///{project / '.dealer-risk' / 'mlflow.db'}")
    path = mlflow.artifacts.download_artifacts(run_id=run_id, artifact_path=name)
    return open(path, encoding="utf-8").read()


def test_retrain_promotes_or_keeps_rescores_and_logs_no_secrets(project):
    env = cli_env(DEALER_RISK_API_KEYS='{"very-secret-key-1": "reader"}')
    result = run_cli(["retrain", "net", "--json"], project, env)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["outcome"] in ("promoted", "kept")
    assert (out["outcome"] == "promoted") == bool(out["promoted"])
    assert set(out["reasons"]) == {"churn", "decline", "forecast"} - set(out["promoted"])
    # too short a history for the leave and survival models
    assert set(out["skipped"]) == {"leave", "survival"}
    assert (project / ".dealer-risk" / "snapshots" / f"{out['snapshot']}.parquet").is_file()
    run = _client(project).get_run(out["run_id"])
    assert "very-secret-key-1" not in json.dumps(run.data.params)
    assert "very-secret-key-1" not in _artifact(project, out["run_id"], "settings.json")
    (project / "retrain.json").write_text(result.stdout.strip().splitlines()[-1])


def test_train_from_run_repeats_it(project):
    first = json.loads((project / "retrain.json").read_text())["run_id"]
    again = run(["train", "--from-run", first, "--json"], project)
    assert again.returncode == 0, again.stderr
    second = json.loads(again.stdout.strip().splitlines()[-1])["run_id"]
    assert second != first
    for name in ("gate_backtest.csv", "data_fingerprint.json"):
        assert _artifact(project, second, name) == _artifact(project, first, name), name
    from serve.batch.reproduce import LOCAL_SECTIONS
    settings = [json.loads(_artifact(project, r, "settings.json")) for r in (first, second)]
    for s in settings:  # this machine's parts: the first run had API keys configured
        for key in LOCAL_SECTIONS:
            s.pop(key)
    assert settings[0] == settings[1]


def test_from_run_refuses_other_data_and_unknown_runs(project):
    import shutil
    first = json.loads((project / "retrain.json").read_text())["run_id"]
    shutil.copytree(project / "net", project / "net-changed")
    dealers = project / "net-changed" / "dealers.parquet"
    import pandas as pd
    frame = pd.read_parquet(dealers)
    frame.loc[0, "name"] = "renamed"
    frame.to_parquet(dealers)
    changed = run(["train", "net-changed", "--from-run", first], project)
    assert changed.returncode == 2
    assert f"the data changed since run {first}" in changed.stderr
    unknown = run(["train", "--from-run", "0" * 32], project)
    assert unknown.returncode == 2 and "no MLflow run" in unknown.stderr


def test_retrain_is_exclusive_and_bad_data_changes_nothing(project):
    import fcntl
    folder = project / ".dealer-risk" / "snapshots"
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}
    with open(project / ".dealer-risk" / "retrain.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
        busy = run(["retrain", "net"], project)
    assert busy.returncode == 75 and "another retrain is running" in busy.stderr
    (project / "broken").mkdir()
    broken = run(["retrain", "broken"], project)
    assert broken.returncode == 2 and "Traceback" not in broken.stderr
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before


def test_monitor_reports_drift_and_matured_scores_and_logs_them(project):
    # an older snapshot whose churn horizon has passed by the data's end
    older = run(["score", "net", "--as-of", "2024-02-01"], project)
    assert older.returncode == 0, older.stderr
    result = run(["monitor", "net", "--json"], project)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout.strip().splitlines()[-1])
    assert {r["column"] for r in report["scores"]} == {"churn_probability",
                                                       "decline_probability"}
    assert report["features"] and all(r["psi"] >= 0 for r in report["features"]
                                      if r["psi"] == r["psi"])
    assert not any(r["column"].startswith("season_") for r in report["features"])
    matured = {(r["as_of"], r["model"]) for r in report["matured"] if r["segment"] == "all"}
    assert ("2024-02-01", "churn") in matured
    assert ("2024-07-01", "churn") not in matured  # its horizon has not passed
    for r in report["matured"]:
        gap = r["predicted_rate"] / r["realized_rate"] - 1 if r["realized_rate"] else None
        if gap is not None:
            assert r["calibration_gap"] == pytest.approx(gap)
            assert r["calibration"] == ("drifting" if abs(gap) > 0.15 else "ok")
    assert report["calibration_drifting"] == sorted(
        {f"{r['model']} {r['as_of']}" for r in report["matured"]
         if r["segment"] == "all" and r["calibration"] == "drifting"})
    latest = json.loads((project / ".dealer-risk" / "monitor" / "latest.json").read_text())
    assert latest["run_id"] == report["run_id"]
    run_ = _client(project).get_run(report["run_id"])
    assert run_.data.tags["dealer_risk.command"] == "monitor"
    assert "psi.churn_probability" in run_.data.metrics
    # as cron runs it: into a file, no COLUMNS, so the tables are not cut to 80 columns
    piped = {k: v for k, v in cli_env().items() if k != "COLUMNS"}
    strict = run_cli(["monitor", "net", "--strict"], project, env=piped)
    assert strict.returncode == (4 if report["shifted"] else 0), strict.stderr
    assert re.search(r"│ 2024-02-01( \*)? *│ churn", strict.stdout), strict.stdout
