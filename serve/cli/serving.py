"""Commands that serve: `serve` (the API and dashboard) and `demo` (the main job on the
embedded defaults, end to end)."""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Annotated

import typer

from features.storage import as_location
from serve.cli.base import CliState, console, fail, invocation, settings, validate_data
from serve.cli.data import (
    build_features_shown,
    simulate_shown,
    simulator_settings,
)
from serve.cli.scoring import score_shown
from serve.cli.training import train_shown
from serve.settings import Settings
from serve.web.keys import KeyFileError, read_key_file

LOOPBACK = ("127.0.0.1", "localhost", "::1")


def serve(
    data_dir: Annotated[str | None, typer.Argument(
        metavar="DATA",
        help="Score this data folder first (with the champions), then serve. Default: serve "
        "the snapshots already written by `dealer-risk score`.")] = None,
    host: Annotated[str | None, typer.Option(help="Address to bind. Default: settings' "
                                             "api.host (127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="Default: settings' api.port (8000).")]
    = None,
    workers: Annotated[int | None, typer.Option(help="uvicorn worker processes.")] = None,
) -> None:
    """Start the risk API (FastAPI on uvicorn): /v1 for CRMs, /docs for its reference."""
    cfg = settings()
    if data_dir is not None:
        loaded = validate_data(as_location(data_dir), cfg, as_of=None, as_json=False, quiet=True)
        score_shown(loaded, cfg, None, None)
    _serve(cfg, host or cfg.api.host, port or cfg.api.port, workers or cfg.api.workers)


def _serve(cfg: Settings, host: str, port: int, workers: int) -> None:
    import os

    import uvicorn
    keyless = not cfg.api_keys and cfg.api.keys_file is None
    if keyless and host not in LOOPBACK:
        raise fail(f"refusing to bind {host} without api_keys: anyone on the network could "
                   "read the scores. Set DEALER_RISK_API_KEYS='{\"KEY\": \"reader\"}' (or "
                   "api.keys_file) or bind 127.0.0.1")
    if cfg.api.keys_file is not None:
        try:
            read_key_file(cfg.api.keys_file)
        except KeyFileError as exc:
            raise fail(str(exc)) from None
    if CliState.config is not None:
        os.environ["DEALER_RISK_CONFIG"] = str(CliState.config.resolve())
    from models.tracking import check_store, tracking_uri
    check_store(tracking_uri(cfg.models.tracking, cfg.work_dir),
                cfg.models.tracking.connect_timeout_seconds)
    base = f"http://{'[::1]' if host == '::1' else host}:{port}"
    console.print(f"Serving the risk API on {base} (docs: {base}/docs); Ctrl-C stops it.")
    if keyless:
        console.print("[yellow]No API keys configured: the API is open, on loopback only."
                      "[/yellow]")
    uvicorn.run("serve.app:create_app", factory=True, host=host, port=port,
                workers=workers, log_level="info")


def _newest_snapshot(cfg: Settings) -> str:
    """The top dealer of the newest snapshot: the example curl shows a real one."""
    from serve.batch.snapshots import list_snapshots, read_snapshot
    dates = list_snapshots(cfg.work_dir)
    return str(read_snapshot(cfg.work_dir, dates[-1])["dealer_id"].iloc[0])


def demo(
    serve_api: Annotated[bool, typer.Option(
        "--serve/--no-serve", help="Start the API on localhost at the end.")] = True,
    dealers: Annotated[int | None, typer.Option(help="Dealers in the sample network.")] = None,
    months: Annotated[int | None, typer.Option(help="Months in the sample network.")] = None,
    seed: Annotated[int | None, typer.Option(help="Random seed.")] = None,
    data: Annotated[Path | None, typer.Option(
        help="Run on your own data folder instead of a simulated sample.")] = None,
) -> None:
    """The main job on the embedded defaults: simulate a sample network, validate it, build
    its point-in-time panel, train, gate and register the models, score every dealer, and
    serve the risk API on localhost. With --data, the same on your own folder."""
    cfg = settings()
    if data is None:
        sim = simulator_settings(dealers, months, None, seed, None)
        out = cfg.sample_data_dir
        console.rule("1. Simulate a sample dealer network")
        summary = simulate_shown(out, sim)
        console.print(f"{summary.dealers:,} dealers, {summary.months} months from "
                      f"{summary.first_month}, {summary.rows['orders']:,} order lines -> {out}")
        as_of = date.fromisoformat(summary.as_of)
    else:
        out, as_of = data, None
        console.rule(f"1. Use your data in {data}")
    console.rule("2. Validate it against the data contract")
    loaded = validate_data(out, cfg, as_of=as_of, as_json=False)
    console.rule("3. Build the point-in-time dealer x month panel")
    panel = build_features_shown(loaded, cfg, None, None)
    console.rule("4. Train, backtest the newest origins, register and gate the models")
    train_shown(out, cfg, loaded, panel, as_json=False)
    console.rule("5. Score every active dealer with the champion models")
    score_shown(loaded, cfg, None, None, cfg.scoring.history_snapshots, panel=panel)
    if serve_api:
        snapshot = _newest_snapshot(cfg)
        base = f"http://127.0.0.1:{cfg.api.port}"
        console.rule("6. Serve the risk API and the dashboard on localhost")
        console.print(f"Try:  {base}/dashboard                  (the managers' worklist)\n"
                      f"      {base}/docs                       (the API reference)\n"
                      f"      {base}/v1/risk?limit=5            (ranked list)\n"
                      f"      curl '{base}/v1/dealers/{snapshot}/risk?lang=zh'\n"
                      f"MLflow: {invocation('mlflow')} ui --backend-store-uri sqlite:///"
                      f"{(cfg.work_dir / 'mlflow.db').resolve()}\n"
                      f"Later:  {invocation()} serve   (the same API and dashboard again)",
                      highlight=False)
        _serve(cfg, "127.0.0.1", cfg.api.port, cfg.api.workers)
        return
    console.rule("Next")
    db = (cfg.work_dir / "mlflow.db").resolve()
    me = invocation()
    console.print(f"Dashboard, API: {me} serve, then http://127.0.0.1:{cfg.api.port}/dashboard\n"
                  f"Your own data:  {me} validate PATH/TO/FOLDER\n"
                  f"                {me} train PATH/TO/FOLDER\n"
                  f"Full backtest:  {me} backtest   (12 monthly origins, model card)\n"
                  f"Monthly job:    {me} retrain; {me} monitor (docs/retraining.md)\n"
                  f"MLflow UI:      {invocation('mlflow')} ui --backend-store-uri sqlite:///{db}\n"
                  f"The features:   {me} catalog   (--lang zh for Chinese)\n"
                  f"Settings:       {me} config show", highlight=False)


