"""Everything MLflow: where runs go, logging bundles as registered models, aliases.

Serving loads models by alias (`champion`), never by "latest". A model version carries its
backtest headline metrics as tags (`metric.<name>`), which the next gate compares with.
"""

from __future__ import annotations

import json
import os
import tempfile
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import mlflow
import pandas as pd
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import infer_signature

from models.bundle import Bundle, ClassifierBundle, load_bundle
from models.errors import StoreUnreachable
from models.gate import Decision
from models.settings import TrackingSettings

CHAMPION, CHALLENGER = "champion", "challenger"
PROVISIONAL_TAG = "provisional"
"""On a version made champion with no champion before it, though it misses a limit: why."""
ENTRY_POINT = Path(__file__).with_name("pyfunc_entry.py")
METRIC_TAG = "metric."
REGISTERED_DESCRIPTION = {
    "churn": "Calibrated probability that an active dealer stops ordering within the horizon.",
    "decline": "Calibrated probability that next quarter's orders fall well below the "
               "reference quarter.",
    "forecast": "Next quarter's net order amount: expected value and interval.",
    "leave": "Calibrated probability that an active dealer leaves: no order in the months "
             "after the churn horizon either (not a quiet spell).",
    "survival": "Each active dealer's chance of still ordering month by month over the next "
                "year (discrete-time hazard), and the months it is expected to keep ordering.",
}


class RegistryError(LookupError):
    """A model, version or alias is not in the registry; the message says which."""




def tracking_uri(settings: TrackingSettings, work_dir: Path) -> str:
    """Settings, else $MLFLOW_TRACKING_URI, else a SQLite store in the work directory."""
    if settings.tracking_uri:
        return settings.tracking_uri
    if os.environ.get("MLFLOW_TRACKING_URI"):
        return os.environ["MLFLOW_TRACKING_URI"]
    return f"sqlite:///{(work_dir / 'mlflow.db').resolve()}"


def configure(settings: TrackingSettings, work_dir: Path) -> str:
    """Point MLflow at the store and the experiment (created with artifacts in the work
    directory when the store is the default local one). Returns the tracking URI."""
    uri = tracking_uri(settings, work_dir)
    work_dir.mkdir(parents=True, exist_ok=True)
    check_store(uri, settings.connect_timeout_seconds)
    mlflow.set_tracking_uri(uri)
    mlflow.set_registry_uri(uri)
    if mlflow.get_experiment_by_name(settings.experiment) is None:
        location = (work_dir / "mlartifacts").resolve().as_uri() if uri.startswith(
            "sqlite:") else None
        mlflow.create_experiment(settings.experiment, artifact_location=location)
    mlflow.set_experiment(settings.experiment)
    return uri


_SQLITE_HEADER = b"SQLite format 3\x00"


def check_store(uri: str, timeout: float) -> None:
    """Fail fast on a store that cannot work. MLflow's client retries a server that does
    not answer for minutes (rightly, for a rate-limited one), so a server is first asked
    for its /health with a short timeout; any HTTP answer, even an error, means it is
    there. A local SQLite store must be a SQLite file (or not exist yet)."""
    hint = ("set models.tracking.tracking_uri (DEALER_RISK_MODELS__TRACKING__TRACKING_URI) to "
            "a store that works, or leave it empty for the local SQLite store")
    if uri.startswith(("http://", "https://")):
        import urllib.error
        import urllib.request
        try:
            urllib.request.urlopen(uri.rstrip("/") + "/health", timeout=timeout).close()
        except urllib.error.HTTPError:
            return
        except (OSError, ValueError) as exc:
            reason = getattr(exc, "reason", exc)
            raise StoreUnreachable(
                f"the MLflow tracking server {uri} does not answer ({reason}; waited up to "
                f"{timeout:g} s, models.tracking.connect_timeout_seconds): start it, or "
                f"{hint}") from None
    elif uri.startswith("sqlite:///"):
        path = Path(uri.removeprefix("sqlite:///"))
        if path.is_file() and path.stat().st_size:
            with open(path, "rb") as f:
                if f.read(len(_SQLITE_HEADER)) != _SQLITE_HEADER:
                    raise StoreUnreachable(
                        f"the MLflow store {path} is not a SQLite database (damaged or "
                        f"overwritten): restore it from a backup, or {hint}")


def registered_name(settings: TrackingSettings, model: str) -> str:
    return f"{settings.model_prefix}-{model}"


class BundleModel(mlflow.pyfunc.PythonModel):
    """The pyfunc face of a bundle, for `mlflow models serve` and other MLflow tools.

    dealer-risk itself loads the bundle files directly (load_registered), which also gives
    the contributions.
    """

    def load_context(self, context) -> None:
        self.bundle = load_bundle(Path(context.artifacts["bundle"]))

    def predict(self, context, model_input: pd.DataFrame, params: dict | None = None
                ) -> pd.DataFrame:
        frame = pd.DataFrame(model_input)
        if isinstance(self.bundle, ClassifierBundle):
            return pd.DataFrame({"probability": self.bundle.predict(frame)})
        return self.bundle.predict(frame)


