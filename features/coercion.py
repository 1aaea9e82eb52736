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
    if isinstance(values.dtype, pd.CategoricalDtype):
        blank_category = is_blank(pd.Series(values.cat.categories)).to_numpy()
        codes = values.cat.codes.to_numpy()
        return pd.Series((codes < 0) | blank_category[np.maximum(codes, 0)], index=values.index)
    if values.dtype.kind in "Mmfiub":
        return values.isna()
    return values.isna() | (values.astype("string").str.strip() == "")


def coerce(values: pd.Series, kind: Kind, *, many_values: bool = False
           ) -> tuple[pd.Series, pd.Series]:
    """(typed values, mask of cells that were present but unreadable).

    Text and ids come back as categoricals (a table of 50M order lines holds a few
    thousand dealer ids: each is stored and checked once), except columns with
    `many_values`, which stay plain strings. A categorical input is coerced through its
    categories, so each distinct value is parsed once."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _coerce_categorical(values, kind)
    blank = is_blank(values)
    if kind in (Kind.ID, Kind.TEXT):
        typed = _to_text(values, blank, as_id=kind == Kind.ID)
        return (typed if many_values else typed.astype("category"),
                pd.Series(False, index=values.index))
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


def _coerce_categorical(values: pd.Series, kind: Kind) -> tuple[pd.Series, pd.Series]:
    categories = pd.Series(values.cat.categories)
    typed_cats, bad_cats = coerce(categories.astype("string"), kind)
    codes = values.cat.codes.to_numpy()
    missing = codes < 0
    take = np.maximum(codes, 0)
    bad = pd.Series(bad_cats.to_numpy()[take] & ~missing, index=values.index)
    if kind in (Kind.ID, Kind.TEXT):
        # trimming can merge categories (" D1" and "D1"): recode onto the distinct results
        merged = typed_cats.cat.codes.to_numpy()[take]
        merged[missing] = -1
        typed = pd.Categorical.from_codes(merged, dtype=typed_cats.dtype)
        return pd.Series(typed, index=values.index), bad
    typed = typed_cats.take(take)
    typed.index = values.index
    return typed.mask(missing), bad


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


def map_text(values: pd.Series, fn) -> pd.Series:
    """Apply a text transformation (a function of a string Series) to each distinct value
    of a categorical once, or to every value of a plain text column; returns a categorical."""
    if not isinstance(values.dtype, pd.CategoricalDtype):
        values = values.astype("category")
    mapped = pd.Series(fn(pd.Series(values.cat.categories).astype("string")),
                       dtype="string").astype("category")
    codes = values.cat.codes.to_numpy()
    merged = mapped.cat.codes.to_numpy()[np.maximum(codes, 0)]
    merged[codes < 0] = -1
    return pd.Series(pd.Categorical.from_codes(merged, dtype=mapped.dtype), index=values.index)
