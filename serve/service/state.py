"""What the API serves from memory: the champion models and the score snapshots.

A `ServingState` is immutable. Reloading builds a new one aside and swaps one reference,
so a request that started on the old state finishes on it, and none fails mid-reload.
"""

from __future__ import annotations

import gc
import json
import logging
import threading
import time
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from models.alerts import track
from models.tracking import RegistryError, configure, registered_name
from serve.batch.champions import RISK_MODELS, Champions, load_champions
from serve.batch.snapshots import (
    list_snapshots,
    read_effects,
    read_history_from,
    read_population,
    read_reps,
    read_roster,
    read_snapshot,
    read_support,
    snapshot_dir,
)
from serve.settings import Settings

MODELS = ("churn", "decline", "forecast")

log = logging.getLogger("dealer_risk.api")


class NotReady(RuntimeError):
    """Models or snapshot missing; /ready says which."""


@dataclass(frozen=True)
class Snapshot:
    as_of: str
    frame: pd.DataFrame
    """Rows in revenue-at-risk order; `dealer_id` is unique."""
    position: dict[str, int]
    records: list[dict] = field(default_factory=list, repr=False)
    """The rows as dicts, for lookups without pandas on the request path."""
    population: pd.DataFrame | None = None
    """Every dealer in the panel at the cutoff, with its features: the peers that
    POST /v1/score compares a posted dealer with."""
    past_population: pd.DataFrame | None = None
    """The same, `past_months` before the cutoff: the peers of the dealer's own past, for
    the past values its factors show."""
    history_from: str | None = None
    """The month the scored data's history starts (YYYY-MM)."""
    versions: dict[str, str] = field(default_factory=dict)
    """The model versions that computed this snapshot's scores (the champions may have
    moved on since)."""
    model_status: dict[str, dict] = field(default_factory=dict)
    """Per model: version and state (champion, provisional with the reason, or unavailable)
    when the snapshot was scored."""
    support: pd.DataFrame | None = None
    """The support board's requests at this cutoff (serve.batch.support); None without tickets."""
    reps: pd.DataFrame | None = None
    """What the reps' scorecard at this cutoff is made of (serve.batch.reps.rep_rows); None for a
    snapshot scored before the scorecard existed."""
    roster: pd.DataFrame | None = None
    """Where every dealer stands at this cutoff (serve.batch.roster): why one left the
    snapshot. None for a snapshot scored before the roster existed."""
    effects: pd.DataFrame | None = None
    """Each dealer's estimated program effects (serve.batch.plan); None without an effect
    model that scoring may use."""

    @classmethod
    def from_frame(cls, as_of: str, frame: pd.DataFrame,
                   population: pd.DataFrame | None = None,
                   history_from: str | None = None,
                   support: pd.DataFrame | None = None,
                   reps: pd.DataFrame | None = None,
                   roster: pd.DataFrame | None = None,
                   effects: pd.DataFrame | None = None) -> Snapshot:
        frame = frame.reset_index(drop=True)
        past = None
        if population is not None and "cutoff" in population.columns:
            now = population["cutoff"] == pd.Timestamp(as_of)
            past = population[~now].reset_index(drop=True)  # none in older snapshots
            population = population[now].reset_index(drop=True)
        return cls(as_of=as_of, frame=frame,
                   position={d: i for i, d in enumerate(frame["dealer_id"].astype(str))},
                   records=frame.to_dict("records"), population=population,
                   past_population=past if past is not None and len(past) else None,
                   history_from=history_from,
                   versions=json.loads(frame["model_versions"].iloc[0]) if len(frame) else {},
                   model_status=_model_status(frame), support=support, reps=reps,
                   roster=roster, effects=effects)


def _model_status(frame: pd.DataFrame) -> dict[str, dict]:
    """The snapshot's model states; older snapshots, scored by full champions, have none."""
    if not len(frame):
        return {}
    if "model_status" in frame.columns:
        return json.loads(frame["model_status"].iloc[0])
    return {m: {"version": v, "state": "champion", "reason": None}
            for m, v in json.loads(frame["model_versions"].iloc[0]).items()}


@dataclass(frozen=True)
class ServingState:
    champions: Champions
    snapshots: dict[str, Snapshot]
    """Every snapshot on disk, by as-of date; the newest is `current`."""
    fingerprint: tuple
    loaded_at: float = field(default_factory=time.time)
    alerts: pd.DataFrame = field(default_factory=pd.DataFrame, repr=False)
    """Every alert the snapshots' firings add up to (models.alerts.track), newest first."""
    open_alerts: dict[str, list[dict]] = field(default_factory=dict, repr=False)
    """Open alerts by dealer, for the dealer documents."""
    documents: dict = field(default_factory=dict, compare=False, repr=False)
    """Rendered lookup responses by (dealer, language), filled on first request: the
    state never changes, so neither do they (bounded by dealers x 2 languages)."""

    @property
    def current(self) -> Snapshot:
        return self.snapshots[max(self.snapshots)]

    @property
    def versions(self) -> dict[str, str]:
        return dict(self.champions.versions)


