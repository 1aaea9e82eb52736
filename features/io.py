"""Writing artefacts so that a failed run never leaves a half-written file behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd

from features.failpoints import failpoint


class WriteError(Exception):
    """An artefact could not be written (a full disk, no permission): the message names
    it and says the previous file is unchanged."""


def write_atomically(target: Path, write: Callable[[Path], object],
                     point: str | None = None) -> Path:
    """Call `write` on a temporary file beside the target, then rename it into place: a
    reader sees the old file or the new one, never part of one. Temporary files left by
    a run that was killed are removed by the next write of the same target."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    _remove_stale(target)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        if point is not None:
            failpoint(f"{point}.written")
        tmp.replace(target)
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise WriteError(f"{target}: could not be written ({reason}); the previous file, "
                         "if there was one, is unchanged") from exc
    finally:
        tmp.unlink(missing_ok=True)
    return target


def _remove_stale(target: Path) -> None:
    for leftover in target.parent.glob(f".{target.name}.*.tmp"):
        pid = leftover.name.removeprefix(f".{target.name}.").removesuffix(".tmp")
        if pid.isdigit() and not _alive(int(pid)):
            leftover.unlink(missing_ok=True)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's process
        return True
    return True


def write_parquet_atomically(frame: pd.DataFrame, target: Path,
                             point: str | None = None) -> Path:
    return write_atomically(target, lambda tmp: frame.to_parquet(tmp, index=False), point)


def write_csv_atomically(frame: pd.DataFrame, target: Path) -> Path:
    """UTF-8 with a byte-order mark, so Excel shows Chinese text right."""
    return write_atomically(target, lambda tmp: frame.to_csv(tmp, index=False,
                                                             encoding="utf-8-sig"))


def write_text_atomically(text: str, target: Path) -> Path:
    return write_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
