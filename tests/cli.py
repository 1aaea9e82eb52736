"""Run the `dealer-risk` command line as a process of its own, as a user does, without
paying its imports on every call.

Each call is a fresh process, so nothing a command leaves behind (MLflow's tracking URI,
logging handlers, caches, a SIGKILL from a failpoint) reaches the test or the next call,
and the exit code, stdout and stderr are the process's own. The processes are forked
from a multiprocessing forkserver of this test worker that imported the command line's
modules once and has run nothing else (no LightGBM, no OpenMP threads, no Spark), which
is what makes forking it safe. A `python -m serve.cli` process spent about 3 s importing
before doing anything; the suite starts some 60 of them.

The console script itself is still started as a real subprocess by the tests that are
about it (tests/serve/cli/test_cli.py, the `serve` tests, the architecture test)."""

from __future__ import annotations

import multiprocessing
import os
import signal
import subprocess
import sys
import tempfile
from pathlib import Path

CLI = [sys.executable, "-m", "serve.cli"]
"""The command line as a real subprocess: `python -m serve.cli`, the console script's twin."""

PRELOAD = ["serve.cli.main", "serve.cli.training", "serve.cli.scoring", "serve.cli.programs",
           "serve.cli.tasks", "serve.cli.notify", "models.pipeline", "models.tracking",
           "serve.batch.scoring", "serve.service.tasks", "serve.app", "mlflow.pyfunc",
           "mlflow.store.tracking.sqlalchemy_store",
           "mlflow.store.model_registry.sqlalchemy_store", "lightgbm", "sklearn.isotonic"]
"""Modules the forkserver imports once: the command line and what its commands import,
MLflow's SQL stores among them (0.9 s, imported by its first call to the tracking store)."""

_context = multiprocessing.get_context("forkserver")
_context.set_forkserver_preload(PRELOAD)


def cli_env(**extra: str) -> dict[str, str]:
    """The test process's environment without the settings tests may have exported:
    MLflow's set_tracking_uri (used by in-process tests) exports MLFLOW_TRACKING_URI."""
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("DEALER_RISK_") and k != "MLFLOW_TRACKING_URI"}
    env["COLUMNS"] = "120"
    return env | extra


def run_cli(args: list[str], cwd: Path | str, env: dict[str, str] | None = None,
            timeout: float = 900) -> subprocess.CompletedProcess:
    """`dealer-risk ARGS` in `cwd` with `env` (default: cli_env()) as a process of its
    own; its exit code (negative: the signal that killed it), stdout and stderr."""
    with tempfile.TemporaryDirectory(prefix="dealer-risk-cli-") as folder:
        out, err = Path(folder, "stdout"), Path(folder, "stderr")
        process = _context.Process(target=_main, args=(list(args), str(cwd),
                                                       env if env is not None else cli_env(),
                                                       str(out), str(err)))
        process.start()
        process.join(timeout)
        if process.is_alive():
            os.kill(process.pid, signal.SIGKILL)
            process.join()
            raise subprocess.TimeoutExpired(["dealer-risk", *args], timeout)
        return subprocess.CompletedProcess(
            ["dealer-risk", *args], process.exitcode,
            out.read_text(encoding="utf-8", errors="replace"),
            err.read_text(encoding="utf-8", errors="replace"))


def _main(args: list[str], cwd: str, env: dict[str, str], out: str, err: str) -> None:
    """In the forked process: the directory, environment and standard streams a
    subprocess would have had, then the console script's entry point."""
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    for fd, path in ((1, out), (2, err)):
        target = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.dup2(target, fd)
        os.close(target)
    sys.stdout = open(1, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.stderr = open(2, "w", encoding="utf-8", closefd=False, buffering=1)  # noqa: SIM115
    sys.argv = ["dealer-risk", *args]
    from serve.cli.main import run
    try:
        run()
    finally:  # a process's exit runs them; multiprocessing's ends with os._exit
        import atexit
        atexit._run_exitfuncs()
