"""Turning a column's cells into the contract's types, vectorised.

Each coercer returns the typed values, a mask of cells that had a value but could not be
read as the type (those rows are rejected, never silently set to missing), and, per kind
of conversion that changed a cell's text (a currency sign dropped, a date in another
form, an offset converted), a mask of the cells it changed: kept, but reported as a
notice, so no value changes meaning unseen.
"""

from __future__ import annotations

import re
from typing import NamedTuple

import numpy as np
import pandas as pd

from features.contract import Kind
from features.sql import PLAIN_ASCII, PLAIN_FROM

_TRUE = {"1", "true", "t", "yes", "y", "是", "对", "真"}
_FALSE = {"0", "false", "f", "no", "n", "否", "错", "假"}
_THOUSANDS = re.compile(r"^[+-]?\d{1,3}(,\d{3})+(\.\d+)?$")
_CURRENCY = ("¥", "￥")
_ISO = r"^\d{4}-\d{2}-\d{2}(?:[ T]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?$"
_OFFSET = r"\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?\s*(?:Z|[+-]\d{2}(?::?\d{2})?)$"
_YEAR_FIRST = r"^(\d{4})[/.](\d{1,2})[/.](\d{1,2})(?=$|[ T])"
"""2021/02/28 and 2021.2.28: year first, so day and month cannot be swapped. 02/28/2021
and 28.02.2021 are ambiguous across locales and stay unreadable (rejected)."""
_CHINESE = r"^(\d{4})年(\d{1,2})月(\d{1,2})日\s*"
_YYYYMMDD = r"^\d{8}$"
_PARSE_DISTINCT = 10_000
"""Above this many cells, a text date column is parsed once per distinct value."""
_SMALL = 10_000
"""Up to this many cells, a text column is first looked at cell by cell in Python: when
every cell is plain text (see plain_text), trimming and blanking change nothing, and
the dozen pandas steps that would find that out (~1 ms of fixed cost per column, most of
a posted dealer's checks) are skipped. Above it the vectorised steps are cheaper."""

CONVERSIONS = {
    "trimmed": "spaces around the value were removed",
    "id_from_number": "a numeric id (123.0) was read as the text 123",
    "currency_or_separators": "a currency sign (¥) or thousands separators were removed",
    "date_form": "a date not written YYYY-MM-DD (2021/02/28, 2021年2月28日, 2021-2-8) "
                 "was read as YYYY-MM-DD",
    "integer_date": "a date written as the number yyyymmdd was read as YYYY-MM-DD",
    "time_zone": "a time with a UTC offset was converted into {timezone} "
                 "(contract.timezone)",
    "time_dropped": "a time of day in a date column was dropped (the day is kept)",
    "category_alias": "a category or program written as an alias (质量, Quality, 返利) was "
                      "read as its contract name",
}
"""Every conversion that changes a cell's text, and what it did (for the notices)."""


class Coerced(NamedTuple):
    values: pd.Series
    unreadable: pd.Series
    """Cells that held something that is not a value of the kind."""
    converted: dict[str, pd.Series]
    """Per conversion (a key of CONVERSIONS) that changed some cell: which cells."""


def plain_text(values: pd.Series) -> np.ndarray | None:
    """For a small column of text: which cells are missing, when every other cell is text
    whose first and last characters are certainly not whitespace (features.sql's
    PLAIN_CODE_POINT), so trimming leaves it as it is and none is blank; else None."""
    if len(values) > _SMALL or values.dtype.kind in "Mmfiub" or isinstance(
            values.dtype, pd.CategoricalDtype):
        return None
    missing = values.isna().to_numpy()
    (low, high), start = PLAIN_ASCII, PLAIN_FROM
    for cell in values.to_numpy(dtype=object)[~missing]:
        if type(cell) is not str or not cell:
            return None
        first, last = ord(cell[0]), ord(cell[-1])
        if not ((low <= first <= high or first >= start)
                and (low <= last <= high or last >= start)):
            return None
    return missing


def is_blank(values: pd.Series) -> pd.Series:
    """Missing, or text that is empty after trimming."""
    missing = plain_text(values)
    if missing is not None:
        return pd.Series(missing, index=values.index)
    return _blank_vectorised(values)