def _champion_versions(settings: Settings) -> dict[str, str]:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    client = MlflowClient()
    out = {}
    for model in MODELS:
        name = registered_name(settings.models.tracking, model)
        try:
            out[model] = str(client.get_model_version_by_alias(name, "champion").version)
        except MlflowException:
            out[model] = ""
    return out


def _snapshot_stamp(settings: Settings) -> tuple:
    folder = snapshot_dir(settings.work_dir)
    return tuple((d, (folder / f"{d}.parquet").stat().st_mtime_ns)
                 for d in list_snapshots(settings.work_dir))


def current_fingerprint(settings: Settings) -> tuple:
    """What a reload would load: champion versions and snapshot files (cheap to compute)."""
    return (tuple(sorted(_champion_versions(settings).items())), _snapshot_stamp(settings))


def load_state(settings: Settings) -> ServingState:
    configure(settings.models.tracking, settings.work_dir)
    fingerprint = current_fingerprint(settings)
    dates = list_snapshots(settings.work_dir)
    if not dates:
        raise NotReady(f"no score snapshot in {snapshot_dir(settings.work_dir)}: run "
                       "`dealer-risk score` first")
    try:
        champions = load_champions(settings)
    except RegistryError as exc:
        raise NotReady(str(exc)) from None
    snapshots = {d: Snapshot.from_frame(d, read_snapshot(settings.work_dir, d),
                                        read_population(settings.work_dir, d),
                                        read_history_from(settings.work_dir, d),
                                        read_support(settings.work_dir, d),
                                        read_reps(settings.work_dir, d),
                                        read_roster(settings.work_dir, d),
                                        read_effects(settings.work_dir, d))
                 for d in dates}
    alerts = alert_timeline({d: s.frame for d, s in snapshots.items()}, settings)
    return ServingState(champions=champions, snapshots=snapshots,
                        fingerprint=fingerprint, alerts=alerts,
                        open_alerts=_open_by_dealer(alerts))


def alert_timeline(frames: dict[str, pd.DataFrame], settings: Settings) -> pd.DataFrame:
    """Replay the firings stored in each snapshot's rows, by as-of date (older snapshots
    without them add none)."""
    firings = [(d, f[["dealer_id", "alerts"]]) for d, f in frames.items()
               if "alerts" in f.columns]
    return track(firings, settings.alerts.by_name())


def _open_by_dealer(alerts: pd.DataFrame) -> dict[str, list[dict]]:
    out: dict[str, list[dict]] = {}
    for alert in alerts[alerts["status"] == "open"].to_dict("records"):
        out.setdefault(alert["dealer_id"], []).append(alert)
    return out


class StateHolder:
    """The one mutable thing: which state is current. Reads are a plain attribute read."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.state: ServingState | None = None
        self.error: str | None = None
        self._lock = threading.Lock()

    def reload(self, *, force: bool = True) -> bool:
        """Load aside, then swap. Returns whether anything changed. A failed load keeps
        serving the previous state and records the error."""
        with self._lock:
            if not force and self.state is not None:
                try:
                    if current_fingerprint(self.settings) == self.state.fingerprint:
                        return False
                except Exception:  # a registry hiccup: keep serving, retry next check
                    return False
            try:
                new = load_state(self.settings)
            except NotReady as exc:
                self.error = str(exc)
                return False
            except Exception as exc:  # a corrupt file, a registry down: keep serving
                log.exception("reload failed; still serving the previous state")
                self.error = (f"reload failed ({type(exc).__name__}: {exc}); "
                              + ("still serving the previous state" if self.state is not None
                                 else "nothing to serve yet"))
                return False
            self.state, self.error = new, None
            _settle_heap()
            return True


def _settle_heap() -> None:
    """Move the loaded state out of the cyclic garbage collector's sight. Its millions of
    long-lived objects (cached documents, frames) would otherwise be traversed by every
    full collection, a pause of tens of ms that lands on whichever request triggered it
    (the lookup's p99). Unfreezing first lets the replaced state's cycles be collected."""
    gc.unfreeze()
    gc.collect()
    gc.freeze()


def describe(state: ServingState) -> dict:
    return {"as_of": state.current.as_of, "model_versions": state.current.versions,
            "champion_versions": state.versions,
            "snapshots": sorted(state.snapshots), "dealers": len(state.current.frame),
            "loaded_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(state.loaded_at))}


def population_contributions(state: ServingState, snap: Snapshot) -> dict[str, np.ndarray]:
    """The risk models' contributions on every row of the snapshot's population (by
    position): the peers a posted or changed dealer is explained against. Computed once per
    loaded state (the models and the snapshot never change under it), not on every call."""
    key = ("population_contributions", snap.as_of)
    if key not in state.documents:
        with _FILLING:  # the first calls of a burst wait for one computation, not each do it
            if key not in state.documents:
                state.documents[key] = {
                    m: getattr(state.champions, m).contributions(snap.population)
                    for m in RISK_MODELS if getattr(state.champions, m) is not None}
    return state.documents[key]


_FILLING = threading.Lock()
