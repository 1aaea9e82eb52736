"""The effect models' run: decision rows, a fit held out in time, the gate on the
randomized rows, the final fit, and its registration in MLflow.

The gate asks what the churn models' gate asks of a forecast: does it beat what a team
would do without it? Out of time (the newest `effects.test_months` months with a known
outcome), on the randomized rows only, the effect model's pooled Qini must be above
"no effect" (zero: a constant score) and above "treat the highest risk first" (the
chance of leaving under no program, from the model's own classifier of the untreated rows,
fitted on the same rows). With
too few pilots out of time it cannot be judged and is not promoted: programs given only
by managers say what managers chose, not what programs do.
"""

from __future__ import annotations

import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import joblib
import mlflow
import numpy as np
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException

from features.panel import feature_columns
from models.effects.evaluation import Judged, detectable, judge
from models.effects.learner import EffectModel, fit_effects
from models.effects.rows import NONE, decision_rows
from models.pipeline import RunInputs, _log_table, _start_parent, provenance
from models.settings import ModelSettings
from models.tracking import (
    CHALLENGER,
    CHAMPION,
    alias_artifacts,
    configure,
    registered_name,
)

ENTRY_POINT = Path(__file__).with_name("pyfunc_entry.py")
MODEL = "effects"
MIN_PILOTS = 20
"""Pilots out of time below which the gate cannot judge (the Qini of a handful of treated
dealers is noise)."""


class EffectsPyfunc(mlflow.pyfunc.PythonModel):
    """The pyfunc face of an effect model: panel rows in, the long effects table out."""

    def load_context(self, context) -> None:
        self.model = joblib.load(Path(context.artifacts["effects"]) / "model.joblib")

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None
                ) -> pd.DataFrame:
        return self.model.effects(pd.DataFrame(model_input))


@dataclass
class EffectsResult:
    run_id: str
    tracking_uri: str
    version: str | None
    promote: bool
    reasons: list[str]
    judged: dict[str, Judged]
    summary: pd.DataFrame
    newest: pd.DataFrame
    test_pilots: int
    model: EffectModel
    origin: pd.Timestamp
    skipped: dict[str, int] = field(default_factory=dict)


def gate_rows(rows: pd.DataFrame, settings: ModelSettings) -> tuple[pd.DataFrame,
                                                                     pd.DataFrame]:
    """(fit, test): the rows with a known outcome, split at the newest `test_months`."""
    known = rows.loc[rows["left"].notna()]
    cutoffs = np.sort(known["cutoff"].unique())
    if len(cutoffs) <= settings.effects.test_months:
        return known, known.iloc[:0]
    split = cutoffs[-settings.effects.test_months]
    return known.loc[known["cutoff"] < split], known.loc[known["cutoff"] >= split]


def summarise(model: EffectModel, rows: pd.DataFrame, effects: pd.DataFrame,
              judged: Judged | None, modelled_out_of_time: tuple[str, ...] = ()
              ) -> pd.DataFrame:
    """Per program: dealers given it (pilots, managers), the mean estimated effect over
    the newest cutoff's dealers with its interval, its Qini out of time (where the
    held-out fit modelled it), and the smallest mean effect its pilots can detect
    (evaluation.detectable: an estimate well below it is not evidence)."""
    given = rows.loc[rows["program"] != NONE]
    counts = given.groupby("program").agg(
        given=("program", "size"),
        pilots=("assigned_by", lambda s: int(s.eq("pilot").sum())),
        managers=("assigned_by", lambda s: int(s.eq("manager").sum())))
    mean = effects.groupby("program").agg(effect=("effect", "mean"), low=("low", "mean"),
                                          high=("high", "mean"))
    out = counts.join(mean, how="outer")
    out["modelled"] = out.index.isin(model.kinds)
    out["qini_out_of_time"] = [judged.per_program.get(k, np.nan)
                               if judged and k in modelled_out_of_time else np.nan
                               for k in out.index]
    power = detectable(rows.loc[rows["randomized"]])
    out["detectable"] = power["detectable"].reindex(out.index)
    return out.reset_index().rename(columns={"index": "program"})


def decide(judged: dict[str, Judged], pilots: int) -> tuple[bool, list[str]]:
    if pilots < MIN_PILOTS:
        return False, [f"cannot be judged: {pilots} randomized program rows out of time "
                       f"(need {MIN_PILOTS}); effects from managers' choices are not "
                       "promoted"]
    reasons, ok = [], True
    model, risk = judged["model"], judged["highest risk first"]
    for name, base in (("no effect", 0.0), ("highest risk first", risk.value)):
        beats = model.value > base
        ok &= beats
        reasons.append(f"Qini {model.value:+.4f} ({model.low:+.4f} to {model.high:+.4f}) "
                       f"{'beats' if beats else 'does not beat'} {name} ({base:+.4f})")
    return bool(ok), reasons