def model_example(bundle: Bundle, frame: pd.DataFrame, rows: int = 5) -> pd.DataFrame:
    """Input example in plain types (categoricals as text), as a client would send it."""
    x = bundle.spec.matrix(frame.head(rows))
    for name in bundle.spec.categories:
        x[name] = x[name].astype("string").astype(object)
    return x


def _requirements() -> list[str]:
    from importlib.metadata import version
    return [f"{p}=={version(p)}" for p in ("dealer-risk", "lightgbm", "scikit-learn",
                                             "pandas", "numpy", "mlflow")]


def log_bundle(bundle: Bundle, frame: pd.DataFrame, registered: str):
    """Log the bundle under the active run and register it; returns the model version
    (with `logged_model_id`, the MLflow 3 logged model that metrics can be linked to)."""
    example = model_example(bundle, frame)
    output = BundleModel()
    output.bundle = bundle
    signature = infer_signature(example, output.predict(None, example))
    with tempfile.TemporaryDirectory() as tmp:
        folder = bundle.save(Path(tmp) / "bundle")
        info = mlflow.pyfunc.log_model(
            name=bundle.model, python_model=str(ENTRY_POINT), artifacts={"bundle": str(folder)},
            signature=signature, input_example=example, pip_requirements=_requirements(),
            metadata={"dealer_risk": bundle.metadata})
    client = MlflowClient()
    try:
        client.get_registered_model(registered)
    except MlflowException:
        client.create_registered_model(registered, description=REGISTERED_DESCRIPTION.get(
            bundle.model, ""))
    version = client.create_model_version(registered, source=info.model_uri,
                                          run_id=mlflow.active_run().info.run_id,
                                          model_id=info.model_id)
    version.logged_model_id = info.model_id
    return version


def record_outcome(registered: str, version: str, metrics: dict[str, float],
                   decision: Decision) -> None:
    """Tag the version with its backtest metrics and the gate's decision, set its alias."""
    client = MlflowClient()
    for key, value in metrics.items():
        client.set_model_version_tag(registered, version, f"{METRIC_TAG}{key}", f"{value:.6g}")
    client.set_model_version_tag(registered, version, "gate",
                                 "provisional" if decision.provisional else
                                 "promoted" if decision.promote else "refused")
    client.set_model_version_tag(registered, version, "gate_reasons",
                                 "; ".join(decision.reasons)[:4000])
    if decision.provisional:
        client.set_model_version_tag(registered, version, PROVISIONAL_TAG,
                                     "; ".join(decision.reasons)[:4000])
    client.set_registered_model_alias(registered, CHAMPION if decision.promote else CHALLENGER,
                                      version)


def alias_metrics(registered: str, alias: str = CHAMPION) -> dict[str, float] | None:
    """The recorded backtest metrics of the version holding `alias`, None if none does."""
    try:
        mv = MlflowClient().get_model_version_by_alias(registered, alias)
    except MlflowException:
        return None
    return {k.removeprefix(METRIC_TAG): float(v) for k, v in mv.tags.items()
            if k.startswith(METRIC_TAG)}


def promote(registered: str, version: str, reason: str) -> str | None:
    """Move `champion` to this version by hand, recording why; returns the previous one."""
    client = MlflowClient()
    try:
        client.get_model_version(registered, version)
    except MlflowException:
        raise RegistryError(f"{registered} has no version {version}") from None
    previous = _alias_version(client, registered, CHAMPION)
    client.set_registered_model_alias(registered, CHAMPION, version)
    client.set_model_version_tag(registered, version, "promoted_by_hand", json.dumps(
        {"reason": reason, "previous_champion": previous}, ensure_ascii=False))
    return previous


def _alias_version(client: MlflowClient, registered: str, alias: str) -> str | None:
    try:
        return str(client.get_model_version_by_alias(registered, alias).version)
    except MlflowException:
        return None


@dataclass(frozen=True)
class Registered:
    bundle: Bundle
    version: str
    provisional: str | None
    """Why the version is only a provisional champion (None: it passed the whole gate)."""


def load_registered(registered: str, alias: str = CHAMPION) -> tuple[Bundle, str]:
    """The bundle holding `alias` and its version number."""
    found = load_alias(registered, alias)
    return found.bundle, found.version


def load_alias(registered: str, alias: str = CHAMPION) -> Registered:
    """The bundle holding `alias`, its version and, for a provisional champion, why."""
    with alias_artifacts(registered, alias) as (folder, mv):
        bundle = load_bundle(folder / "bundle")
    return Registered(bundle, str(mv.version), mv.tags.get(PROVISIONAL_TAG) or None)


@contextmanager
def alias_artifacts(registered: str, alias: str,
                    remedy: str = "run `dealer-risk train` first"):
    """The artifacts folder of the version holding `alias` (downloaded to a temporary
    folder, gone on exit) and that version; RegistryError naming `remedy` when none."""
    try:
        mv = MlflowClient().get_model_version_by_alias(registered, alias)
    except MlflowException:
        raise RegistryError(f"no '{alias}' version of {registered} in the registry at "
                            f"{mlflow.get_tracking_uri()}; {remedy}") from None
    with tempfile.TemporaryDirectory() as tmp:
        path = mlflow.artifacts.download_artifacts(
            artifact_uri=f"models:/{registered}@{alias}", dst_path=tmp)
        yield Path(path) / "artifacts", mv
