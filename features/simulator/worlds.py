"""Named worlds: the robustness benchmark's dealer networks, each a set of World overrides.

A model proven on one world is not proven: `benchmarks/bench_worlds.py` backtests the
unchanged pipeline on each of these, and `dealer-risk simulate OUT --world NAME` writes one.
They differ in seed, start month (so the Spring Festival falls elsewhere in the year),
channel mix, ordering rhythm and the shared shocks that hit whole regions or channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from features.simulator.programs import DEFAULT_EFFECTS
from features.simulator.world import ScheduledShock, World


def _shock(kind: str, unit: str, start: str, months: int = 12, size: float = 0.15) -> dict:
    """A shock on given months: with the default 48 months, each world's scheduled shock
    runs through its newest backtest origins, so the benchmark always sees one."""
    return ScheduledShock(kind=kind, unit=unit, start=start, months=months,
                          size=size).model_dump()


def _effects(**changes: dict) -> dict:
    """The default programs' effects with some changed (a program's fields replaced)."""
    return {kind: effect.model_dump() | changes.get(kind, {})
            for kind, effect in DEFAULT_EFFECTS.items()}


@dataclass(frozen=True)
class NamedWorld:
    name: str
    description: str
    seed: int
    start: str
    overrides: dict = field(default_factory=dict)

    def world(self, base: World | None = None) -> World:
        base = base or World()
        return base.model_validate(base.model_dump() | self.overrides)


WORLDS: dict[str, NamedWorld] = {w.name: w for w in (
    NamedWorld("baseline", "the default world: regional demand slumps, no shared shocks",
               seed=42, start="2022-01"),
    NamedWorld("price-war", "regional price wars cut every dealer's price in a region",
               seed=7, start="2021-07",
               overrides={"price_war_rate": 0.04, "price_war_discount": (0.12, 0.2),
                          "price_war_months": (6, 10), "slump_rate": 0.006,
                          "scheduled_shocks": (_shock("price_war", "华东", "2024-07",
                                                      size=0.18),)}),
    NamedWorld("project-slump", "real-estate project dealers slump together; lumpier orders",
               seed=11, start="2022-04",
               overrides={"channel_slump_rate": 0.08, "channel_slump_depth": (0.35, 0.55),
                          "project_order_probability": 0.25, "recovery_rate": 0.12,
                          "scheduled_shocks": (_shock("channel_slump", "project", "2025-04",
                                                      size=0.5),)}),
    NamedWorld("disrupted", "regional logistics disruptions and store refits (pauses)",
               seed=23, start="2021-10",
               overrides={"logistics_disruption_rate": 0.04, "pause_rate": 0.004,
                          "scheduled_shocks": (_shock("logistics_disruption", "华南", "2024-10",
                                                      size=0.45),)}),
    NamedWorld("turbulent", "every shock at once, faster recoveries, more episodes",
               seed=5, start="2022-02",
               overrides={"price_war_rate": 0.03, "price_war_discount": (0.12, 0.2),
                          "channel_slump_rate": 0.05, "channel_slump_depth": (0.35, 0.55),
                          "logistics_disruption_rate": 0.03, "pause_rate": 0.003,
                          "recovery_rate": 0.12, "episode_rate": 0.04,
                          "scheduled_shocks": (_shock("price_war", "华北", "2025-02"),
                                               _shock("channel_slump", "project", "2025-02",
                                                      size=0.4))}),
    NamedWorld("program-null", "extra visits relieve nothing (the reps still visit more, so "
               "the data shows them); more pilots", seed=31, start="2022-03",
               overrides={"program_effects": _effects(extra_visits={"relief": {},
                                                                     "recovery": 0.0}),
                          "program_pilot_share": 0.04}),
    NamedWorld("program-harm", "rebates harm project dealers (channel conflict) while they "
               "help the others; more pilots", seed=47, start="2021-11",
               overrides={"program_effects": _effects(rebate={"harm_channel": "project",
                                                              "harm": 0.35}),
                          "program_pilot_share": 0.04}),
)}

WORLDS["other-lines"] = NamedWorld(
    "other-lines", "demand slumps along lines the reasons' peers (region x channel) are not "
    "drawn on: tier B everywhere, one city, one rep's dealers, half of a region's cities",
    seed=61, start="2022-05",
    overrides={"scheduled_shocks": (
        _shock("line_slump", "tier:B", "2025-06", size=0.3),
        _shock("line_slump", "city:成都", "2025-06", size=0.4),
        _shock("line_slump", "rep-of:D00100", "2025-06", size=0.4),
        _shock("line_slump", "region-part:华东", "2025-06", size=0.3))})

ROBUSTNESS = ("baseline", "price-war", "project-slump", "disrupted", "turbulent")
"""The worlds of the robustness benchmark (bench_worlds.py); the program worlds serve the
programs' benchmark (bench_programs.py)."""
