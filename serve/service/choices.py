"""Enumerated query parameters: an unknown value is a 422 naming what is allowed, never an
empty answer that looks like "no dealer matches"."""

from __future__ import annotations

from collections.abc import Iterable

from features.catalog import GROUPS
from features.lifecycle import STAGES
from models.alerts import SEVERITIES
from serve.batch.champions import UNAVAILABLE
from serve.service.errors import Invalid
from serve.settings import Settings


def check(name: str, values: Iterable[str] | None, allowed: Iterable[str]) -> None:
    allowed = list(allowed)
    unknown = [v for v in values or () if v not in allowed]
    if unknown:
        raise Invalid(f"{name}: unknown value{'s' if len(unknown) > 1 else ''} "
                                 f"{', '.join(repr(v) for v in unknown)}; allowed: "
                                 f"{', '.join(allowed)}")


def bands(settings: Settings) -> list[str]:
    """The settings' bands, lowest first, and the band of a dealer with no churn score."""
    return [*sorted(settings.scoring.bands, key=settings.scoring.bands.get), UNAVAILABLE]


def check_dealer_filters(settings: Settings, *, band=None, stage=None) -> None:
    check("band", band, bands(settings))
    check("stage", stage, STAGES)


def check_alert_filters(settings: Settings, *, severity=None, rule=None, group=None) -> None:
    check("severity", severity, SEVERITIES)
    check("rule", rule, [r.name for r in settings.alerts.rules])
    check("group", group, [*GROUPS, "scores"])
