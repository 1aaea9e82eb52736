"""Writing artefacts so that a failed run never leaves a half-written file behind."""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd


def write_parquet_atomically(frame: pd.DataFrame, target: Path) -> Path:
    """Write to a temporary file beside the target, then rename it into place."""
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    tmp = target.with_name(f".{target.name}.{os.getpid()}.tmp")
    try:
        frame.to_parquet(tmp, index=False)
        tmp.replace(target)
    finally:
        tmp.unlink(missing_ok=True)
    return target
