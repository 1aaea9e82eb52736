"""`monitor` judges past survival curves beside the classifiers' scores, once the data
settles them, and the dashboard names them in the reader's words."""

from __future__ import annotations

from dataclasses import replace

import pandas as pd

from models.survival import fit_survival
from serve.batch.champions import load_champions
from serve.batch.monitor import monitor
from serve.batch.scoring import score_batch
from serve.batch.snapshots import write_snapshot
from serve.dashboard.i18n import model_name
from tests.serve.conftest import network, served  # noqa: F401  (fixtures)


def test_past_survival_curves_are_judged_at_each_settled_report_month(network, served,  # noqa: F811
                                                                      tmp_path):
    settings, _, _ = served
    newest = network.panel["cutoff"].max()
    survival = fit_survival(network.panel, newest, settings.models, network.labels)
    champions = replace(load_champions(settings), survival=survival)
    work = tmp_path / "work"
    mine = settings.model_copy(update={"work_dir": work})
    # 13 months before the data's end: 13 - 9 (the silence confirming a loss) + 1 = 5 months
    # settled, so the 3-month chance is judged and the 6- and 12-month ones are not yet
    old = newest - pd.DateOffset(months=13)
    batch = score_batch(network.loaded.tables, champions, old, mine)
    write_snapshot(batch.snapshot, work, f"{old:%Y-%m-%d}")
    report = monitor(network.panel, champions, mine)
    survival_rows = [r for r in report["matured"] if r["model"].startswith("survival_")]
    overall = [r for r in survival_rows if r["segment"] == "all"]
    assert [(r["model"], r["as_of"]) for r in overall] == [("survival_3m", f"{old:%Y-%m-%d}")]
    row = overall[0]
    scored = batch.snapshot["survival_curve"].map(lambda c: c != "[]").sum()
    assert 0 < row["rows"] <= scored
    assert 0 < row["predicted_rate"] < 1 and 0 <= row["realized_rate"] < 1
    assert row["in_sample"] is True  # the curves' model learned from that month
    assert {r["segment"] for r in survival_rows} > {"all"}  # by region, tier, ...
    assert all(not d.startswith("survival_") for d in report["calibration_drifting"])
    assert report["survival_drifting"] == (
        [f"survival_3m {old:%Y-%m-%d}"] if row["calibration"] == "drifting" else [])


def test_the_survival_months_are_named_in_both_languages():
    assert model_name("survival_3m", "en") == "Gone within 3 months (survival curves)"
    assert model_name("survival_12m", "zh") == "12 个月内离开（生存曲线）"
    assert model_name("churn", "zh") == "流失"
