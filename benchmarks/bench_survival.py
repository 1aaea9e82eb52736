"""Time to leaving across worlds: the survival model against Kaplan-Meier's one curve for all
and against the simulator's leaving oracle, out of time.

    python benchmarks/bench_survival.py                  # the five named worlds
    python benchmarks/bench_survival.py --seeds 2        # and two held-out worlds drawn now
    python benchmarks/bench_survival.py --worlds baseline --origins 3
    python benchmarks/bench_survival.py --held-out disrupted:34106:2020-08   # again
    python benchmarks/bench_survival.py --months 60 --stale 6   # kept champions, recalibrated

Each world (cached by bench_worlds.py under <work>/worlds) is built into the panel, and the
survival model is refitted at the newest --origins origins whose dealers the data follows
for the whole horizon (12 months, plus the 9 that confirm a loss), learning only what was
settled before each origin (models.survival). Per world, pooled over the origins, with
dealer-bootstrap 95% intervals:

- Uno's C at 12 months (risk: 1 - the chance of still ordering at 12) and the integrated
  Brier score over months 1-11, of the model and of Kaplan-Meier fitted on the rows the
  model learned from (the constant: C 0.5);
- D-calibration (the chi-square test's p and the fullest of ten bins against an even
  share), and the predicted against the observed share still ordering at 12 months;
- Uno's C at 3 months of the model (risk: 1 - S(3)) against the simulator's leaving oracle
  on the same rows (its probability that the dealer truly leaves in the months the 90-day
  horizon touches, given the latent state): no model ranks better on average.

With --stale MONTHS, also what `retrain` does for a survival champion the gate keeps: at
each origin, the model fitted MONTHS earlier (a champion that kept its place), its curves as
they are and with the hazards' calibrator refitted on the newest periods at the origin
(models.survival.recalibrated_survival, what `retrain` registers when they drift), beside the
model fitted at the origin and Kaplan-Meier, on the same rows; and at how many origins
`retrain`'s check finds them drifting. Needs the history for a fit MONTHS before each origin
(--months 60 for 6).

The oracle speaks of three months only; over twelve there is no oracle here, and the
honest reference is Kaplan-Meier. Prints the table and the command that produced it;
--markdown writes it for RESULTS.md, --card as a section of the model card. Time it alone.
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from features.panel import build_panel
from features.settings import ContractSettings
from features.simulator.truth import TRUTH_DIR
from features.validation import load_data
from models.dataset import TrainingDataError
from models.survival import (
    LABEL,
    fit_survival,
    newest_periods,
    recalibrated_survival,
    run_survival_backtest,
    survival_calibration,
    survival_metrics,
    survival_origins,
)
from models.survival_metrics import integrated_brier, uno_c
from serve.settings import Settings

sys.path.insert(0, str(Path(__file__).parent))
from bench_worlds import (  # noqa: E402
    dealer_bootstrap,
    held_out_worlds,
    world_arguments,
    world_data,
    write_card_section,
)

RESAMPLES = 200
CARD_HEADING = "## Time to leaving in several worlds"
CARD_INTRO = """`benchmarks/bench_survival.py` refits the survival model at the newest origins
of each world whose dealers the data follows for the whole 12 months (plus the 9 that confirm
a loss), and judges the curves on what happened: Uno's C at 12 months and the integrated Brier
score against Kaplan-Meier (one curve for every dealer, the constant), D-calibration, the mean
predicted against the observed share still ordering at 12 months, and at 3 months Uno's C
against the simulator's leaving oracle on the same rows. Intervals: 95%, dealer bootstrap.
"held out" worlds are drawn at run time; nothing was tuned on them."""


def stale_champions(panel: pd.DataFrame, bt, settings: Settings, months: int) -> dict | None:
    """At each origin of `bt` whose history allows a fit `months` earlier: that older model's
    curves on the origin's rows, as they are and recalibrated on the origin's newest periods,
    beside the model fitted at the origin and Kaplan-Meier (bt's), on the same rows; and
    retrain's check of the older model there. None when no origin allows it."""
    models, labels = settings.models, settings.labels
    parts: dict[str, list] = {"time": [], "event": [], "stale": [], "recalibrated": [],
                              "fresh": [], "kaplan_meier": []}
    used, drifting, gaps = [], 0, []
    for origin in bt.origins:
        try:
            old = fit_survival(panel, origin - pd.DateOffset(months=months), models, labels)
        except TrainingDataError:
            continue
        periods = newest_periods(old, panel, origin, models, labels)
        check = survival_calibration(old, periods, settings.scoring.calibration_tolerance)
        drifting += check["drifting"]
        gaps.append(check["gap"])
        fixed = recalibrated_survival(old, periods, models)
        test = panel[(panel["cutoff"] == origin) & panel[LABEL].notna()]  # bt's rows there
        at = np.flatnonzero((bt.rows["origin"] == origin).to_numpy())
        parts["time"].append(bt.rows["time"].to_numpy()[at])
        parts["event"].append(bt.rows["event"].to_numpy()[at])
        parts["stale"].append(old.curves(test))
        parts["recalibrated"].append(fixed.curves(test))
        parts["fresh"].append(bt.curves[at])
        parts["kaplan_meier"].append(bt.baseline[at])
        used.append(origin)
    if not used:
        return None
    t, e = np.concatenate(parts["time"]), np.concatenate(parts["event"])
    return {"origins": ", ".join(f"{o:%Y-%m}" for o in used), "rows": len(t),
            "drifting": drifting, "gaps": gaps,
            **{k: survival_metrics(t, e, np.concatenate(parts[k]), models)
               for k in ("stale", "recalibrated", "fresh", "kaplan_meier")}}


def stale_markdown(results: list[dict], months: int) -> str:
    """The --stale table: a champion fitted `months` before each origin, as it is and
    recalibrated, against a fresh fit and Kaplan-Meier."""
    lines = [f"Champions fitted {months} months before the origin (kept by the gate), as they "
             "are and recalibrated on the origin's newest periods (what `retrain` does when "
             "its check finds them drifting), against the model fitted at the origin and "
             "Kaplan-Meier, on the same rows:", "",
             "| world | origins | dealer-months | retrain's check: drifting (expected / "
             "observed losses - 1) | IBS: kept / recalibrated / fitted at the origin / "
             "Kaplan-Meier | D-calibration p: kept / recalibrated / fitted / Kaplan-Meier | "
             "still ordering at 12, predicted: kept / recalibrated / fitted / observed | "
             "Uno's C at 12: kept / recalibrated |",
             "|---|---|---|---|---|---|---|---|"]
    keys = ("stale", "recalibrated", "fresh", "kaplan_meier")
    for r in results:
        st = r.get("stale_champions")
        if st is None:
            lines.append(f"| {r['world']} | none with {months} months of history before | "
                         "| | | | | |")
            continue
        ibs = " / ".join(f"{st[k]['ibs']:.4f}" for k in keys)
        dcal = " / ".join(f"{st[k]['d_calibration_p']:.3g}" for k in keys)
        still = " / ".join(f"{st[k]['predicted_still_ordering']:.1%}" for k in keys[:3])
        gaps = ", ".join(f"{g:+.0%}" for g in st["gaps"])
        lines.append(
            f"| {r['world']} | {st['origins']} | {st['rows']:,} | {st['drifting']} of "
            f"{len(st['gaps'])} ({gaps}) | {ibs} | {dcal} | {still} / "
            f"{st['stale']['observed_still_ordering']:.1%} | {st['stale']['uno_c']:.3f} / "
            f"{st['recalibrated']['uno_c']:.3f} |")
    return "\n".join(lines)


def judge_world(name: str, folder: Path, settings: Settings, origins: int,
                stale: int = 0) -> dict:
    t0 = time.perf_counter()
    manifest = json.loads((folder / TRUTH_DIR / "manifest.json").read_text(encoding="utf-8"))
    loaded = load_data(folder, ContractSettings(as_of=date.fromisoformat(manifest["as_of"])))
    panel = build_panel(loaded.tables, panel=settings.panel, labels=settings.labels)
    models, labels = settings.models, settings.labels
    chosen = survival_origins(panel, origins, models, labels)
    bt = run_survival_backtest(panel, models, labels, chosen)
    truth = pd.read_parquet(folder / TRUTH_DIR / "dealer_months.parquet",
                            columns=["dealer_id", "month", "oracle_leave"])
    truth["origin"] = pd.to_datetime(truth["month"])
    rows = bt.rows.copy()
    rows["dealer_id"] = rows["dealer_id"].astype(str)
    truth["dealer_id"] = truth["dealer_id"].astype(str)
    rows = rows.merge(truth[["dealer_id", "origin", "oracle_leave"]], how="left",
                      on=["dealer_id", "origin"])
    assert rows["oracle_leave"].notna().all(), "every scored row has an oracle"
    horizon = models.survival.horizon_months
    months = np.arange(1, horizon + 1, dtype=float)
    rows["row"] = np.arange(len(rows))

    def stats(r: pd.DataFrame) -> dict[str, float]:
        t, e, i = r["time"].to_numpy(), r["event"].to_numpy(), r["row"].to_numpy()
        m, k = bt.curves[i], bt.baseline[i]
        return {"uno_c": uno_c(t, e, 1 - m[:, -1], horizon),
                "ibs": integrated_brier(t, e, m, months),
                "ibs_km": integrated_brier(t, e, k, months),
                "c3": uno_c(t, e, 1 - m[:, 2], 3.0),
                "c3_oracle": uno_c(t, e, r["oracle_leave"].to_numpy(), 3.0)}
    point = stats(rows)
    out = {"world": name, "origins": ", ".join(f"{o:%Y-%m}" for o in chosen),
           "rows": len(rows), "events": int(rows["event"].sum()), **point,
           **dealer_bootstrap(rows, stats, None, RESAMPLES, seed=models.seed)}
    t, e = rows["time"].to_numpy(), rows["event"].to_numpy()
    out["model"] = survival_metrics(t, e, bt.curves, models)
    out["km"] = survival_metrics(t, e, bt.baseline, models)
    out["c3_ratio"] = point["c3"] / point["c3_oracle"]
    if stale:
        out["stale_champions"] = stale_champions(panel, bt, settings, stale)
    out["seconds"] = time.perf_counter() - t0
    return out


def markdown(results: list[dict], command: str) -> str:
    lines = [
        "| world | origins | dealer-months (left within 12) | Uno's C at 12: model (95%) | "
        "Kaplan-Meier | IBS: model (95%) | Kaplan-Meier | D-calibration p (worst bin): model "
        "| Kaplan-Meier | still ordering at 12: predicted / observed | Uno's C at 3: model / "
        "leaving oracle |",
        "|---|---|---|---|---|---|---|---|---|---|---|"]
    for r in results:
        m, k = r["model"], r["km"]
        lines.append(
            f"| {r['world']} | {r['origins']} | {r['rows']:,} ({r['events']}) | "
            f"{r['uno_c']:.3f} ({r['uno_c_low']:.3f}-{r['uno_c_high']:.3f}) | "
            f"{k['uno_c']:.3f} | {r['ibs']:.4f} ({r['ibs_low']:.4f}-{r['ibs_high']:.4f}) | "
            f"{r['ibs_km']:.4f} | {m['d_calibration_p']:.3g} ({m['d_calibration_worst_bin']:.2f}) "
            f"| {k['d_calibration_p']:.3g} ({k['d_calibration_worst_bin']:.2f}) | "
            f"{m['predicted_still_ordering']:.1%} / {m['observed_still_ordering']:.1%} | "
            f"{r['c3']:.3f} / {r['c3_oracle']:.3f} ({r['c3_ratio']:.2f}) |")
    return "\n".join(lines) + f"\n\n`{command}`\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    world_arguments(parser, origins=3)
    parser.add_argument("--stale", type=int, default=0, metavar="MONTHS",
                        help="also champions fitted this many months before each origin, "
                        "as they are and recalibrated (what retrain does)")
    args = parser.parse_args()
    settings = Settings()
    root = Path(settings.work_dir) / "worlds"
    command = "python benchmarks/bench_survival.py " + " ".join(sys.argv[1:])
    held_out = held_out_worlds(args.worlds, args.seeds, args.held_out)
    results = []
    for name, seed, start in [(n, None, None) for n in args.worlds] + held_out:
        folder = world_data(name, root, args.dealers, args.months, args.fresh, seed, start)
        label = name if seed is None else f"held out: {name} seed {seed} from {start}"
        r = judge_world(label, folder, settings, args.origins, args.stale)
        results.append(r)
        print(f"{label}: Uno's C {r['uno_c']:.3f} ({r['uno_c_low']:.3f}-{r['uno_c_high']:.3f})"
              f" vs KM {r['km']['uno_c']:.3f}; IBS {r['ibs']:.4f} vs KM {r['ibs_km']:.4f}; "
              f"D-cal p {r['model']['d_calibration_p']:.3g}; at 3 months C {r['c3']:.3f} vs "
              f"oracle {r['c3_oracle']:.3f} ({r['seconds']:.0f} s)", flush=True)
    text = markdown(results, command.strip())
    if args.stale:
        text += "\n" + stale_markdown(results, args.stale) + "\n"
    print(text)
    if args.markdown:
        args.markdown.write_text(text, encoding="utf-8")
    if args.card is not None:
        write_card_section(args.card, CARD_HEADING, CARD_INTRO + "\n\n" + text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
