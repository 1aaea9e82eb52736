"""Feature values in plain words, English and Chinese, from the catalog's templates."""

from __future__ import annotations

import math
from functools import lru_cache

from features.catalog import BY_NAME, CONTEXT_NOTES, VALUE_NAMES, Feature

LANGS = ("en", "zh")

# (word for a negative value, word for a positive one), per language
DIRECTIONS: dict[str, dict[str, tuple[str, str]]] = {
    "change": {"en": ("below", "above"), "zh": ("下降", "上升")},
    "per_month": {"en": ("falling", "rising"), "zh": ("下降", "增长")},
    "points": {"en": ("lower", "higher"), "zh": ("下降", "上升")},
    "count_change": {"en": ("fewer", "more"), "zh": ("减少", "增加")},
    "per_million_change": {"en": ("fewer", "more"), "zh": ("减少", "增加")},
    "flag": {"en": ("is not", "is"), "zh": ("不", "是")},
}


def _number(value: float) -> str:
    value = abs(value)
    return f"{value:,.0f}" if abs(value - round(value)) < 0.05 or value >= 100 else f"{value:,.1f}"


def format_value(unit: str, value: object, lang: str) -> str:
    """A value in its unit, without sign: the template's direction word carries the sign."""
    if unit == "category":
        return str(value)  # feature-specific words: value_words()
    v = float(value)  # type: ignore[arg-type]
    zh = lang == "zh"
    if unit == "CNY":
        if zh:
            return f"{abs(v) / 1e4:,.1f}万元" if abs(v) >= 1e4 else f"{abs(v):,.0f}元"
        return f"¥{abs(v) / 1e6:,.2f}M" if abs(v) >= 1e6 else f"¥{abs(v):,.0f}"
    if unit == "CNY_per_unit":
        return f"{abs(v):,.0f}元/件" if zh else f"¥{abs(v):,.0f} per unit"
    if unit in ("change", "per_month", "share", "ratio"):
        return f"{abs(v) * 100:.0f}%" if abs(v) >= 0.01 or v == 0 else f"{abs(v) * 100:.1f}%"
    if unit == "points":
        return f"{abs(v) * 100:.1f}个百分点" if zh else f"{abs(v) * 100:.1f} points"
    if unit == "per_million":
        return f"{abs(v):.1f}"
    return _number(v)


def direction(feature: Feature, value: object, lang: str) -> str:
    words = DIRECTIONS.get(feature.unit)
    if feature.words is not None:
        pair = feature.words[LANGS.index(lang)]
    elif words is not None:
        pair = words[lang]
    else:
        return ""
    positive = float(value) >= 0.5 if feature.unit == "flag" else float(value) > 0  # type: ignore[arg-type]
    return pair[1] if positive else pair[0]


# The sentences are pure functions of hashable values; a snapshot repeats many of them
# (peer medians, flags, categories), so they are remembered, up to a bound.
_REMEMBERED = 1 << 14


def value_words(name: str, value: object, lang: str) -> str:
    """A value in words: a code value by its name in the language (工程, not project)."""
    names = VALUE_NAMES.get(name, {}).get(str(value))
    if names is not None:
        return names[LANGS.index(lang)]
    return format_value(BY_NAME[name].unit, value, lang)


@lru_cache(maxsize=_REMEMBERED, typed=True)
def context_sentence(name: str, value: object, lang: str = "en") -> str | None:
    """What a fixed attribute means for a dealer's risk (catalog.CONTEXT_NOTES); None for a
    feature without a note or an unknown value."""
    notes = CONTEXT_NOTES.get(name)
    if notes is None or value is None or (not isinstance(value, str)
                                           and math.isnan(float(value))):
        return None
    pair = notes.get(str(value), notes.get(None))
    if pair is None:
        return None
    text = pair[LANGS.index(lang)].format(value=value_words(name, value, lang))
    return text[0].upper() + text[1:] if lang == "en" else text


