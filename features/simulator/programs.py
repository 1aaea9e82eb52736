"""Retention programs in the simulated network: who gets which, what each truly does.

A program (a rebate, priority service, extra visits ...) acts on the latent trouble it can
plausibly move, and on orders: priority service relieves service trouble, extra visits
relieve neglect only, a rebate relieves price and competitor trouble a little while it
pulls orders forward into a bump that is not retention, a store fit-out pauses orders and
then relieves competitor trouble. How much it relieves differs from dealer to dealer (a
responsiveness drawn per dealer and program, scaled by tier). The effects are the
world's (`World.program_effects`), so a world can hold a program that does nothing or
one that harms a segment.

Who gets a program: randomized pilots (a share of the live dealers without a program,
each quarter, a program drawn at random) and managers, who give programs to dealers that
look at risk from what a manager sees (footprints of trouble, not the hazard), usually
the program their symptom suggests, often the habitual one: confounded, as in real data.

The truth: `program_oracle` restarts the month transition (network.step_month) from a
month's latent state under each program and under none, with the same random numbers,
and records each dealer's chance of truly leaving within the horizon: the true uplift of
every program for every dealer. A program with no effect has an uplift of exactly zero.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field

from features.contract import PROGRAM_KINDS

TIER_RESPONSE = {"A": 0.8, "B": 1.0, "C": 1.2}
"""Smaller dealers respond more to a given program (their trouble is more often one that a
program can reach)."""


class ProgramEffect(BaseModel):
    """What one program does while it runs, and after."""

    model_config = ConfigDict(frozen=True, extra="forbid")
    months: int = Field(ge=1, description="How long it runs.")
    relief: dict[str, float] = Field(default_factory=dict, description="Cause -> share of "
                                     "that trouble's pressure on health removed while it "
                                     "runs (at a responsiveness of 1).")
    recovery: float = Field(default=0.0, ge=0, description="Added monthly chance that an "
                            "episode of a relieved cause ends while it runs.")
    order_factor: float = Field(default=1.0, gt=0, description="Orders multiplier while it "
                                "runs (a pull-forward bump above 1).")
    pause_months: int = Field(default=0, ge=0, description="Its first months with orders "
                              "at pause_level (a store being refitted).")
    after_factor: float = Field(default=1.0, gt=0, description="Orders multiplier in the "
                                "after_months that follow (the pull-forward paid back).")
    after_months: int = Field(default=0, ge=0)
    harm_channel: str | None = Field(default=None, description="A channel whose dealers it "
                                     "harms while it runs.")
    harm: float = Field(default=0.0, ge=0, description="Pressure added on their health.")
    cost_months: float = Field(gt=0, description="Cost in months of the dealer's typical "
                               "orders (its size).")


def _effect(months, cost, relief=None, **more) -> ProgramEffect:
    return ProgramEffect(months=months, cost_months=cost, relief=relief or {}, **more)


DEFAULT_EFFECTS: dict[str, ProgramEffect] = {
    "rebate": _effect(3, 0.25, {"price": 0.15, "competitor": 0.08}, order_factor=1.35,
                      after_factor=0.75, after_months=3),
    "functional_discount": _effect(6, 0.35, {"price": 0.25, "competitor": 0.05}),
    "cash_discount": _effect(2, 0.12, {"price": 0.1}, order_factor=1.25, after_factor=0.8,
                             after_months=2),
    "volume_reward": _effect(3, 0.2, {"price": 0.08}, order_factor=1.2, after_factor=0.85,
                             after_months=3),
    "advertising_allowance": _effect(3, 0.15, order_factor=1.1),
    "freight_sharing": _effect(6, 0.15, {"logistics": 0.35}, recovery=0.04),
    "display_samples": _effect(6, 0.3, {"competitor": 0.25}),
    "store_fitout": _effect(4, 0.8, {"competitor": 0.3, "neglect": 0.1}, pause_months=2),
    "sales_contest": _effect(2, 0.08, order_factor=1.15, after_factor=0.9, after_months=2),
    "priority_service": _effect(6, 0.1, {"service": 0.4, "quality": 0.15}, recovery=0.06),
    "extra_visits": _effect(6, 0.06, {"neglect": 0.45}, recovery=0.04),
}
"""Each contract program's true effect in the default world."""
assert set(DEFAULT_EFFECTS) == set(PROGRAM_KINDS)

MANAGER_HABITS = ("rebate", "extra_visits")
"""What a manager reaches for when not matching the program to the symptom."""
CAUSE_PROGRAM = {"service": "priority_service", "quality": "priority_service",
                 "logistics": "freight_sharing", "price": "functional_discount",
                 "competitor": "display_samples", "neglect": "extra_visits"}
"""The program a symptom suggests to a manager who reads it right."""


@dataclass
class ProgramInputs:
    """Per program kind and dealer: what the transition needs of the programs."""

    kinds: tuple[str, ...]
    effects: tuple[ProgramEffect, ...]
    relief: np.ndarray  # float [kind, cause, dealer]: share of pressure removed while it runs
    recovery: np.ndarray  # float [kind, cause, dealer]: added recovery chance
    harm: np.ndarray  # float [kind, dealer]

    @property
    def months(self) -> np.ndarray:
        return np.array([e.months for e in self.effects])


def program_inputs(dealers: pd.DataFrame, effects: dict[str, ProgramEffect],
                   causes: tuple[str, ...], rng: np.random.Generator,
                   spread: float) -> ProgramInputs:
    """Each dealer's true response to each program: the effect scaled by a responsiveness
    drawn for the dealer and program (log-normal, `spread`) and by its tier."""
    kinds = tuple(PROGRAM_KINDS)
    n = len(dealers)
    tier = dealers["tier"].map(TIER_RESPONSE).fillna(1.0).to_numpy()
    channel = dealers["channel"].to_numpy()
    relief = np.zeros((len(kinds), len(causes), n))
    recovery = np.zeros_like(relief)
    harm = np.zeros((len(kinds), n))
    for k, kind in enumerate(kinds):
        effect = effects[kind]
        response = np.exp(rng.normal(0, spread, n)) * tier
        for cause, share in effect.relief.items():
            c = causes.index(cause)
            relief[k, c] = np.clip(share * response, 0.0, 0.95)
            recovery[k, c] = effect.recovery * response
        if effect.harm_channel is not None:
            harm[k] = np.where(channel == effect.harm_channel, effect.harm, 0.0)
    return ProgramInputs(kinds, tuple(effects[k] for k in kinds), relief, recovery, harm)