def train_effects(panel: pd.DataFrame, programs: pd.DataFrame | None, inputs: RunInputs,
                  settings: ModelSettings, work_dir: Path,
                  progress: Callable[[str], None] | None = None) -> EffectsResult:
    """Fit, judge, register; the newest cutoff's effects come back for the plan."""
    tick = progress or (lambda step: None)
    s = settings.effects
    uri = configure(settings.tracking, work_dir)
    features = feature_columns(panel)
    tick("decision rows")
    rows = decision_rows(panel, programs, s.horizon_months)
    fit_rows, test = gate_rows(rows, settings)
    tick("gate fit")
    held = fit_effects(fit_rows, features, s, settings.seed, settings.booster.threads)
    judged: dict[str, Judged] = {}
    randomized = test.loc[test["randomized"]].reset_index(drop=True)
    pilots = int((randomized["pilot"] != NONE).sum())
    if held.kinds and pilots:
        est = held.effects(randomized, alpha=1 - s.interval)
        risk = held.leave_without(randomized)

        def model_score(kind: str) -> np.ndarray:
            if kind not in held.kinds:
                return np.zeros(len(randomized))
            return -est.loc[est["program"] == kind, "effect"].to_numpy()

        judged = judge(randomized, {"model": model_score,
                                    "highest risk first": lambda kind: risk,
                                    "no effect": lambda kind: np.zeros(len(randomized))},
                       s.bootstrap, settings.seed)
    promote, reasons = decide(judged, pilots) if judged else (
        False, [f"cannot be judged: {pilots} randomized program rows out of time"
                + (" and no program given often enough to model" if not held.kinds else "")])
    tick("final fit")
    model = fit_effects(rows, features, s, settings.seed, settings.booster.threads)
    origin = pd.Timestamp(rows["cutoff"].max()) if len(rows) else pd.NaT
    newest_rows = rows.loc[rows["cutoff"] == origin].reset_index(drop=True)
    newest = model.effects(newest_rows, alpha=1 - s.interval)
    newest.insert(0, "dealer_id", newest_rows["dealer_id"].to_numpy()[newest["row"]])
    newest = newest.drop(columns="row")
    summary = summarise(model, rows, newest, judged.get("model"), held.kinds)
    tick("registering")
    version = None
    with _start_parent("train-effects", inputs, settings) as parent:
        mlflow.set_tag("origin", f"{origin:%Y-%m-%d}" if len(rows) else "")
        _log_table(summary, "effects_summary.csv")
        _log_table(newest, "effects_newest.csv")
        mlflow.log_dict({k: vars(v) for k, v in judged.items()}, "gate.json")
        mlflow.log_text("\n".join(reasons), "gate.txt")
        mlflow.log_metrics({"test_pilots": pilots, "rows": len(rows),
                            **{f"qini.{_key(k)}": v.value for k, v in judged.items()
                               if np.isfinite(v.value)}})
        if model.kinds:
            version = _register(model, registered_name(settings.tracking, MODEL), promote,
                                reasons)
        run_id = parent.info.run_id
    return EffectsResult(run_id=run_id, tracking_uri=uri, version=version, promote=promote,
                         reasons=reasons, judged=judged, summary=summary, newest=newest,
                         test_pilots=pilots, model=model, origin=origin,
                         skipped=model.skipped)


def _key(name: str) -> str:
    return name.replace(" - ", "_minus_").replace(" ", "_")


def _register(model: EffectModel, registered: str, promote: bool, reasons: list[str]) -> str:
    """Log the model (a joblib file: econml estimators have no other format; it is read
    only from this registry) and register it as champion or challenger."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp) / "effects"
        folder.mkdir()
        joblib.dump(model, folder / "model.joblib")
        info = mlflow.pyfunc.log_model(name=MODEL, python_model=str(ENTRY_POINT),
                                       artifacts={"effects": str(folder)},
                                       metadata={"dealer_risk": {
                                           "kinds": list(model.kinds),
                                           "treated": model.treated,
                                           "provenance": provenance()}},
                                       input_example=None)
    client = MlflowClient()
    try:
        client.get_registered_model(registered)
    except MlflowException:
        client.create_registered_model(registered, description=(
            "Per program kind, the change of a dealer's chance of leaving within the "
            "horizon (doubly robust, econml), with intervals."))
    mv = client.create_model_version(registered, source=info.model_uri,
                                     run_id=mlflow.active_run().info.run_id,
                                     model_id=info.model_id)
    client.set_model_version_tag(registered, mv.version, "gate",
                                 "promoted" if promote else "refused")
    client.set_model_version_tag(registered, mv.version, "gate_reasons",
                                 "; ".join(reasons)[:4000])
    client.set_registered_model_alias(registered, CHAMPION if promote else CHALLENGER,
                                      mv.version)
    return str(mv.version)


def load_effects(registered: str, alias: str = CHAMPION) -> tuple[EffectModel, str]:
    """The effect model holding `alias`, and its version."""
    with alias_artifacts(registered, alias, "run `dealer-risk programs train` first") as (
            folder, mv):
        model = joblib.load(folder / "effects" / "model.joblib")
    return model, str(mv.version)
