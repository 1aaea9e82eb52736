"""Repeat a run from what MLflow recorded: its settings (with the seed), its data folder and
the data's fingerprint. `dealer-risk train --from-run RUN_ID` uses it.

The machine-specific parts of the settings stay the caller's: work directory, tracking
store, API keys and server settings. A changed data folder is refused (the fingerprint
would differ, and so would the models); a different code commit is reported, not refused.
"""

from __future__ import annotations

import json
from pathlib import Path

from features.storage import Location, as_location
from serve.settings import Settings

LOCAL_SECTIONS = ("work_dir", "api", "api_keys")
"""Belong to this machine, not to the experiment."""


class RunMismatch(Exception):
    """The run cannot be repeated as recorded; the message says why."""


def _run(run_id: str):
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException
    try:
        return MlflowClient().get_run(run_id)
    except MlflowException as exc:
        raise RunMismatch(f"no MLflow run {run_id} in the tracking store: "
                          f"{str(exc).splitlines()[0]}") from None


def _artifact(run_id: str, name: str) -> dict:
    import mlflow
    from mlflow.exceptions import MlflowException
    try:
        return json.loads(Path(mlflow.artifacts.download_artifacts(
            run_id=run_id, artifact_path=name)).read_text(encoding="utf-8"))
    except (MlflowException, OSError) as exc:
        raise RunMismatch(f"run {run_id} has no {name}: it was not made by "
                          f"`dealer-risk train` ({exc})") from None


def settings_of_run(run_id: str, current: Settings, data_dir: Location | None
                    ) -> tuple[Settings, Location, str, list[str]]:
    """(the run's settings on this machine, its data folder, the data's as-of date, notes)."""
    from models.pipeline import provenance
    from models.tracking import configure

    configure(current.models.tracking, current.work_dir)
    run = _run(run_id)
    if run.data.tags.get("dealer_risk.command") != "train":
        raise RunMismatch(f"run {run_id} is a {run.data.tags.get('dealer_risk.command')!r} "
                          "run; --from-run repeats `dealer-risk train` runs")
    logged = _artifact(run_id, "settings.json")
    fingerprint = _artifact(run_id, "data_fingerprint.json")
    mine = current.model_dump()
    merged = {**logged, **{k: mine[k] for k in LOCAL_SECTIONS}}
    merged["models"] = {**logged["models"], "tracking": mine["models"]["tracking"]}
    merged["data_dir"] = None
    try:
        repeated = Settings(**merged)
    except ValueError as exc:
        raise RunMismatch(f"the settings of run {run_id} no longer load: {exc}") from None
    folder = data_dir or as_location(run.data.tags.get("data.dir", ""))
    if not folder.is_dir():
        raise RunMismatch(f"the data folder of run {run_id} ({folder}) is not here: pass "
                          "the folder that holds the same data")
    notes = []
    then, now = run.data.tags.get("code.git_commit", "unknown"), provenance()["git_commit"]
    if then != now:
        notes.append(f"run {run_id} was made by code {then[:12]}, this is {now[:12]}: "
                     "results may differ where the code changed")
    return repeated, folder, fingerprint["as_of"], notes


def check_fingerprint(run_id: str, loaded, settings: Settings) -> None:
    """Refuse to 'repeat' a run on different data."""
    from features.fingerprint import data_fingerprint
    from models.tracking import configure

    configure(settings.models.tracking, settings.work_dir)
    recorded = _artifact(run_id, "data_fingerprint.json")["sha256"]
    actual = data_fingerprint(loaded.report)["sha256"]
    if recorded != actual:
        raise RunMismatch(f"the data changed since run {run_id}: fingerprint {actual[:16]}, "
                          f"recorded {recorded[:16]} (docs/retraining.md: repeating a run)")