def _blank_vectorised(values: pd.Series) -> pd.Series:
    """is_blank's steps over the whole column, for one that is not plain text."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        blank_category = is_blank(pd.Series(values.cat.categories)).to_numpy()
        codes = values.cat.codes.to_numpy()
        return pd.Series((codes < 0) | blank_category[np.maximum(codes, 0)], index=values.index)
    if values.dtype.kind in "Mmfiub":
        return values.isna()
    return values.isna() | (values.astype("string").str.strip() == "")


def coerce(values: pd.Series, kind: Kind, *, many_values: bool = False,
           timezone: str = "Asia/Shanghai") -> Coerced:
    """Typed values, unreadable cells and conversions made.

    Text and ids come back as categoricals (a table of 50M order lines holds a few
    thousand dealer ids: each is stored and checked once), except columns with
    `many_values`, which stay plain strings. A categorical input is coerced through its
    categories, so each distinct value is parsed once. Times are in `timezone`: plain
    ones are taken as they are, those with an offset are converted into it."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        return _coerce_categorical(values, kind, timezone)
    if kind == Kind.DATE and values.dtype.kind == "O" and len(values) > _PARSE_DISTINCT:
        # a few thousand distinct days among millions of rows: parse each day once
        return _coerce_categorical(values.astype("category"), kind, timezone)
    missing = plain_text(values)
    if kind in (Kind.ID, Kind.TEXT) and missing is not None:
        typed = values.astype("string")  # what trimming and blanking would give
        return Coerced(typed if many_values else typed.astype("category"),
                       pd.Series(False, index=values.index), {})
    blank = (_blank_vectorised(values) if missing is None  # plain_text said no already
             else pd.Series(missing, index=values.index))
    converted: dict[str, pd.Series] = {}
    text = None
    if values.dtype.kind not in "Mmfiub":
        text = values.astype("string")
        if missing is None:  # else no cell has spaces to trim
            converted["trimmed"] = ~blank & (text != text.str.strip()).fillna(False)
    if kind in (Kind.ID, Kind.TEXT):
        typed = _to_text(values, blank, as_id=kind == Kind.ID)
        if kind == Kind.ID and values.dtype.kind == "f":
            converted["id_from_number"] = values.notna()
        return Coerced(typed if many_values else typed.astype("category"),
                       pd.Series(False, index=values.index), _nonempty(converted))
    if kind in (Kind.DATE, Kind.TIMESTAMP):
        typed, forms = _to_datetime(values, day_only=kind == Kind.DATE, timezone=timezone)
        converted.update(forms)
    elif kind in (Kind.NUMBER, Kind.INTEGER):
        typed = _to_number(values)
        if text is not None:  # a comma that is not a thousands separator is unreadable
            converted["currency_or_separators"] = text.str.contains(
                "[" + "".join(_CURRENCY) + ",]", regex=True).fillna(False).astype(bool)
        if kind == Kind.INTEGER:
            fractional = typed.notna() & (typed != np.floor(typed.fillna(0)))
            typed = typed.mask(fractional)
            typed = typed.astype("Int64")
    elif kind == Kind.BOOLEAN:
        typed = _to_boolean(values)
    else:  # pragma: no cover - every Kind is handled above
        raise ValueError(kind)
    bad = (typed.isna() & ~blank).astype(bool)  # numpy's, whichever the text's storage
    return Coerced(typed, bad,
                   _nonempty({k: m & ~bad & ~blank for k, m in converted.items()}))


def _nonempty(converted: dict[str, pd.Series]) -> dict[str, pd.Series]:
    return {k: m.astype(bool) for k, m in converted.items() if bool(m.any())}


def _coerce_categorical(values: pd.Series, kind: Kind, timezone: str) -> Coerced:
    categories = pd.Series(values.cat.categories)
    typed_cats, bad_cats, converted_cats = coerce(categories.astype("string"), kind,
                                                  timezone=timezone)
    codes = values.cat.codes.to_numpy()
    missing = codes < 0
    take = np.maximum(codes, 0)

    def spread(mask: pd.Series) -> pd.Series:
        return pd.Series(mask.to_numpy()[take] & ~missing, index=values.index)

    bad = spread(bad_cats)
    converted = _nonempty({k: spread(m) for k, m in converted_cats.items()})
    if kind in (Kind.ID, Kind.TEXT):
        # trimming can merge categories (" D1" and "D1"): recode onto the distinct results
        merged = typed_cats.cat.codes.to_numpy()[take]
        merged[missing] = -1
        typed = pd.Categorical.from_codes(merged, dtype=typed_cats.dtype)
        return Coerced(pd.Series(typed, index=values.index), bad, converted)
    typed = typed_cats.take(take)
    typed.index = values.index
    return Coerced(typed.mask(missing), bad, converted)


