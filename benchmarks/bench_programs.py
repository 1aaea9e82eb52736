"""Program effects against the simulator's truth (issue 30).

For each world: simulate with the programs' truth for 6 months (each free dealer's chance
of leaving within 12 months under every program and none, Monte-Carlo with common random
numbers), build the panel, fit the effect model (models.effects) on the decision rows
before those months, and estimate every program's effect for every dealer in them. Then:

- rank correlation of the estimated and the true uplift (pooled over programs, and per
  program), and the mean estimated against the mean true effect per program;
- the Qini on the randomized rows of those months, with its bootstrap interval, beside
  "highest risk first" and "no effect" (zero);
- targeting at the same budget (the cost of one program for 5% of the dealer-months):
  true revenue kept per unit of cost when the budget goes by estimated effect per cost,
  to the highest risk first (each given the program with the best mean estimate), or at
  random. True revenue kept = the true fall of the chance of leaving x the dealer's last
  12 months of orders.

Worlds: the baseline (seed 42), program-null (extra visits do nothing), and --fresh N
seeds drawn at run time (printed). The truth's scenarios share their random numbers row
by row, so a dealer a program does not touch has a true uplift of exactly zero. Per
program it also prints the pilots learned from and the smallest mean effect they could
detect (80% power, 5% two-sided): the true effects sit far below it at these pilot shares.

    python benchmarks/bench_programs.py --fresh 1
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import tempfile
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
from scipy.stats import spearmanr

from features.panel import build_panel, feature_columns
from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.settings import SimulatorSettings
from features.simulator.truth import TRUTH_DIR
from features.simulator.worlds import WORLDS
from features.validation import load_data
from models.effects.evaluation import detectable, judge
from models.effects.learner import fit_effects
from models.effects.rows import NONE, decision_rows
from serve.settings import Settings

TRUTH_MONTHS = 6
BUDGET_SHARE = 0.05


def world_data(name: str, seed: int, start: str, overrides: dict, folder: Path) -> Path:
    base = WORLDS["baseline"].world()
    world = base.model_validate(base.model_dump() | overrides
                                | {"program_truth_months": TRUTH_MONTHS})
    simulate(folder, SimulatorSettings(seed=seed, start=start, world=world))
    return folder


def targeting(frame: pd.DataFrame, score: np.ndarray, budget: float) -> float:
    """True revenue kept per unit of cost when pairs are bought in `score` order, one
    program per dealer-month, until the budget is spent."""
    order = np.argsort(-score, kind="stable")
    taken, spent, kept = set(), 0.0, 0.0
    unit, cost, value = (frame[c].to_numpy() for c in ("unit", "cost", "true_value"))
    for i in order:
        if unit[i] in taken or spent + cost[i] > budget:
            continue
        taken.add(unit[i])
        spent += cost[i]
        kept += value[i]
    return kept / spent if spent else float("nan")


def judge_world(name: str, folder: Path, settings: Settings, seed: int) -> dict:
    t0 = time.perf_counter()
    manifest = json.loads((folder / TRUTH_DIR / "manifest.json").read_text(encoding="utf-8"))
    loaded = load_data(folder, ContractSettings(as_of=date.fromisoformat(manifest["as_of"])))
    panel = build_panel(loaded.tables, panel=settings.panel, labels=settings.labels)
    features = feature_columns(panel)
    s = settings.models.effects
    rows = decision_rows(panel, loaded.tables.get("programs"), s.horizon_months)
    truth = pd.read_parquet(folder / TRUTH_DIR / "program_effects.parquet")
    truth["cutoff"] = pd.to_datetime(truth["month"])
    first = truth["cutoff"].min()
    model = fit_effects(rows.loc[rows["cutoff"] < first], features, s, seed)
    scored = rows.loc[rows["cutoff"].isin(truth["cutoff"].unique())].reset_index(drop=True)
    est = model.effects(scored, alpha=1 - s.interval)
    est["dealer_id"] = scored["dealer_id"].to_numpy()[est["row"]]
    est["cutoff"] = scored["cutoff"].to_numpy()[est["row"]]
    wide = truth.pivot_table(index=["dealer_id", "cutoff"], columns="program",
                             values="p_leave")
    true = wide.sub(wide[NONE], axis=0).drop(columns=NONE).stack().rename("true")
    pairs = est.merge(true.reset_index(), on=["dealer_id", "cutoff", "program"])
    rho = spearmanr(pairs["effect"], pairs["true"]).statistic
    learned = rows.loc[(rows["cutoff"] < first) & rows["randomized"] & rows["left"].notna()]
    per_program = pairs.groupby("program").agg(
        estimated=("effect", "mean"), true=("true", "mean"),
        rho=("effect", lambda e: spearmanr(e, pairs.loc[e.index, "true"]).statistic),
        covers_zero=("low", lambda lo: float(((lo <= 0) & (pairs.loc[lo.index, "high"]
                                                            >= 0)).mean())))
    per_program = per_program.join(detectable(learned), how="outer")
    # Qini on the randomized rows of the truth months
    randomized = scored.loc[scored["randomized"] & scored["left"].notna()].reset_index(
        drop=True)
    r_est = model.effects(randomized)
    risk = model.leave_without(randomized)

    def model_score(kind: str) -> np.ndarray:
        if kind not in model.kinds:
            return np.zeros(len(randomized))
        return -r_est.loc[r_est["program"] == kind, "effect"].to_numpy()

    judged = judge(randomized, {"model": model_score, "highest risk first": lambda k: risk},
                   resamples=200, seed=seed) if len(randomized) else {}
    # targeting at a budget, valued with the truth
    costs = loaded.tables["programs"].merge(
        panel[["dealer_id", "cutoff", "orders_monthly_mean_12m"]].assign(
            cutoff=lambda f: pd.to_datetime(f["cutoff"])),
        left_on=["dealer_id", pd.to_datetime(loaded.tables["programs"]["started_on"])
                 .dt.to_period("M").dt.to_timestamp()],
        right_on=["dealer_id", "cutoff"], how="inner")
    ratio = (costs["cost"] / costs["orders_monthly_mean_12m"].replace(0, np.nan)).groupby(
        costs["program"]).median()
    frame = pairs.merge(scored[["dealer_id", "cutoff", "orders_amount_12m",
                                "orders_monthly_mean_12m"]], on=["dealer_id", "cutoff"])
    frame["cost"] = frame["program"].map(ratio).fillna(ratio.median()) * frame[
        "orders_monthly_mean_12m"].clip(lower=1.0)
    frame["revenue"] = frame["orders_amount_12m"].fillna(0.0)
    frame["true_value"] = -frame["true"] * frame["revenue"]
    frame["unit"] = frame["dealer_id"] + frame["cutoff"].astype(str)
    budget = BUDGET_SHARE * frame["unit"].nunique() * frame["cost"].median()
    by_model = np.where(frame["effect"] < 0, -frame["effect"] * frame["revenue"]
                        / frame["cost"], -np.inf)
    risk_all = model.leave_without(scored)
    frame["risk"] = risk_all[frame["row"].to_numpy(dtype=int)]
    ate = frame.groupby("program")["effect"].mean() / frame.groupby("program")["cost"].mean()
    best = ate.idxmin()
    by_risk = np.where(frame["program"] == best, frame["risk"], -np.inf)
    rng = np.random.default_rng(seed)
    random_values = [targeting(frame, rng.random(len(frame)), budget) for _ in range(20)]
    values = {"model": targeting(frame, by_model, budget),
              "highest risk first": targeting(frame, by_risk, budget),
              "random (mean of 20)": float(np.nanmean(random_values))}
    return {"world": name, "rows": len(rows), "programs": int((rows["program"] != NONE).sum()),
            "pilots": int(rows["pilot"].ne(NONE).sum()), "modelled": list(model.kinds),
            "spearman": float(rho), "per_program": per_program,
            "qini": judged, "targeting": values, "risk_first_program": best,
            "seconds": time.perf_counter() - t0}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--fresh", type=int, default=1, help="Worlds with seeds drawn now.")
    parser.add_argument("--seeds", type=int, nargs="+", help="These fresh seeds instead of "
                        "drawing --fresh (to compare two settings on the same worlds).")
    parser.add_argument("--learn-from", choices=["all", "randomized"],
                        help="models.effects.learn_from (default: the settings').")
    parser.add_argument("--pilot-share", type=float, help="Every world's program_pilot_share "
                        "(the share of free dealers drawn into a pilot each quarter; the "
                        "worlds' own: 0.02, program-null 0.04): how much must a "
                        "manufacturer pilot before the effects can be learned?")
    parser.add_argument("--markdown", type=Path, help="Write the table here too.")
    args = parser.parse_args()
    settings = Settings()
    if args.learn_from:
        settings.models.effects.learn_from = args.learn_from
    seeds = args.seeds or np.random.default_rng().integers(1000, 99999, args.fresh).tolist()
    worlds = [("baseline", 42, "2022-01", {}),
              ("program-null", WORLDS["program-null"].seed, WORLDS["program-null"].start,
               WORLDS["program-null"].overrides)]
    worlds += [(f"fresh-{s}", s, "2022-01", {}) for s in seeds]
    if args.pilot_share is not None:
        worlds = [(n, s, st, o | {"program_pilot_share": args.pilot_share})
                  for n, s, st, o in worlds]
    print(f"fresh seeds: {seeds}; effects learned from: "
          f"{settings.models.effects.learn_from}; pilot share: "
          f"{args.pilot_share or 'each world its own'}", flush=True)
    lines = ["| world | programs given (pilots) | modelled | Spearman est. vs true | "
             "Qini model (95%) | Qini highest risk first | kept per cost: model | "
             "highest risk first | random |", "|---|---|---|---|---|---|---|---|---|"]
    details = []
    with tempfile.TemporaryDirectory() as tmp:
        for name, seed, start, overrides in worlds:
            folder = world_data(name, seed, start, overrides, Path(tmp) / name)
            out = judge_world(name, folder, settings, settings.models.seed)
            q, r = out["qini"].get("model"), out["qini"].get("highest risk first")
            t = out["targeting"]
            lines.append(
                f"| {name} | {out['programs']} ({out['pilots']}) | {len(out['modelled'])} | "
                f"{out['spearman']:+.3f} | "
                + (f"{q.value:+.4f} ({q.low:+.4f} to {q.high:+.4f}) | {r.value:+.4f} | "
                   if q else "n/a | n/a | ")
                + f"{t['model']:.3f} | {t['highest risk first']:.3f} | "
                  f"{t['random (mean of 20)']:.3f} |")
            details.append(f"\n{name} ({out['seconds']:.0f} s; highest risk first gives "
                           f"{out['risk_first_program']}):\n"
                           + out["per_program"].round(4).to_string())
            print(lines[-1], flush=True)
    command = "python benchmarks/bench_programs.py " + " ".join(sys.argv[1:])
    text = (f"`{command}` ({platform.machine()}, Python {platform.python_version()}, "
            f"{date.today()}; fresh seeds {seeds}; effects learned from "
            f"{settings.models.effects.learn_from}; pilot share "
            f"{args.pilot_share or 'each world its own'})\n\n" + "\n".join(lines) + "\n"
            + "\n".join(details))
    print(text)
    if args.markdown:
        args.markdown.write_text(text + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
