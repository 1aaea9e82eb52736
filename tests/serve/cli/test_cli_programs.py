"""`dealer-risk programs train` through the real console entry point: effect models fitted
from a simulated programs table, judged on the pilots, registered in MLflow."""

from __future__ import annotations

import json
import shutil

import mlflow
import pytest

from tests.serve.cli.test_cli_models import run

SETTINGS = """
[models.effects]
min_treated = 8
nuisance_trees = 20
folds = 2
test_months = 6
bootstrap = 20
"""


@pytest.fixture(scope="module")
def project(tmp_path_factory):
    root = tmp_path_factory.mktemp("cli-programs")
    (root / "dealer-risk.toml").write_text(SETTINGS, encoding="utf-8")
    made = run(["simulate", "net", "--dealers", "300", "--months", "33", "--seed", "5"], root)
    assert made.returncode == 0, made.stderr
    return root


def test_programs_train_registers_an_effect_model_with_the_gate_s_verdict(project):
    done = run(["programs", "train", "net", "--json"], project)
    assert done.returncode == 0, done.stderr
    out = json.loads(done.stdout.strip().splitlines()[-1])  # the last line, as `train`
    assert out["version"] == "1"
    assert out["reasons"], "the gate always says why"
    modelled = [p for p in out["programs"] if p["modelled"]]
    assert modelled, out["programs"]
    for p in modelled:
        assert p["low"] <= p["effect"] <= p["high"]
        assert p["given"] == p["pilots"] + p["managers"]
    # what the pilots can show at all, beside each estimate
    shown = [p["detectable"] for p in out["programs"] if p["detectable"] is not None]
    assert shown and all(0 < d < 1 for d in shown), out["programs"]
    # an explicit client: the process-wide MLflow URIs belong to other tests
    uri = out["tracking_uri"]
    client = mlflow.MlflowClient(tracking_uri=uri, registry_uri=uri)
    mv = client.get_model_version("dealer-risk-effects", "1")
    alias = "champion" if out["promoted"] else "challenger"
    assert alias in mv.aliases
    assert mv.tags["gate"] == ("promoted" if out["promoted"] else "refused")
    assert mv.tags["gate_reasons"] == "; ".join(out["reasons"])


def test_programs_train_prints_a_table_for_people(project):
    done = run(["programs", "train", "net"], project)
    assert done.returncode == 0, done.stderr
    assert "v2:" in done.stdout and "Qini" in done.stdout
    assert "pilots detect" in done.stdout and " pts" in done.stdout


def test_programs_train_without_a_programs_table_says_so(project):
    bare = project / "bare"
    shutil.copytree(project / "net", bare, ignore=shutil.ignore_patterns("programs.*"))
    done = run(["programs", "train", "bare"], project)
    assert done.returncode == 2
    assert "no programs table" in done.stderr + done.stdout
