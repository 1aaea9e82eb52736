"""The model card: what the models predict, on what data, how well, and their limits.

Rendered from a backtest run (logged as `model_card.md`); docs/model-card.md is the card of
the default simulator data, written by `dealer-risk backtest --card docs/model-card.md`.
"""

from __future__ import annotations

import pandas as pd

from features.settings import LabelSettings
from models.backtest import Backtest, pooled
from models.settings import ModelSettings

CLASSIFIER_COLUMNS = ("roc_auc", "pr_auc", "brier", "log_loss", "ece", "top_precision",
                      "top_lift", "top_revenue_captured")
FORECAST_COLUMNS = ("wape", "mae", "predicted_over_actual", "pinball_lo", "pinball_hi",
                    "coverage")


EXTERNAL_MARK = ("<!-- Sections below are written by benchmarks (e.g. benchmarks/cdnow/"
                 "bench_cdnow.py --card); regenerating the card keeps them. -->")


def keep_external(card: str, previous: str | None) -> str:
    """The freshly rendered card, followed by the benchmark sections of the previous one."""
    if previous is None or EXTERNAL_MARK not in previous:
        return card
    return card.rstrip("\n") + "\n\n" + previous[previous.index(EXTERNAL_MARK):]


def with_section(card: str, heading: str, body: str) -> str:
    """The card with its benchmark section `heading` (a '## ' line) replaced by `body`,
    or added after the others."""
    if EXTERNAL_MARK not in card:
        card = card.rstrip("\n") + "\n\n" + EXTERNAL_MARK + "\n"
    head, tail = card.split(EXTERNAL_MARK, 1)
    sections = [s for s in tail.split("\n## ") if s.strip()]
    kept = [s for s in sections if not ("## " + s.lstrip("# ")).startswith(heading)]
    parts = ["## " + s.lstrip("# ").strip("\n") for s in kept]
    parts.append(heading + "\n\n" + body.strip("\n"))
    return head + EXTERNAL_MARK + "\n\n" + "\n\n".join(parts) + "\n"


