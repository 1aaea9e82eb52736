"""Turning a column's cells into the contract's types, vectorised.

Each coercer returns the typed values and a mask of cells that had a value but could
not be read as the type: those rows are rejected, never silently set to missing.
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd

from features.contract import Kind

_TRUE = {"1", "true", "t", "yes", "y", "是", "对", "真"}
_FALSE = {"0", "false", "f", "no", "n", "否", "错", "假"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")


def is_blank(values: pd.Series) -> pd.Series:
    """Missing, or text that is empty after trimming."""
    if values.dtype.kind in "Mmfiub":
        return values.isna()
    return values.isna() | (values.astype("string").str.strip() == "")


def coerce(values: pd.Series, kind: Kind) -> tuple[pd.Series, pd.Series]:
    """(typed values, mask of cells that were present but unreadable)."""
    blank = is_blank(values)
    if kind in (Kind.ID, Kind.TEXT):
        typed = _to_text(values, blank, as_id=kind == Kind.ID)
        return typed, pd.Series(False, index=values.index)
    if kind in (Kind.DATE, Kind.TIMESTAMP):
        typed = _to_datetime(values, day_only=kind == Kind.DATE)
    elif kind in (Kind.NUMBER, Kind.INTEGER):
        typed = _to_number(values)
        if kind == Kind.INTEGER:
            fractional = typed.notna() & (typed != np.floor(typed.fillna(0)))
            typed = typed.mask(fractional)
            typed = typed.astype("Int64")
    elif kind == Kind.BOOLEAN:
        typed = _to_boolean(values)
    else:  # pragma: no cover - every Kind is handled above
        raise ValueError(kind)
    bad = typed.isna() & ~blank
    return typed, bad


def _to_text(values: pd.Series, blank: pd.Series, *, as_id: bool) -> pd.Series:
    if as_id and values.dtype.kind == "f":
        # Parquet written from a float column: 1234.0 is id "1234", never "1234.0".
        integral = values.notna() & (values == np.floor(values.fillna(0)))
        text = values.astype("string")
        text[integral] = values[integral].astype("int64").astype("string")
    else:
        text = values.astype("string").str.strip()
    return text.mask(blank).astype("string")


def _to_datetime(values: pd.Series, *, day_only: bool) -> pd.Series:
    if values.dtype.kind == "M":
        typed = values.dt.tz_localize(None) if values.dt.tz is not None else values
    else:
        text = values.astype("string").str.strip()
        text = (
            text.str.replace("年", "-", regex=False)
            .str.replace("月", "-", regex=False)
            .str.replace("日", "", regex=False)
            .str.replace("/", "-", regex=False)
            .str.replace(".", "-", regex=False)
        )
        typed = pd.to_datetime(text, format="ISO8601", errors="coerce")
        if getattr(typed.dt, "tz", None) is not None:
            typed = typed.dt.tz_convert(None)
    typed = typed.astype("datetime64[ns]")
    return typed.dt.normalize() if day_only else typed


def _to_number(values: pd.Series) -> pd.Series:
    if values.dtype.kind in "fiub":
        typed = values.astype("float64")
    else:
        text = values.astype("string").str.strip()
        text = text.str.replace("¥", "", regex=False).str.replace("￥", "", regex=False)
        grouped = text.str.match(_THOUSANDS).fillna(False).astype(bool)
        if grouped.any():
            text = text.where(~grouped, text.str.replace(",", "", regex=False))
        typed = pd.to_numeric(text, errors="coerce").astype("float64")
    return typed.where(np.isfinite(typed.to_numpy(dtype="float64", na_value=np.nan)))


def _to_boolean(values: pd.Series) -> pd.Series:
    if values.dtype.kind == "b":
        return values.astype("boolean")
    if values.dtype.kind in "fi":
        mapped = values.map({1: True, 0: False})
        return mapped.astype("boolean")
    text = values.astype("string").str.strip().str.lower()
    out = pd.Series(pd.NA, index=values.index, dtype="boolean")
    out[text.isin(_TRUE).fillna(False).astype(bool)] = True
    out[text.isin(_FALSE).fillna(False).astype(bool)] = False
    return out
