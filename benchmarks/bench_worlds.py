"""Robustness across worlds: the unchanged pipeline backtested out of time on several
simulated dealer networks, each judged against its oracle.

    python benchmarks/bench_worlds.py                         # the five named worlds
    python benchmarks/bench_worlds.py --worlds price-war disrupted --origins 6
    python benchmarks/bench_worlds.py --dealers 1000 --months 42 --markdown out.md
    python benchmarks/bench_worlds.py --seeds 2     # and two held-out worlds drawn now

A model proven on one world is not proven. Each world (features.simulator.worlds) is
simulated (cached under <work>/worlds/NAME; --fresh redraws it), validated, built into the
panel, and backtested over the newest --origins monthly origins exactly as
`dealer-risk backtest` does (each origin: fit, calibrate on the newest matured months,
score the origin's dealers). Per world:

- churn ROC AUC of the model, of the oracle (the simulator's true probability of the label
  given the latent state, on the same rows), their ratio (target >= 0.95) with a paired
  bootstrap interval over dealers, the days-since-last-order ranking's, and the share of
  the gap from days-since to the oracle the model closes (with its interval); PR AUC of
  model and oracle;
- calibration: the mean probability against the observed rate at each origin, the worst
  relative gap (target within 15%), and ECE (10 bins);
- reasons (models.explain, as served: against the peers of the same region and channel,
  risk-raising only, fixed attributes never): the share of the shocked region's (channel's)
  dealers with the shock's group among their top-3 reasons during the shock, against the
  share elsewhere at the same origins (target at most 2x), beside the share under the
  naive ranking (raw contributions, any direction, fixed attributes included); and how
  often a churner's true cause is among its top-3 risk-raising reasons (target >= 75%);
  and judged fairly: at the churn month and 1 and 3 months before it, and over every
  at-risk dealer with an active cause, the top reason and the top 3 beside the constant
  answers (the group, or three groups, covering the most of those rows), with intervals;
- the oracle's own noise: its ROC AUC from a second, independent Monte-Carlo estimate;
- leaving or a quiet spell: the churn model and the leave model on the dealers that truly
  leave, against the leaving oracle.

The five named worlds were there while the pipeline was designed; `--seeds N` adds N
held-out worlds, each a kind drawn from --worlds with a seed and a start month drawn at
run time (printed, so a run can be repeated): figures nobody tuned to.

Prints one table and the command that produced it; --markdown writes it for RESULTS.md and
the model card. Time it alone: two LightGBM jobs on 2 cores slow each other several-fold.
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import time
from collections.abc import Callable
from datetime import date
from itertools import combinations
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
from sklearn.metrics import average_precision_score, roc_auc_score

from features.panel import build_panel
from features.settings import ContractSettings
from features.simulator import simulate
from features.simulator.network import simulate_network
from features.simulator.oracle import churn_oracle
from features.simulator.settings import SimulatorSettings
from features.simulator.truth import CAUSE_GROUPS, TRUTH_DIR, left_within, read_churners
from features.simulator.world import World
from features.simulator.worlds import ROBUSTNESS, WORLDS
from features.validation import load_data
from models.backtest import run_backtest
from models.card import with_section
from models.dataset import known_cutoffs, rows_at
from models.explain import CONTEXT_GROUPS, Context, explain, grouped_contributions, reason_groups
from models.fidelity import fidelity_table, rows_for_churners
from models.metrics import expected_calibration_error
from models.pipeline import explanation_fidelity
from models.training import fit_classifier, slices_for
from serve.batch.levers import batch_levers
from serve.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from bench_levers import CAUSES, hit_rates, lever_cause, true_causes  # noqa: E402

SHOCK_GROUPS = {"price_war": "price", "logistics_disruption": "logistics",
                "channel_slump": "orders", "line_slump": "orders"}
"""The catalog group a shared shock moves: the reason it must not become."""
RESAMPLES = 200
"""Bootstrap resamples of the paired intervals."""
TARGETS = {"auc_ratio": 0.95, "calibration_gap": 0.15, "oracle_gap": 0.10,
           "shock_ratio": 2.0, "cause_hit": 0.75,
           "leave_ratio": 0.90, "decile_gain": 2.0}
CARD_HEADING = "## Several worlds, each against its oracle"
CARD_INTRO = """The backtest above is one simulated world. `benchmarks/bench_worlds.py` backtests
the same pipeline, unchanged, on five (docs/simulator.md, "Several worlds"): each with its own
seed and start month, and four with shocks that hit a whole region or channel (price wars,
project-dealer slumps, logistics disruptions), store refits, lumpier orders or faster
recoveries; `--seeds N` adds held-out worlds, each a kind and a seed and start month drawn at
run time, on which nothing was ever tuned. The oracle is the simulator's own probability of the
label given its latent state: no model can rank better on average; "gap closed" is the share of
the way from the days-since-last-order ranking to the oracle the model covers; intervals are a
paired bootstrap over dealers. Targets in every world: ROC AUC at least 95% of the oracle's;
mean probability within 15% of the observed rate at every origin where the oracle's own mean
is within 10% of it (elsewhere the observed rate strays from what the dealers' true chances
give: noise no model should follow; the table "Calibration in the large" judges the level
against that noise instead: is the observed number of churners inside the 95% interval of the
score's own probabilities, beside the oracle, the bar, and a constant rate, the floor); a
shock's group among a dealer's top-3 reasons at most twice as often in the shocked region
(channel) as elsewhere; the true cause among the top-3 risk-raising reasons for at least 75%
of churners with a cause.
"naive" is the ranking shipped before (raw contributions against the average dealer, any
direction, fixed attributes included). The levers table asks of each world what bench_levers.py
asks of the demo: does an at-risk dealer's top lever name the cause the simulator put on it,
against always naming the commonest cause (no target: a lever is association, not cause; model
card "Levers"). "Reasons judged fairly" asks the fidelity question again where it is not
flattered: at the churn month and 1 and 3 months before it (the cause's footprint is largest
at the churn month), and over every at-risk dealer with an active cause, beside the constant
answers. The oracle's ROC AUC is given twice, from two independent Monte-Carlo estimates of
64 paths each: their difference is the oracle's own noise. The last table asks whether a
score finds the dealers that truly leave within the horizon rather than those going quiet for
a while (a store refit, a gap between project orders), against the simulator's leaving
oracle: the churn model, and the leave model (learned from the `leave` label: the silence
confirmed for 9 more months, so from cutoffs a year older).
Targets in every world: the leave model's ROC AUC on leavers at least 90% of the leaving
oracle's, and its top decile holding at least twice the true leavers of the churn score's."""


def world_data(name: str, root: Path, dealers: int, months: int, fresh: bool,
               seed: int | None = None, start: str | None = None) -> Path:
    """The named world's data (cached); `seed` and `start` draw another world of the same
    kind (a held-out world: its own network, events and shocks' timing)."""
    named = WORLDS[name]
    folder = root / (name if seed is None else f"{name}@{seed}-{start}")
    wanted = {"dealers": dealers, "months": months, "seed": named.seed if seed is None
              else seed, "start": start or named.start}
    manifest = folder / TRUTH_DIR / "manifest.json"
    months_file = folder / TRUTH_DIR / "dealer_months.parquet"
    if not fresh and manifest.is_file() and "oracle_leave" in pq.read_schema(months_file).names:
        recorded = json.loads(manifest.read_text(encoding="utf-8"))
        same = all(recorded["settings"].get(k) == v for k, v in wanted.items())
        if same and recorded["world"] == named.world().model_dump(mode="json"):
            return folder
    simulate(folder, SimulatorSettings(**wanted, world=named.world()))
    return folder


def naive_groups(bundle, rows: pd.DataFrame, top: int) -> list[list[str]]:
    """The ranking shipped before: groups by absolute raw contribution, fixed attributes in."""
    g = grouped_contributions(bundle, bundle.contributions(rows))
    order = np.argsort(-np.abs(g.to_numpy()), axis=1, kind="stable")[:, :top]
    return [[g.columns[j] for j in row] for row in order]


def shock_shares(panel: pd.DataFrame, bt, shocks: pd.DataFrame, settings: Settings,
                 hits: dict[int, set[str]] | None = None) -> dict:
    """Share of the shocked unit's active dealers with the shock's group among their top-3
    reasons, at origins where the shock runs at full height, against the other dealers."""
    if shocks.empty:
        return {}
    explain = settings.models.explain
    hits = hits or {}
    inside_new, outside_new, inside_old, outside_old = [], [], [], []
    each: dict[str, list[tuple[float, float, int]]] = {}
    for origin in bt.origins:
        month = origin - pd.DateOffset(months=1)  # the features' newest month
        rows = panel[(panel["cutoff"] == origin) & panel["active"]].reset_index(drop=True)
        bundle = bt.bundles[origin]["churn"]
        running = shocks[(pd.to_datetime(shocks["start"]) + pd.DateOffset(months=1) <= month)
                         & (pd.to_datetime(shocks["end"]) - pd.DateOffset(months=1) > month)]
        if running.empty:
            continue
        new = reason_groups(bundle, rows, rows, peer_keys=explain.peer_keys,
                            min_peer_group=settings.panel.min_peer_group,
                            top=explain.top_factors)
        old = naive_groups(bundle, rows, explain.top_factors)
        for index, shock in running.iterrows():
            group = SHOCK_GROUPS[shock["kind"]]
            hit = _in_unit(rows, shock, hits.get(index))
            if hit.sum() < 5 or (~hit).sum() < 5:
                continue
            has_new = np.array([group in t for t in new])
            has_old = np.array([group in t for t in old])
            inside_new.append(has_new[hit].mean())
            outside_new.append(has_new[~hit].mean())
            inside_old.append(has_old[hit].mean())
            outside_old.append(has_old[~hit].mean())
            label = f"{shock['kind']} {shock.get('line') or shock['region'] or shock['channel']}"
            each.setdefault(label, []).append((has_new[hit].mean(), has_new[~hit].mean(),
                                               int(hit.sum())))
    if not inside_new:
        return {}
    floor = 0.01  # a share elsewhere of 0 would make any inside share an infinite ratio
    per_shock = [{"shock": label, "in": float(np.mean([v[0] for v in values])),
                  "out": float(np.mean([v[1] for v in values])),
                  "dealers": int(np.mean([v[2] for v in values])), "origins": len(values)}
                 for label, values in each.items()]
    return {"shock_in": float(np.mean(inside_new)), "shock_out": float(np.mean(outside_new)),
            "shock_ratio": float(np.mean(inside_new) / max(np.mean(outside_new), floor)),
            "naive_shock_ratio": float(np.mean(inside_old) / max(np.mean(outside_old), floor)),
            "shock_cases": len(inside_new), "per_shock": per_shock,
            "calm_ratio": _calm_ratio(panel, bt, shocks, settings, floor, hits)}


def _in_unit(rows: pd.DataFrame, shock: pd.Series, hit: set[str] | None = None
             ) -> np.ndarray:
    """The rows of the shock's region, or of its channel, or the dealers a line slump hits
    (`hit`, from the truth's shock_dealers)."""
    if hit is not None:
        return rows["dealer_id"].astype(str).isin(hit).to_numpy()
    if shock["region"] is not None and pd.notna(shock["region"]):
        return (rows["profile_region"].astype(str) == shock["region"]).to_numpy()
    return (rows["profile_channel"].astype(str) == shock["channel"]).to_numpy()


def _calm_ratio(panel: pd.DataFrame, bt, shocks: pd.DataFrame, settings: Settings,
                floor: float, hits: dict[int, set[str]]) -> float:
    """The same ratio for the same units before their shocks began (cutoffs 3 to 8 months
    before the start, explained by the first origin's model): how much more often the group
    is a reason there with no shock at all. Project dealers' lumpy orders, for one, make
    orders a reason for them more often in any month."""
    explain = settings.models.explain
    bundle = bt.bundles[bt.origins[0]]["churn"]
    first = panel["cutoff"].min() + pd.DateOffset(months=12)
    ratios = []
    for index, shock in shocks.iterrows():
        group = SHOCK_GROUPS[shock["kind"]]
        for back in range(3, 9):
            cutoff = pd.Timestamp(shock["start"]) - pd.DateOffset(months=back)
            calm = shocks[(pd.to_datetime(shocks["start"]) <= cutoff)
                          & (pd.to_datetime(shocks["end"]) > cutoff - pd.DateOffset(months=1))]
            if cutoff < first or len(calm):
                continue  # too early for 12-month features, or another shock runs
            rows = panel[(panel["cutoff"] == cutoff) & panel["active"]].reset_index(drop=True)
            hit = _in_unit(rows, shock, hits.get(index))
            if hit.sum() < 5 or (~hit).sum() < 5:
                continue
            tops = reason_groups(bundle, rows, rows, peer_keys=explain.peer_keys,
                                 min_peer_group=settings.panel.min_peer_group,
                                 top=explain.top_factors)
            has = np.array([group in t for t in tops])
            ratios.append((has[hit].mean(), has[~hit].mean()))
    if not ratios:
        return float("nan")
    inside, outside = np.mean(ratios, axis=0)
    return float(inside / max(outside, floor))


def naive_cause_hits(panel: pd.DataFrame, bt, churners: pd.DataFrame, top: int) -> float:
    hits = []
    origins = list(bt.origins)
    for i, origin in enumerate(origins):
        end = origins[i + 1] if i + 1 < len(origins) else origin + pd.DateOffset(months=1)
        rows = rows_for_churners(panel, churners, origin, end, CAUSE_GROUPS)
        if len(rows):
            for cause, groups in zip(rows["cause"], naive_groups(
                    bt.bundles[origin]["churn"], rows, top), strict=True):
                hits.append(bool(CAUSE_GROUPS[cause] & set(groups)))
    return float(np.mean(hits)) if hits else float("nan")


def judge_world(name: str, folder: Path, settings: Settings, origins: int) -> dict:
    t0 = time.perf_counter()
    manifest = json.loads((folder / TRUTH_DIR / "manifest.json").read_text(encoding="utf-8"))
    loaded = load_data(folder, ContractSettings(as_of=date.fromisoformat(manifest["as_of"])))
    panel = build_panel(loaded.tables, panel=settings.panel, labels=settings.labels)
    models = settings.models.model_copy(update={"backtest": settings.models.backtest.model_copy(
        update={"origins": origins})})
    bt = run_backtest(panel, models, settings.labels)
    churn = bt.classifiers[bt.classifiers["model"] == "churn"]
    truth = pd.read_parquet(folder / TRUTH_DIR / "dealer_months.parquet",
                            columns=["dealer_id", "month", "oracle_churn", "oracle_leave"])
    truth["origin"] = pd.to_datetime(truth["month"])
    rows = churn.merge(truth[["dealer_id", "origin", "oracle_churn", "oracle_leave"]],
                       on=["dealer_id", "origin"], how="left")
    assert rows["oracle_churn"].notna().all(), "every scored row has an oracle"
    y, p, o = (rows[c].to_numpy(dtype=float) for c in ("y", "p_model", "oracle_churn"))
    per_origin = rows.groupby("origin").agg(rate=("y", "mean"), mean_p=("p_model", "mean"),
                                            oracle=("oracle_churn", "mean"))
    gap = (per_origin["mean_p"] / per_origin["rate"] - 1).abs()
    oracle_gap = (per_origin["oracle"] / per_origin["rate"] - 1).abs()
    out = {
        "world": name, "rows": len(rows), "churn_rate": float(y.mean()),
        "auc": roc_auc_score(y, p), "oracle_auc": roc_auc_score(y, o),
        "days_since_auc": roc_auc_score(y, rows["p_days_since"]),
        "rhythm_auc": roc_auc_score(y, rows["p_rhythm"]),
        "pr_auc": average_precision_score(y, p), "oracle_pr_auc": average_precision_score(y, o),
        "ece": expected_calibration_error(y, p), "calibration_gap": float(gap.max()),
        "oracle_gap": float(oracle_gap.max()),
        # issue 31's target: within 15% at every origin where the oracle itself is within
        # 10% (elsewhere the observed rate strays from its own expectation: noise)
        "calibration_eligible": int((oracle_gap <= TARGETS["oracle_gap"]).sum()),
        "calibration_met": int(((oracle_gap <= TARGETS["oracle_gap"])
                                & (gap <= TARGETS["calibration_gap"])).sum()),
        "calibration_missed": [f"{i:%Y-%m} {g:.0%} (oracle {o:.0%})" for i, g, o in zip(
            gap.index, gap, oracle_gap, strict=True)
            if o <= TARGETS["oracle_gap"] and g > TARGETS["calibration_gap"]],
        "per_origin": [f"{i:%Y-%m}: {r.mean_p:.3f} / {r.oracle:.3f} / {r.rate:.3f}"
                       for i, r in per_origin.iterrows()],
    }
    out |= level_in_interval(rows, panel, models, settings.labels)
    out["auc_ratio"] = out["auc"] / out["oracle_auc"]
    out["gap_closed"] = gap_closed(out["auc"], out["days_since_auc"], out["oracle_auc"])
    out |= paired_intervals(rows, RESAMPLES, seed=settings.models.seed)
    second = rows.merge(second_oracle(folder, manifest), on=["dealer_id", "origin"])
    out["oracle_auc_2"] = roc_auc_score(second["y"], second["oracle_churn_2"])
    out["leaving"] = leaving(rows, panel, bt, folder, settings, RESAMPLES)
    out["plain"] = plain_model(rows, panel, bt, settings, RESAMPLES)
    shocks = pd.read_parquet(folder / TRUTH_DIR / "shocks.parquet")
    members = folder / TRUTH_DIR / "shock_dealers.parquet"
    hit_sets = ({}
                if not members.is_file() else
                {int(k): set(v) for k, v in pd.read_parquet(members).groupby("shock")[
                    "dealer_id"]})
    out |= shock_shares(panel, bt, shocks, settings, hit_sets)
    churners = read_churners(folder)
    hits = explanation_fidelity(panel, bt, churners, CAUSE_GROUPS, models,
                                settings.panel.min_peer_group)
    table = fidelity_table(hits)
    out["cause_hit"] = float(table["hit_rate"].iloc[-1])
    out["cause_churners"] = int(table["churners"].iloc[-1])
    out["naive_cause_hit"] = naive_cause_hits(panel, bt, churners, models.explain.top_factors)
    out["reasons"] = reasons_fairly(panel, bt, folder, churners, settings, RESAMPLES)
    first_reason_fixed = 0  # reasons never come from the fixed-attribute groups
    for origin in bt.origins[-1:]:
        now = panel[(panel["cutoff"] == origin) & panel["active"]].reset_index(drop=True)
        tops = reason_groups(bt.bundles[origin]["churn"], now, now,
                             peer_keys=models.explain.peer_keys,
                             min_peer_group=settings.panel.min_peer_group, top=1)
        first_reason_fixed += sum(bool(t) and t[0] in CONTEXT_GROUPS for t in tops)
        naive_first = naive_groups(bt.bundles[origin]["churn"], now, 1)
        out["naive_first_fixed"] = float(np.mean([t[0] in CONTEXT_GROUPS
                                                  for t in naive_first]))
    out["first_reason_fixed"] = first_reason_fixed
    out["levers"] = lever_hits(panel, bt, folder, settings, RESAMPLES)
    out["seconds"] = time.perf_counter() - t0
    return out


Z95 = 1.959963984540054
"""The normal 97.5% quantile: a 95% interval is the mean +- Z95 standard deviations."""


def level_in_interval(rows: pd.DataFrame, panel: pd.DataFrame, models, labels) -> dict:
    """Issue 31's calibration target judged against the label's own noise: at each origin,
    is the observed number of churners inside the 95% interval the score's own
    probabilities give (independent Bernoullis: mean sum p, variance sum p(1 - p))? With
    independent dealers a calibrated score is inside at about 19 origins of 20; a shock
    that moves many dealers at once widens the true spread, so even the oracle falls out
    more often (35 of 42 on 2026-12-06). The oracle (the dealers' true chances) is the bar;
    the constant (every dealer at the churn rate of the months the calibrator is fitted
    on) the floor. The 15% rule asks more than truth can give where the observed rate
    itself strays 8-10% from the oracle's."""
    inside = {"model": 0, "oracle": 0, "constant": 0}
    outside = []
    for origin, group in rows.groupby("origin"):
        observed = float(group["y"].sum())
        calibration = rows_at(panel, "churn", slices_for(panel, "churn", origin, models,
                                                         labels).calibration)
        constant = np.full(len(group), float(calibration["churn"].mean()))
        for name, p in (("model", group["p_model"].to_numpy(dtype=float)),
                        ("oracle", group["oracle_churn"].to_numpy(dtype=float)),
                        ("constant", constant)):
            z = (observed - p.sum()) / np.sqrt(np.sum(p * (1 - p)))
            inside[name] += bool(abs(z) <= Z95)
            if name == "model" and abs(z) > Z95:
                outside.append(f"{origin:%Y-%m} z {z:+.1f}")
    return {"level_origins": int(rows["origin"].nunique()),
            **{f"level_{k}": v for k, v in inside.items()}, "level_outside": outside}


def level_table(results: list[dict]) -> str:
    """Calibration in the large per world: origins whose observed churners fall inside
    each score's own 95% interval."""
    lines = [f"| {r['world']} | {r['level_origins']} | {r['level_model']} | "
             f"{r['level_oracle']} | {r['level_constant']} | "
             f"{', '.join(r['level_outside']) or 'none'} |"
             for r in results if "level_model" in r]
    total = {k: sum(r[k] for r in results if "level_model" in r)
             for k in ("level_origins", "level_model", "level_oracle", "level_constant")}
    lines.append(f"| all | {total['level_origins']} | {total['level_model']} | "
                 f"{total['level_oracle']} | {total['level_constant']} | |")
    return ("Calibration in the large (issue 31's target against the label's own noise): "
            "origins where the observed number of churners lies inside the 95% interval of "
            "the score's own probabilities (mean sum p, variance sum p(1 - p)); the oracle "
            "is the bar (about 19 in 20 with independent dealers, fewer where shocks move "
            "many at once), the constant (the calibration months' churn rate "
            "for every dealer) the floor:\n\n| world | origins | model | oracle | constant | "
            "model outside (z) |\n|---|---:|---:|---:|---:|---|\n" + "\n".join(lines))


PLAIN_TREES = 400
"""The plain model's trees: LightGBM's defaults otherwise, no early stopping, no calibration."""


def plain_model(rows: pd.DataFrame, panel: pd.DataFrame, bt, settings: Settings,
                resamples: int) -> dict:
    """Training that travels (issue 31 part 6): a plain LightGBM (PLAIN_TREES trees, the
    library's default parameters, no early stopping, no calibration) fitted at each origin
    on every churn label known by then, scored on the same rows as the champion; its ROC
    AUC, and the champion's lead over it with a dealer-bootstrap interval."""
    import lightgbm as lgb
    labels = settings.labels
    parts = []
    for origin in bt.origins:
        spec = bt.bundles[origin]["churn"].spec
        train = rows_at(panel, "churn", known_cutoffs(panel, "churn", origin, labels))
        booster = lgb.train({"objective": "binary", "verbosity": -1, "seed": settings.models.seed,
                             "num_threads": settings.models.booster.threads},
                            lgb.Dataset(spec.matrix(train), train["churn"].to_numpy()),
                            num_boost_round=PLAIN_TREES)
        test = panel[(panel["cutoff"] == origin) & panel["churn"].notna()]
        parts.append(pd.DataFrame({"dealer_id": test["dealer_id"].to_numpy(), "origin": origin,
                                   "p_plain": booster.predict(spec.matrix(test))}))
    rows = rows.merge(pd.concat(parts), on=["dealer_id", "origin"], how="left")

    def lead(r: pd.DataFrame) -> dict[str, float]:
        return {"lead": roc_auc_score(r["y"], r["p_model"]) - roc_auc_score(r["y"], r["p_plain"])}

    return {"plain_auc": roc_auc_score(rows["y"], rows["p_plain"]), **lead(rows),
            **dealer_bootstrap(rows, lead, "y", resamples, settings.models.seed)}


def second_oracle(folder: Path, manifest: dict) -> pd.DataFrame:
    """An independent estimate of the label's oracle (other Monte-Carlo draws over the same
    world and latent states): how far the oracle's ROC AUC moves on its own noise."""
    recorded = manifest["settings"]
    world = World.model_validate(manifest["world"])
    net = simulate_network(recorded["dealers"], recorded["months"], recorded["start"],
                           recorded["seed"], world)
    oracle, _ = churn_oracle(net, world, recorded["seed"] + 1)
    n, m = oracle.shape
    return pd.DataFrame({"dealer_id": np.repeat(net.dealers["dealer_id"].to_numpy(), m),
                         "origin": np.tile(pd.DatetimeIndex(net.month_starts), n),
                         "oracle_churn_2": oracle.ravel()}).dropna()


def gap_closed(model: float, floor: float, oracle: float) -> float:
    """The share of the way from the days-since ranking to the oracle the model covers."""
    return (model - floor) / (oracle - floor) if oracle != floor else float("nan")


def paired_intervals(rows: pd.DataFrame, resamples: int, seed: int) -> dict:
    """95% intervals of the model's AUC / the oracle's and of the gap closed, by a paired
    bootstrap over dealers (a dealer's rows at several origins are not independent; the
    model, the oracle and days-since are scored on the same resampled rows)."""
    def stats(r: pd.DataFrame) -> dict[str, float]:
        a, ao, ad = (roc_auc_score(r["y"], r[c]) for c in ("p_model", "oracle_churn",
                                                             "p_days_since"))
        return {"auc_ratio": a / ao, "gap_closed": gap_closed(a, ad, ao)}
    return dealer_bootstrap(rows, stats, "y", resamples, seed)


def dealer_bootstrap(rows: pd.DataFrame, stats: Callable[[pd.DataFrame], dict[str, float]],
                     outcome: str | None, resamples: int, seed: int,
                     level: float = 0.95) -> dict:
    """`<stat>_low` and `<stat>_high` of each statistic over dealer-bootstrap resamples of
    the rows (resamples in which `outcome`, if given, takes one value only are skipped)."""
    rng = np.random.default_rng(seed)
    codes, index = np.unique(rows["dealer_id"].astype(str).to_numpy(), return_inverse=True)
    members = pd.Series(np.arange(len(rows))).groupby(index).apply(np.asarray).tolist()
    y = rows[outcome].to_numpy() if outcome else np.zeros(len(rows))
    draws: list[dict[str, float]] = []
    for _ in range(resamples):
        pick = np.concatenate([members[i] for i in rng.integers(0, len(codes), len(codes))])
        if outcome and len(np.unique(y[pick])) < 2:
            continue
        draws.append(stats(rows.iloc[pick]))
    q = [(1 - level) / 2, 1 - (1 - level) / 2]
    out = {}
    for key in draws[0]:
        low, high = np.nanquantile([d[key] for d in draws], q)
        out |= {f"{key}_low": float(low), f"{key}_high": float(high)}
    return out


def leaving(rows: pd.DataFrame, panel: pd.DataFrame, bt, folder: Path, settings: Settings,
            resamples: int) -> dict:
    """Leaving told apart from a quiet spell. `rows`: the churn backtest's rows with the
    truth's `oracle_leave`. Fits the leave model (the `leave` label: the silence confirmed
    for `labels.leave.confirm_months` more, so it learns from older cutoffs) at each origin
    and asks of it, of the churn model and of the leaving oracle how they rank the dealers
    that truly leave within the horizon (features.simulator.truth.left_within): ROC AUC
    (a constant scores 0.5) and the true leavers in each origin's top decile (a random
    list holds a tenth of them)."""
    rows = rows.copy()
    rows["cutoff"] = rows["origin"]
    rows["left"] = left_within(folder, rows, settings.labels.churn.horizon_days).to_numpy(int)
    rows["quiet"] = ((rows["y"] == 1) & (rows["left"] == 0)).astype(int)
    parts = []
    for origin in bt.origins:
        bundle = fit_classifier(panel, "leave", origin, settings.models, settings.labels)
        test = panel[(panel["cutoff"] == origin) & panel["churn"].notna()]
        parts.append(pd.DataFrame({"dealer_id": test["dealer_id"].to_numpy(), "origin": origin,
                                   "p_leave": bundle.predict(test)}))
    rows = rows.merge(pd.concat(parts), on=["dealer_id", "origin"], how="left")
    scores = {"churn": "p_model", "leave": "p_leave", "oracle": "oracle_leave"}

    def stats(r: pd.DataFrame) -> dict[str, float]:
        auc = {k: roc_auc_score(r["left"], r[c]) for k, c in scores.items()}
        return {"churn_ratio": auc["churn"] / auc["oracle"],
                "leave_ratio": auc["leave"] / auc["oracle"],
                "decile_gain": _top_decile(r, "p_leave") / max(_top_decile(r, "p_model"), 1)}

    ordering = rows["y"] == 0
    out = {f"leave_auc_{k}": roc_auc_score(rows["left"], rows[c]) for k, c in scores.items()}
    for k, c in scores.items():
        out[f"decile_{k}"] = _top_decile(rows, c)
        for group in ("left", "quiet"):
            part = rows[(ordering & (rows["left"] == 0)) | (rows[group] == 1)]
            out[f"{group}_auc_{k}"] = roc_auc_score(part[group], part[c])
    out |= {"leavers": int(rows["left"].sum()), "quiet": int(rows["quiet"].sum()),
            "label_leavers": int(((rows["y"] == 1) & (rows["left"] == 1)).sum()),
            **stats(rows), **dealer_bootstrap(rows, stats, "left", resamples,
                                              settings.models.seed)}
    return out


REASON_OFFSETS = (0, 1, 3)
"""Months before the churn month at which a churner's reasons are judged."""


def reasons_fairly(panel: pd.DataFrame, bt, folder: Path, churners: pd.DataFrame,
                   settings: Settings, resamples: int) -> list[dict]:
    """Does the true cause's group come among the top reasons, judged fairly: for churners
    with a cause at their churn month and 1 and 3 months before it, and for every at-risk
    dealer (churn probability >= levers.min_probability) with a cause active at an origin
    (its footprint at least half-way ramped: bench_levers.true_causes), each row explained
    by the newest backtest model fitted on or before its cutoff (out of sample), against
    its peers at that cutoff. Beside each rate: the constant answers (always the group
    covering the most of these rows at top 1; the three covering the most at top 3), and a
    dealer-bootstrap 95% interval of the top-3 rate."""
    explain_settings = settings.models.explain
    origins = list(bt.origins)
    cases = []
    caused = churners[churners["cause"].isin(list(CAUSE_GROUPS))]
    for k in REASON_OFFSETS:
        cuts = caused.assign(cutoff=caused["churn_month"] - pd.DateOffset(months=k))
        cases.append((f"churners, {k} month{'s' * (k > 1)} before" if k else
                      "churners, churn month",
                      cuts[cuts["cutoff"] >= origins[0]][["dealer_id", "cutoff", "cause"]]))
    ramps = [f"ramp_{c}" for c in CAUSES]
    months = pd.read_parquet(folder / TRUTH_DIR / "dealer_months.parquet",
                             columns=["dealer_id", "month", *ramps])
    at_risk = []
    for origin in origins:
        rows = panel[(panel["cutoff"] == origin) & panel["active"]]
        p = bt.bundles[origin]["churn"].predict(rows)
        risky = rows.loc[p >= settings.levers.min_probability, "dealer_id"]
        causes = true_causes(months, origin).reindex(risky.to_numpy())
        at_risk.append(pd.DataFrame({"dealer_id": risky.to_numpy(), "cutoff": origin,
                                     "cause": causes.to_numpy()}).dropna())
    cases.append(("at risk, cause active", pd.concat(at_risk, ignore_index=True)))
    out = []
    for name, keys in cases:
        rows = panel.merge(keys, on=["dealer_id", "cutoff"], how="inner")
        if rows.empty:
            continue
        tops = []
        for cutoff, part in rows.groupby("cutoff", sort=True):
            origin = max(o for o in origins if o <= cutoff)
            population = panel[(panel["cutoff"] == cutoff)
                               & (panel["active"] | panel["dealer_id"].isin(part["dealer_id"]))]
            found = reason_groups(bt.bundles[origin]["churn"], part, population,
                                  peer_keys=explain_settings.peer_keys,
                                  min_peer_group=settings.panel.min_peer_group,
                                  top=explain_settings.top_factors)
            tops += [(d, cutoff, t) for d, t in zip(part["dealer_id"], found, strict=True)]
        got = pd.DataFrame(tops, columns=["dealer_id", "cutoff", "top"]).merge(
            rows[["dealer_id", "cutoff", "cause"]], on=["dealer_id", "cutoff"])
        pairs = list(zip(got["top"], got["cause"], strict=True))
        got["hit1"] = [bool(t) and t[0] in CAUSE_GROUPS[c] for t, c in pairs]
        got["hit3"] = [bool(CAUSE_GROUPS[c] & set(t)) for t, c in pairs]
        const1, const3 = (_constant_rate(got["cause"], k) for k in (1, 3))
        interval = dealer_bootstrap(got, lambda r: {"hit3": float(r["hit3"].mean())}, None,
                                    resamples, settings.models.seed)
        per_cause = got.groupby("cause")["hit3"].agg(["mean", "size"]).astype(
            {"size": int})
        out.append({"case": name, "rows": len(got), "hit1": float(got["hit1"].mean()),
                    "const1": const1, "hit3": float(got["hit3"].mean()), "const3": const3,
                    "hit3_low": interval["hit3_low"], "hit3_high": interval["hit3_high"],
                    "per_cause": ", ".join(f"{c} {r['mean']:.2f} ({int(r['size'])})"
                                           for c, r in per_cause.iterrows())})
    return out


def _constant_rate(causes: pd.Series, k: int) -> float:
    """The hit rate of always naming the same k groups, the k covering the most rows."""
    groups = sorted({g for c in causes for g in CAUSE_GROUPS[c]})
    best = 0.0
    for chosen in combinations(groups, min(k, len(groups))):
        best = max(best, float(np.mean([bool(CAUSE_GROUPS[c] & set(chosen)) for c in causes])))
    return best


def _top_decile(rows: pd.DataFrame, score: str) -> int:
    """True leavers among the tenth of each origin's dealers with the highest score."""
    return int(sum(g.nlargest(max(1, len(g) // 10), score)["left"].sum()
                   for _, g in rows.groupby("origin")))


def lever_hits(panel: pd.DataFrame, bt, folder: Path, settings: Settings,
               resamples: int, origins: int = 3) -> dict:
    """Levers as `dealer-risk score` computes them, from each of the newest `origins`
    backtest models (out of time): how often an at-risk dealer's top lever names the
    cause whose footprint the simulator put on it (bench_levers.py, on every world), with
    dealer-bootstrap 95% intervals of the rates and of their leads over the constant
    answers (each resample's own commonest causes: what a constant would have said)."""
    ramps = [f"ramp_{c}" for c in ("service", "quality", "logistics", "price", "competitor",
                                   "neglect")]
    months = pd.read_parquet(folder / TRUTH_DIR / "dealer_months.parquet",
                             columns=["dealer_id", "month", *ramps])
    explain_settings = settings.models.explain
    records = []
    for origin in bt.origins[-origins:]:
        bundle = bt.bundles[origin]["churn"]
        rows = panel[(panel["cutoff"] == origin) & panel["active"]].reset_index(drop=True)
        past = panel[panel["cutoff"] == origin - pd.DateOffset(
            months=explain_settings.past_months)].reset_index(drop=True)
        contributions = bundle.contributions(rows)
        churn_p = bundle.calibrator(contributions.sum(axis=1))
        context = Context(rows, past, min_peer_group=settings.panel.min_peer_group,
                          months=explain_settings.past_months,
                          peer_keys=explain_settings.peer_keys)
        explained = explain(bundle, rows, context=context, top=explain_settings.top_factors,
                            top_lowering=explain_settings.top_lowering,
                            notes=explain_settings.context_notes,
                            note_min=explain_settings.context_min_logodds,
                            contributions=contributions,
                            population_contributions=contributions)
        levers = batch_levers(rows, churn_p, [[f.to_dict() for f in e.factors]
                                              for e in explained], bundle, settings)
        causes = true_causes(months, origin)
        for dealer, found in zip(rows["dealer_id"], levers, strict=True):
            if found:
                records.append({"dealer_id": dealer, "true_cause": causes.get(dealer),
                                "top_cause": lever_cause(found[0]),
                                "any_cause": causes.get(dealer) in {lever_cause(x)
                                                                    for x in found}})
    records = pd.DataFrame(records, columns=["dealer_id", "true_cause", "top_cause",
                                             "any_cause"])
    rates = hit_rates(records)
    caused = records[records["true_cause"].notna()]
    if not rates["dealers"]:
        return rates

    # the constant answers are fixed causes (the commonest of all these dealers): in a
    # resample they are scored as they are, not chosen again (the best of a resample's
    # noisy shares would flatter them)
    commonest = caused["true_cause"].value_counts().index[:3].tolist()

    def stats(r: pd.DataFrame) -> dict[str, float]:
        got = hit_rates(r)
        truth = r["true_cause"]
        return {"hit": got["hit"], "any": got["any"], "visit_top": got["visit_top"],
                "hit_lead": got["hit"] - float((truth == commonest[0]).mean()),
                "any_lead": got["any"] - float(truth.isin(commonest).mean())}
    return {**rates, "hit_lead": rates["hit"] - rates["naive"],
            "any_lead": rates["any"] - rates["naive3"],
            **dealer_bootstrap(caused, stats, None, resamples, settings.models.seed)}


def lever_row(world: str, lv: dict) -> str:
    """One world's line of the levers table."""
    def with_interval(key: str, signed: bool = False) -> str:
        fmt = "+.2f" if signed else ".2f"
        if f"{key}_low" not in lv:
            return f"{lv[key]:{fmt}}"
        return f"{lv[key]:{fmt}} ({lv[f'{key}_low']:{fmt}} to {lv[f'{key}_high']:{fmt}})"
    if not lv["dealers"]:
        return f"| {world} | 0 | | | | | | | | |"
    return (f"| {world} | {lv['dealers']} | {with_interval('hit')} | {lv['naive']:.2f} | "
            f"{with_interval('hit_lead', True)} | {with_interval('any')} | "
            f"{lv['naive3']:.2f} | {with_interval('any_lead', True)} | "
            f"{with_interval('visit_top')} | {lv['neglect']:.2f} |")


def verdicts(r: dict) -> list[str]:
    short = []
    if r["auc_ratio"] < TARGETS["auc_ratio"]:
        short.append(f"AUC {r['auc_ratio']:.3f} of the oracle's")
    if r["calibration_missed"]:
        short.append("mean probability more than 15% off where the oracle is within 10%: "
                     + ", ".join(r["calibration_missed"]))
    if "shock_ratio" in r and r["shock_ratio"] > TARGETS["shock_ratio"]:
        short.append(f"shock group {r['shock_ratio']:.1f}x as often in the shocked unit "
                     f"({r['calm_ratio']:.1f}x there before the shock)")
    if r["cause_hit"] < TARGETS["cause_hit"]:
        short.append(f"true cause in the top 3 for {r['cause_hit']:.0%}")
    if r["first_reason_fixed"]:
        short.append(f"{r['first_reason_fixed']} first reasons are fixed attributes")
    return short


def markdown(results: list[dict], command: str) -> str:
    head = ("| world | rows | churn rate | ROC AUC (oracle; another estimate) | ratio (95%) | "
            "days-since AUC | "
            "gap closed to the oracle (95%) | rhythm AUC | PR AUC (oracle) | ECE | worst "
            "origin gap (oracle's) | origins within 15% where the oracle is within 10% | "
            "shock group in / "
            "elsewhere (ratio; naive; same units before the shock) | true cause in top 3 "
            "(naive) | verdict |\n"
            "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in results:
        shock = (f"{r['shock_in']:.1%} / {r['shock_out']:.1%} ({r['shock_ratio']:.2f}x; "
                 f"naive {r['naive_shock_ratio']:.2f}x; before the shock "
                 f"{r['calm_ratio']:.2f}x)" if "shock_ratio" in r else "no shock")
        verdict = "; ".join(verdicts(r)) or "all targets met"
        lines.append(
            f"| {r['world']} | {r['rows']:,} | {r['churn_rate']:.3f} | {r['auc']:.3f} "
            f"({r['oracle_auc']:.3f}; {r['oracle_auc_2']:.3f}) | {r['auc_ratio']:.3f} "
            f"({r['auc_ratio_low']:.3f}-"
            f"{r['auc_ratio_high']:.3f}) | {r['days_since_auc']:.3f} | {r['gap_closed']:.2f} "
            f"({r['gap_closed_low']:.2f}-{r['gap_closed_high']:.2f}) | "
            f"{r['rhythm_auc']:.3f} | {r['pr_auc']:.3f} ({r['oracle_pr_auc']:.3f}) | "
            f"{r['ece']:.3f} | {r['calibration_gap']:.1%} ({r['oracle_gap']:.1%}) | "
            f"{r['calibration_met']} of {r['calibration_eligible']} | {shock} | "
            f"{r['cause_hit']:.1%} of {r['cause_churners']} ({r['naive_cause_hit']:.1%}) | "
            f"{verdict} |")
    per_origin = "\n".join(f"- {r['world']}: mean probability / oracle / observed rate: "
                           + ", ".join(r["per_origin"]) for r in results)
    levers = ("Levers (the newest 3 origins' models, dealers at risk with a true active "
              "cause; dealer-bootstrap 95% intervals in parentheses; a lead is the levers' "
              "rate less the constant answer's, on the same dealers):\n\n| world | dealers "
              "| top lever names the cause | always the commonest cause | lead | one of the "
              "3 does | always the 3 commonest | lead | top lever is \"visit more\" | "
              "cause is neglect |\n"
              "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n" + "\n".join(
                  lever_row(r["world"], r["levers"]) for r in results if "levers" in r))
    return (f"`{command}` ({platform.node()}, {date.today()}, "
            f"{sum(r['seconds'] for r in results):.0f} s)\n\n" + head + "\n".join(lines)
            + "\n\n" + per_origin + "\n\n" + level_table(results) + "\n\n"
            + plain_table(results) + "\n\n" + levers
            + "\n\n" + shocks_table(results)
            + "\n\n" + reasons_table(results)
            + "\n\n" + leaving_table(results) + "\n")


def plain_table(results: list[dict]) -> str:
    """The champion against a plain, untuned LightGBM on the same panel and rows."""
    lines = [f"| {r['world']} | {r['auc']:.3f} | {r['plain']['plain_auc']:.3f} | "
             f"{r['plain']['lead']:+.3f} ({r['plain']['lead_low']:+.3f} to "
             f"{r['plain']['lead_high']:+.3f}) |" for r in results if "plain" in r]
    return (f"Training that travels: the champion against a plain LightGBM ({PLAIN_TREES} "
            "trees, default parameters, no early stopping, no calibration, every churn label "
            "known at the origin), same rows; the champion's lead with a dealer-bootstrap 95% "
            "interval:\n\n| world | champion ROC AUC | plain LightGBM | champion's lead "
            "(95%) |\n|---|---|---|---|\n" + "\n".join(lines))


def shocks_table(results: list[dict]) -> str:
    """Each shock on its own: how often its group is among the top-3 reasons of the dealers
    it hits against the others, while it runs at full height."""
    lines = [f"| {r['world']} | {x['shock']} | {x['dealers']} | {x['in']:.1%} | {x['out']:.1%} "
             f"| {x['in'] / max(x['out'], 0.01):.2f}x | {x['origins']} |"
             for r in results for x in r.get("per_shock", [])]
    return ("Shocks one by one (the shock's group among the top-3 reasons of the dealers it "
            "hits, against the others, at the origins where it runs at full height; target "
            "at most 2x):\n\n| world | shock | dealers hit | in | elsewhere | ratio | "
            "origins |\n|---|---|---|---|---|---|---|\n" + "\n".join(lines))


def reasons_table(results: list[dict]) -> str:
    """The true cause among the reasons, judged fairly (reasons_fairly), per world."""
    head = ("Reasons judged fairly (the true cause's group among the top reasons, each row "
            "explained out of sample against its peers; constant: always the same group, or "
            "the same three, those covering the most of these rows; 95% interval by dealer "
            "bootstrap):\n\n| world | rows | top reason (constant) | top 3 (95%) | constant "
            "3 | top 3 by cause (rows) |\n|---|---|---|---|---|---|\n")
    lines = [f"| {r['world']}: {c['case']} | {c['rows']} | {c['hit1']:.2f} ({c['const1']:.2f})"
             f" | {c['hit3']:.2f} ({c['hit3_low']:.2f}-{c['hit3_high']:.2f}) | "
             f"{c['const3']:.2f} | {c['per_cause']} |"
             for r in results for c in r.get("reasons", [])]
    return head + "\n".join(lines)


def leaving_table(results: list[dict]) -> str:
    """Leaving against a quiet spell, per world (the `leaving` figures of each result)."""
    head = ("Leaving or a quiet spell (every origin's active dealers; a leaver truly churns "
            "within the horizon, a quiet spell fires the churn label without leaving; a "
            "constant score has AUC 0.5 and a random list holds a tenth of the leavers in "
            "its top decile; 95% intervals by dealer bootstrap):\n\n"
            "| world | leavers (of them the label's) | quiet spells | AUC on leaving: churn "
            "model / leave model / leaving oracle | churn / oracle (95%) | leave / oracle "
            "(95%) | leavers in the top decile: churn / leave / oracle (random) | leave / "
            "churn (95%) | churn model's AUC on leavers / on quiet spells, against dealers "
            "still ordering | verdict |\n"
            "|---|---|---|---|---|---|---|---|---|---|\n")
    lines = []
    for r in results:
        v = r.get("leaving")
        if not v:
            continue
        short = []
        if v["leave_ratio"] < TARGETS["leave_ratio"]:
            short.append(f"leave model at {v['leave_ratio']:.2f} of the oracle")
        if v["decile_gain"] < TARGETS["decile_gain"]:
            short.append(f"top decile {v['decile_gain']:.2f}x the churn score's (the "
                         f"oracle's {v['decile_oracle'] / max(v['decile_churn'], 1):.2f}x)")
        lines.append(
            f"| {r['world']} | {v['leavers']} ({v['label_leavers']}) | {v['quiet']} | "
            f"{v['leave_auc_churn']:.3f} / {v['leave_auc_leave']:.3f} / "
            f"{v['leave_auc_oracle']:.3f} | {v['churn_ratio']:.3f} ({v['churn_ratio_low']:.3f}-"
            f"{v['churn_ratio_high']:.3f}) | {v['leave_ratio']:.3f} ({v['leave_ratio_low']:.3f}-"
            f"{v['leave_ratio_high']:.3f}) | {v['decile_churn']} / {v['decile_leave']} / "
            f"{v['decile_oracle']} ({v['leavers'] / 10:.0f}) | {v['decile_gain']:.2f}x "
            f"({v['decile_gain_low']:.2f}-{v['decile_gain_high']:.2f}) | "
            f"{v['left_auc_churn']:.3f} / {v['quiet_auc_churn']:.3f} | "
            f"{'; '.join(short) or 'all targets met'} |")
    return head + "\n".join(lines)


def world_arguments(parser: argparse.ArgumentParser, origins: int) -> None:
    """The options every worlds benchmark takes (this one, bench_survival.py): which
    worlds, their size, the origins judged, held-out worlds drawn now or again, outputs."""
    parser.add_argument("--worlds", nargs="+", default=list(ROBUSTNESS), choices=list(WORLDS))
    parser.add_argument("--dealers", type=int, default=2000)
    parser.add_argument("--months", type=int, default=48)
    parser.add_argument("--origins", type=int, default=origins)
    parser.add_argument("--fresh", action="store_true", help="redraw cached worlds")
    parser.add_argument("--seeds", type=int, default=0, help="also this many held-out "
                        "worlds: a kind drawn from --worlds, a seed and a start month drawn "
                        "at run time (printed); nobody tuned anything on them")
    parser.add_argument("--held-out", nargs="+", default=[], metavar="KIND:SEED:START",
                        help="held-out worlds to draw again, as a run printed them (e.g. "
                        "disrupted:34106:2020-08)")
    parser.add_argument("--markdown", type=Path, help="also write the table here")
    parser.add_argument("--card", type=Path, help="write the table as a section of this "
                        "model card (docs/model-card.md)")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    world_arguments(parser, origins=6)
    args = parser.parse_args()
    settings = Settings()
    root = Path(settings.work_dir) / "worlds"
    command = "python benchmarks/bench_worlds.py " + " ".join(sys.argv[1:])
    results = []
    held_out = held_out_worlds(args.worlds, args.seeds, args.held_out)
    for name, seed, start in [(n, None, None) for n in args.worlds] + held_out:
        folder = world_data(name, root, args.dealers, args.months, args.fresh, seed, start)
        label = name if seed is None else f"held out: {name} seed {seed} from {start}"
        r = judge_world(label, folder, settings, args.origins)
        results.append(r)
        print(f"{label}: AUC {r['auc']:.3f} / oracle {r['oracle_auc']:.3f} = "
              f"{r['auc_ratio']:.3f} ({r['auc_ratio_low']:.3f}-{r['auc_ratio_high']:.3f}), "
              f"gap closed {r['gap_closed']:.2f}; worst origin gap {r['calibration_gap']:.1%}; ECE "
              f"{r['ece']:.3f}; cause hit {r['cause_hit']:.1%}"
              + (f"; shock ratio {r['shock_ratio']:.2f}x (naive {r['naive_shock_ratio']:.2f}x)"
                 if "shock_ratio" in r else "")
              + f"; leaving AUC churn {r['leaving']['leave_auc_churn']:.3f} / leave "
              f"{r['leaving']['leave_auc_leave']:.3f} / oracle "
              f"{r['leaving']['leave_auc_oracle']:.3f}, top-decile leavers "
              f"{r['leaving']['decile_churn']} / {r['leaving']['decile_leave']} / "
              f"{r['leaving']['decile_oracle']} ({r['seconds']:.0f} s)", flush=True)
    text = markdown(results, command.strip())
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.card is not None:
        write_card_section(args.card, CARD_HEADING, CARD_INTRO + "\n" + text)
    return 0


def held_out_worlds(kinds: list[str], seeds: int, again: list[str] = ()
                    ) -> list[tuple[str, int, str]]:
    """`seeds` worlds, each a kind drawn from `kinds` with a seed and a start month drawn
    now, and the worlds `again` names (KIND:SEED:START, as a run printed them); printed,
    so that a run can be repeated."""
    rng = np.random.default_rng()
    out = [(str(rng.choice(kinds)), int(rng.integers(1000, 99999)),
            f"{int(rng.integers(2020, 2023))}-{int(rng.integers(1, 13)):02d}")
           for _ in range(seeds)]
    out += [(k, int(seed), start) for k, seed, start in (h.split(":", 2) for h in again)]
    if out:
        print("held-out worlds (kind, seed, start): "
              + ", ".join(f"{k} {s} {m}" for k, s, m in out), flush=True)
    return out


def write_card_section(card: Path, heading: str, body: str) -> None:
    card.write_text(with_section(card.read_text(encoding="utf-8"), heading, body),
                    encoding="utf-8")
    print(f"# model card section written: {card}")


if __name__ == "__main__":
    raise SystemExit(main())