@lru_cache(maxsize=_REMEMBERED, typed=True)
def sentence(name: str, value: object, lang: str = "en") -> str | None:
    """The feature's sentence for a value; None when the value is unknown."""
    if lang not in LANGS:
        raise ValueError(f"language must be one of {', '.join(LANGS)}, got {lang!r}")
    feature = BY_NAME[name]
    if value is None or (not isinstance(value, str) and math.isnan(float(value))):
        return None
    if feature.template_none is not None and abs(float(value) + 1) < 1e-9:
        return feature.template_none[LANGS.index(lang)]
    template = feature.template_zh if lang == "zh" else feature.template_en
    text = template.format(value=value_words(name, value, lang),
                           dir=direction(feature, value, lang))
    return text[0].upper() + text[1:] if lang == "en" else text


SIGNED_UNITS = {"change", "per_month", "points", "count_change", "per_million_change"}
UNIT_WORDS = {"days": ("{} days", "{}天"), "units": ("{} units", "{}件")}
UNIT_WORD_ONE = {"days": "1 day", "units": "1 unit"}
"""Units the templates spell out ("{value} days ago") but a bare value would not."""


@lru_cache(maxsize=_REMEMBERED, typed=True)
def format_signed(name: str, value: object, lang: str = "en") -> str | None:
    """A value standing alone (beside a sentence, in a table cell): in its unit, with its
    sign where the unit is a change (-42%, +3). A value that rounds to zero has no sign
    ("0.0 points", never "-0.0 points")."""
    if value is None or (not isinstance(value, str) and math.isnan(float(value))):
        return None
    feature = BY_NAME[name]
    text = format_value(feature.unit, value, lang)
    if feature.unit in UNIT_WORDS:
        text = (UNIT_WORD_ONE[feature.unit] if text == "1" and lang == "en" else
                UNIT_WORDS[feature.unit][LANGS.index(lang)].format(text))
    zero = not any(c in "123456789" for c in text)
    if not zero and (feature.unit in SIGNED_UNITS or (feature.unit != "category"
                                                       and float(value) < 0)):
        sign = "-" if float(value) < 0 else "+" if float(value) > 0 else ""
        return sign + text
    return text


def feature_is_calendar(name: str) -> bool:
    """A fact of the calendar (the month, the Spring Festival ahead): the dealer's own value
    a year earlier and its peers' are the same by construction."""
    feature = BY_NAME[name]
    return feature.group == "season" and feature.unit in ("month", "flag")


_CLAUSE = {"en": ("{months} months earlier: {past}", "peer median: {peer}", " ({})", "; "),
           "zh": ("{months}个月前：{past}", "同组中位数：{peer}", "（{}）", "；")}


@lru_cache(maxsize=_REMEMBERED, typed=True)
def sentence_with_context(name: str, value: object, lang: str = "en", *,
                          past: object = None, peer: object = None, months: int = 12
                          ) -> str:
    """The feature's sentence, followed by its own past value and its peers' median:
    the vertical and horizontal comparison a manager asks for next. A missing value reads
    as "no data" (its absence can itself move a score)."""
    text = sentence(name, value, lang)
    if text is None:
        # A missing value still moves a score (LightGBM's missing branch): say so.
        feature = BY_NAME[name]
        text = (f"{feature.description_en}: no data" if lang == "en"
                else f"{feature.description_zh}：无数据")
    if feature_is_calendar(name):
        return text  # the same for the dealer, its past year and its peers: nothing to compare
    own, peers, wrap, sep = _CLAUSE[lang]
    parts = []
    past_text, peer_text = format_signed(name, past, lang), format_signed(name, peer, lang)
    if past_text is not None:
        parts.append(own.format(months=months, past=past_text))
    if peer_text is not None:
        parts.append(peers.format(peer=peer_text))
    return text + wrap.format(sep.join(parts)) if parts else text
