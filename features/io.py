"""Writing artefacts so that a failed run never leaves a half-written file behind."""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path

import pandas as pd


def write_atomically(target: Path, write: Callable[[Path], object]) -> Path:
    """Call `write` on a temporary file beside the target, then rename it into place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        write(tmp)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target


def write_parquet_atomically(frame: pd.DataFrame, target: Path) -> Path:
    return write_atomically(target, lambda tmp: frame.to_parquet(tmp, index=False))


def write_csv_atomically(frame: pd.DataFrame, target: Path) -> Path:
    """UTF-8 with a byte-order mark, so Excel shows Chinese text right."""
    return write_atomically(target, lambda tmp: frame.to_csv(tmp, index=False,
                                                             encoding="utf-8-sig"))


def write_text_atomically(text: str, target: Path) -> Path:
    return write_atomically(target, lambda tmp: tmp.write_text(text, encoding="utf-8"))