def _to_text(values: pd.Series, blank: pd.Series, *, as_id: bool) -> pd.Series:
    if as_id and values.dtype.kind == "f":
        # Parquet written from a float column: 1234.0 is id "1234", never "1234.0".
        integral = values.notna() & (values == np.floor(values.fillna(0)))
        text = values.astype("string")
        text[integral] = values[integral].astype("int64").astype("string")
    else:
        text = values.astype("string").str.strip()
    return text.mask(blank).astype("string")


def _to_datetime(values: pd.Series, *, day_only: bool, timezone: str
                 ) -> tuple[pd.Series, dict[str, pd.Series]]:
    """Typed times (naive, in `timezone`) and the conversions made, by kind."""
    forms: dict[str, pd.Series] = {}
    if values.dtype.kind == "M":
        if values.dt.tz is not None:
            forms["time_zone"] = values.notna()
            values = values.dt.tz_convert(timezone).dt.tz_localize(None)
        typed = values
    else:
        text = values.astype("string").str.strip()
        plain, parsed = _plain_iso(text)
        if plain.all():  # every cell already YYYY-MM-DD[ HH:MM:SS]: nothing to convert
            return _to_datetime(parsed, day_only=day_only, timezone=timezone)
        if values.dtype.kind in "iu":  # Parquet yyyymmdd integers
            forms["integer_date"] = values.notna()
        else:
            iso = text.str.match(_ISO).fillna(True).astype(bool)
            offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool)
            number = text.str.match(_YYYYMMDD).fillna(False).astype(bool)
            forms["time_zone"] = offset
            forms["integer_date"] = number
            forms["date_form"] = ~iso & ~offset & ~number
            text = (text.str.replace(_YEAR_FIRST, r"\1-\2-\3", regex=True)
                    .str.replace(_CHINESE, r"\1-\2-\3 ", regex=True).str.strip())
        typed = _parse_times(text, timezone)
    typed = typed.astype("datetime64[ns]")
    if day_only:
        day = typed.dt.normalize()
        forms["time_dropped"] = (typed != day).fillna(False).astype(bool)
        typed = day
    return typed, forms


def _plain_iso(text: pd.Series) -> tuple[np.ndarray, pd.Series]:
    """Cells written exactly YYYY-MM-DD or YYYY-MM-DD HH:MM:SS (missing ones count as
    plain), and their times: the common case, read with two fixed formats instead of the
    patterns that find and convert every other form."""
    length = text.str.len().to_numpy(dtype=float, na_value=np.nan)
    parsed = np.full(len(text), np.datetime64("NaT"), dtype="datetime64[ns]")
    plain = np.isnan(length)
    for size, fmt in ((10, "%Y-%m-%d"), (19, "%Y-%m-%d %H:%M:%S")):
        at = length == size
        if at.any():
            got = pd.to_datetime(text if at.all() else text[at], format=fmt,
                                 errors="coerce").to_numpy(dtype="datetime64[ns]")
            parsed[at] = got
            plain[at] = ~np.isnat(got)
    return plain, pd.Series(parsed, index=text.index)


def _parse_times(text: pd.Series, timezone: str) -> pd.Series:
    """ISO 8601 text to naive times in `timezone`: plain ones as written, those with an
    offset (Z, +08:00) converted into it, so the same moment written either way lands on
    the same time."""
    offset = text.str.contains(_OFFSET, regex=True).fillna(False).astype(bool).to_numpy()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[ns]")
    if (~offset).any():
        out[~offset] = _iso(text[~offset], timezone, aware=False)
    if offset.any():
        out[offset] = _iso(text[offset], timezone, aware=True)
    return out


def _iso(text: pd.Series, timezone: str, *, aware: bool) -> pd.Series:
    try:
        typed = pd.to_datetime(text, format="ISO8601", errors="coerce", utc=aware)
    except ValueError:  # an offset in a form the pattern missed: each value on its own
        return text.map(lambda v: _iso_one(v, timezone)).astype("datetime64[ns]")
    if getattr(typed.dt, "tz", None) is not None:
        typed = typed.dt.tz_convert(timezone).dt.tz_localize(None)
    return typed.astype("datetime64[ns]")


def _iso_one(value, timezone: str):
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError):
        return pd.NaT
    if stamp is pd.NaT:
        return pd.NaT
    return stamp.tz_convert(timezone).tz_localize(None) if stamp.tzinfo else stamp


def _to_number(values: pd.Series) -> pd.Series:
    if values.dtype.kind in "fiub":
        typed = values.astype("float64")
    else:
        text = values.astype("string").str.strip()
        for sign in _CURRENCY:
            text = text.str.replace(sign, "", regex=False)
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