def _markdown(frame: pd.DataFrame, digits: int = 3) -> str:
    cols = list(frame.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in frame.iterrows():
        cells = []
        for c in cols:
            v = row[c]
            if isinstance(v, float):
                cells.append("" if pd.isna(v) else f"{v:,.{digits}f}" if abs(v) < 1000
                             else f"{v:,.0f}")
            else:
                cells.append(str(v))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


SURVIVAL_COLUMNS = ("rows", "events", "uno_c", "ibs", "d_calibration_p",
                    "d_calibration_worst_bin", "predicted_still_ordering",
                    "observed_still_ordering")


def _survival_section(rows: pd.DataFrame, settings: ModelSettings, labels: LabelSettings
                      ) -> list[str]:
    sv = rows[rows["model"] == "survival"]
    if not len(sv):
        return ["## Time to leaving\n",
                "No survival backtest: no origin has its dealers followed for "
                f"{settings.survival.horizon_months} months plus the "
                f"{labels.leave.confirm_months} that confirm a loss, with history to fit "
                "on before it.\n"]
    return [
        "## Time to leaving\n",
        "The survival model refitted at each origin whose dealers the data follows for the "
        f"whole {settings.survival.horizon_months} months (plus the "
        f"{labels.leave.confirm_months} that confirm a loss), learning only from what was "
        "settled before the origin (rows followed part of the way are censored there). "
        "Against Kaplan-Meier, the one curve every dealer would get. uno_c: Uno's "
        "concordance at the horizon (risk: 1 - survival at the horizon; 0.5 is a "
        "constant); ibs: integrated Brier score over the months (lower is better); "
        "d_calibration_p: the chi-square test that the predicted survival at each dealer's "
        "observed time is uniform (D-calibration; above 0.05 passes, and over thousands of "
        "dealers small departures fail it); worst bin: the fullest of its ten bins against "
        "an even share; predicted and observed (Kaplan-Meier) share still ordering at the "
        "horizon.\n",
        _markdown(sv[["predictor", *SURVIVAL_COLUMNS]].assign(
            d_calibration_p=sv["d_calibration_p"].map(lambda p: f"{p:.2g}"))),
    ]


def render_card(table: pd.DataFrame, bt: Backtest, fidelity: pd.DataFrame | None,
                settings: ModelSettings, labels: LabelSettings, fingerprint: dict,
                provenance: dict) -> str:
    rows = pooled(table)
    cls = rows[rows["model"].isin(["churn", "decline"])]
    fc = rows[rows["model"] == "forecast"]
    origins = ", ".join(f"{o:%Y-%m}" for o in bt.origins)
    lo, hi = settings.forecast.interval
    ch, de = labels.churn, labels.decline
    orders = fingerprint["tables"].get("orders", {})
    out = [
        "# Model card: dealer-risk churn, decline and forecast models\n",
        "## What the models predict\n",
        f"- **churn**: probability that an active dealer (a positive order in the last "
        f"{ch.active_days} days, contract open) places no positive net order in the next "
        f"{ch.horizon_days} days, or its contract closes within them. Calibrated: a score "
        "of 30% means about 30 in 100 such dealers churn.",
        f"- **leave** (when the history allows): probability that the dealer is leaving: no "
        f"positive order in the {ch.horizon_days} days nor in the "
        f"{labels.leave.confirm_months} months after them (or the contract closes). The "
        "churn label cannot tell a loss from a quiet spell (a store refit, a gap between "
        "project orders); this one waits until the silence has lasted long enough to be a "
        "loss, so it learns from cutoffs a year older and is judged out of time at its own "
        "origins. Scoring splits the churn risk into leaving and a quiet spell with it.",
        f"- **survival** (when the history allows): each active dealer's chance of still "
        f"ordering after each of the next {settings.survival.horizon_months} months, and "
        "the months it is expected to keep ordering in them (the area under the curve). "
        "A discrete-time hazard: LightGBM on dealer-months at risk, with the month ahead as "
        "an input; the event is the leave label's loss (the first month of "
        f"{labels.leave.confirm_months} months without an order, or the contract's close).",
        f"- **decline**: probability that next {de.horizon_months} months' net orders fall more "
        f"than {de.drop:.0%} below the same months a year earlier (the trailing "
        f"{de.horizon_months} months for dealers younger than {de.min_tenure_months} months).",
        f"- **forecast**: next {labels.forecast.horizon_months} months' net order amount: an "
        f"expected value (LightGBM, Tweedie objective) and an interval of {hi - lo:.0%} "
        f"(p{lo * 100:.0f}, p50, p{hi * 100:.0f}: quantile models on log(1 + amount), "
        "conformalized on the calibration slice).\n",
        "All three are LightGBM models on the feature catalog (docs/features.md), trained on "
        "a dealer x month panel where every feature uses only records dated before its "
        "cutoff. Probabilities are calibrated (Platt or centred isotonic, whichever has the "
        "lower log loss on the newest calibration cutoff; both keep the booster's ranking) "
        "on cutoffs later than the booster's training data. Explanations are LightGBM's "
        "exact TreeSHAP contributions, grouped by the catalog's business groups.\n",
        "## Data\n",
        f"Data fingerprint `{fingerprint['sha256'][:16]}`, as of {fingerprint['as_of']}; "
        f"{orders.get('accepted', 0):,} order lines from {orders.get('date_min')} to "
        f"{orders.get('date_max')}. Tables: "
        + ", ".join(f"{k} ({v['accepted']:,} rows)" for k, v in fingerprint["tables"].items())
        + ". Code " + provenance.get("git_commit", "unknown")[:12]
        + f", dealer-risk {provenance.get('package_version')}, LightGBM "
        f"{provenance.get('lightgbm')}.\n",
        "## Backtest\n",
        f"Rolling origin over {len(bt.origins)} monthly origins ({origins}). At each origin "
        "the models are refitted on the cutoffs whose labels were complete by then (oldest "
        f"to newest: fit, {settings.split.early_stopping_cutoffs} cutoffs for early stopping, "
        f"{settings.split.calibration_cutoffs} for calibration) and score the dealers at the "
        "origin; the scores are judged once the horizon has passed. Baselines are fitted on "
        "the same slices. Metrics pooled over origins; top = the "
        f"{settings.backtest.top_share:.0%} of dealers with the highest score.\n",
        _markdown(cls[["model", "predictor", "rows", "rate", *CLASSIFIER_COLUMNS]]),
        _markdown(fc[["model", "predictor", "rows", *FORECAST_COLUMNS]]),
        "Per origin and per region and tier: `backtest.csv` in the run's artifacts.\n",
        *_survival_section(rows, settings, labels),
    ]
    if fidelity is not None:
        out += ["## Do the explanations name the real reason?\n",
                "On simulated data the cause of every churn is known. For churners with a "
                "cause other than `sudden`, at the last cutoff before they stopped ordering, "
                "scored by the model of that month: the share whose cause's business group "
                f"is among the top {settings.explain.top_factors} risk-raising reasons, "
                "ranked as the served explanations rank them (against the dealer's peers; "
                "fixed attributes never count).\n",
                _markdown(fidelity, 2),
                "This table flatters the reasons: at the churn month a cause's footprint is "
                "at its largest, and there is no constant answer beside it. Judged fairly, "
                "on several worlds, at the churn month, three months before it and over "
                "every at-risk dealer with an active cause, each beside the constant answer "
                "(always the same groups) and with intervals: \"Several worlds\" below, "
                "\"Reasons judged fairly\".\n"]
    peers = " and ".join(k.removeprefix("profile_") for k in settings.explain.peer_keys)
    out += [
        "## Reading the factors\n",
        "Each score comes with its reasons: the catalog's business groups (orders, price, "
        "mix, service, complaints, logistics, engagement, peers) that raise this dealer's "
        "risk **against its peers**, largest first, and apart from them the groups that "
        "lower it. TreeSHAP contributions measure a dealer against the average dealer of "
        "the training data, so a shock every dealer of a region shares (a price war) would "
        "show as each one's reason; here each feature's contribution is taken relative to "
        "the mean contribution of the dealer's peers (the dealers scored at the same cutoff "
        f"in the same {peers}; "
        "the region alone when that group is small), which cancels what they all share. "
        "Fixed attributes (channel, tier, region, age, season) are never a reason: a "
        "manager cannot change them. When one raises the score against the average dealer, "
        "a context note says what it means (\"Project dealers order in lumps: a quiet "
        "quarter is common for them\"). The model adds up contributions in log-odds, which "
        "no manager reads, so each reason is shown three ways:\n",
        "- **direction**: raises or lowers the risk;",
        "- **share**: the factor's part of all reason groups' absolute contributions "
        "against the peers; shares of the shown factors add up to at most 100%;",
        "- **effect**: percentage points of probability the factor adds against the peers: "
        "the calibrated score minus the score the dealer would get with that factor at its "
        "peers' mean (\"were its overdue requests like its peers', its churn risk would be "
        "9 points lower\"). Effects do not add up exactly, because the calibration curve is "
        "not a straight line.\n",
        "Each factor names the feature that carries it, with the dealer's value, its own "
        f"value {settings.explain.past_months} months earlier and its peer group's median "
        "(same region and tier), and the catalog's sentence in English and Chinese, e.g. "
        "\"Orders in the last 3 months are 42% below the same period last year (12 months "
        "earlier: +5%; peer median: -5%)\". A missing value reads \"no data\": its "
        "absence can itself move the score.\n",
        "## Limits\n",
        "- Trained and judged here on simulated data (docs/simulator.md); on real data, "
        "rerun `dealer-risk backtest` and read its card before trusting the scores.",
        "- The churn label is literal: dealers that order in lumps (project dealers) can go "
        f"{ch.horizon_days} days without an order and count as churned; their scores are "
        "higher for that reason (said as context, not as a reason). On the simulated worlds "
        "the churn model ranks quiet spells far better than dealers that truly leave; the "
        "leave model ranks the true leavers better, yet its top decile holds well short of "
        "twice the churn score's true leavers (\"Several worlds\" below, last table). The "
        "worklist ranks by revenue at risk by default; `sort=leave_probability` and the "
        "`kind` filter give the leavers first.",
        "- The split into leaving and a quiet spell subtracts two calibrated probabilities "
        "of events that are nearly, not exactly, nested (a dealer can order once more and "
        "then leave): the quiet-spell part is an approximation, never below zero.",
        "- A slump along a line narrower than the peers (one city, one rep's dealers) is not "
        "shared by the peers and shows as the dealers' own falling orders (measured on the "
        "world `other-lines`: \"Shocks along other lines\" below). The dealer page says so "
        "beside the factors.",
        "- The survival curves rank dealers by time to leaving well above Kaplan-Meier's one "
        "curve. Their hazards are calibrated on the newest months with follow-up by a slope "
        "and an intercept that move with the months ahead (today's signs of trouble say less "
        "about the hazard a year on), on up to six cutoffs where the history allows; out of "
        "time they pass D-calibration's test in six of nine worlds and fail it in three "
        "(where they fail, the share still ordering at 12 months is off by 3 to 4 points: "
        "89.2% predicted where 84.8% were in the turbulent world): read them as a "
        "ranking and a fair level, not as exact odds (\"Time to leaving in several worlds\" "
        "below). Over "
        "twelve months the simulator has no oracle to judge them against; at three months "
        "the same section sets their ranking beside the leaving oracle's.",
        "- Reasons against peers hide what a whole region or channel suffers: the score "
        "still carries it (a price war may raise every dealer's risk there), and the "
        "region's risk shows on the overview, not as each dealer's reason.",
        "- Contributions explain the model, not the world: a factor is what moved the score, "
        "which is usually, not always, why the dealer is leaving (see the fidelity table).",
        "- Region, tier and channel are taken as constant over time; the dealers table's "
        "current sales rep is not a feature (it would leak the present into the past).",
        "- A new region or tier unseen in training is scored as 'missing' for that feature.",
    ]
    return "\n".join(out) + "\n"
