"""Named worlds: the robustness benchmark's dealer networks, each a set of World overrides.

A model proven on one world is not proven: `benchmarks/bench_worlds.py` backtests the
unchanged pipeline on each of these, and `dealer-risk simulate OUT --world NAME` writes one.
They differ in seed, start month (so the Spring Festival falls elsewhere in the year),
channel mix, ordering rhythm and the shared shocks that hit whole regions or channels.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from features.simulator.world import World


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
               overrides={"price_war_rate": 0.02, "slump_rate": 0.006}),
    NamedWorld("project-slump", "real-estate project dealers slump together; lumpier orders",
               seed=11, start="2022-04",
               overrides={"channel_slump_rate": 0.03, "project_order_probability": 0.25,
                          "recovery_rate": 0.12}),
    NamedWorld("disrupted", "regional logistics disruptions and store refits (pauses)",
               seed=23, start="2021-10",
               overrides={"logistics_disruption_rate": 0.025, "pause_rate": 0.004}),
    NamedWorld("turbulent", "every shock at once, faster recoveries, more episodes",
               seed=5, start="2022-02",
               overrides={"price_war_rate": 0.015, "channel_slump_rate": 0.02,
                          "logistics_disruption_rate": 0.015, "pause_rate": 0.003,
                          "recovery_rate": 0.12, "episode_rate": 0.04}),
)}
