"""Drawing the contract's event tables from the network's state, one chunk of dealers at a time.

Chunks keep memory flat at any size (20,000 dealers x 60 months is about 50M order lines);
each chunk has its own random stream, so the output does not depend on anything but the
seed and the fixed chunk size.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from features.simulator.network import Network
from features.simulator.seasons import sample_days
from features.simulator.world import (
    CATEGORIES,
    CAUSES,
    COMPLAINT_MIX,
    SKUS_PER_CATEGORY,
    TICKET_CATEGORIES,
    TICKET_CHANNEL_SHARES,
    TICKET_CHANNELS,
    VISIT_KINDS,
    World,
)

CATEGORY_NAMES = np.array(list(CATEGORIES))
CATEGORY_PRICE = np.array([p for p, _, _ in CATEGORIES.values()])
CATEGORY_UNITS = np.array([u for _, u, _ in CATEGORIES.values()])
SKU_CODES = pa.array([f"{c[:3].upper()}-{i:03d}" for c in CATEGORIES
                      for i in range(SKUS_PER_CATEGORY)])
DISRUPTION_DAMAGE = 0.25  # a logistics disruption damages goods too, at this share of delays
DAY = np.timedelta64(1, "D")
SECOND = np.timedelta64(1, "s")

SCHEMAS = {
    "orders": pa.schema([
        ("order_id", pa.string()), ("dealer_id", pa.string()), ("order_date", pa.date32()),
        ("product_category", pa.string()), ("sku", pa.string()), ("quantity", pa.float64()),
        ("list_amount", pa.float64()), ("net_amount", pa.float64()), ("status", pa.string()),
    ]),
    "tickets": pa.schema([
        ("ticket_id", pa.string()), ("dealer_id", pa.string()), ("opened_at", pa.timestamp("s")),
        ("category", pa.string()), ("due_at", pa.timestamp("s")),
        ("closed_at", pa.timestamp("s")), ("escalated", pa.bool_()), ("channel", pa.string()),
    ]),
    "complaints": pa.schema([
        ("complaint_id", pa.string()), ("dealer_id", pa.string()), ("received_on", pa.date32()),
        ("category", pa.string()), ("severity", pa.int64()), ("resolved_on", pa.date32()),
    ]),
    "deliveries": pa.schema([
        ("delivery_id", pa.string()), ("dealer_id", pa.string()), ("order_id", pa.string()),
        ("promised_on", pa.date32()), ("delivered_on", pa.date32()), ("damaged", pa.bool_()),
    ]),
    "visits": pa.schema([
        ("visit_id", pa.string()), ("dealer_id", pa.string()), ("visited_on", pa.date32()),
        ("kind", pa.string()), ("sales_rep_id", pa.string()),
    ]),
}


def chunk_events(net: Network, dealers: np.ndarray, chunk: int, seed: int,
                 world: World) -> dict[str, pa.Table]:
    """All event tables for the given dealers (global indices), as Arrow tables."""
    rng = np.random.default_rng([seed, 1, chunk])
    ctx = _Context(net, dealers, world)
    orders, order_index = _orders(ctx, rng)
    return {
        "orders": orders,
        "tickets": _tickets(ctx, rng, chunk),
        "complaints": _complaints(ctx, rng, chunk),
        "deliveries": _deliveries(ctx, order_index, rng, chunk),
        "visits": _visits(ctx, rng, chunk),
    }


class _Context:
    """The chunk's dealer-months where the dealer is open, with what each draw needs."""

    def __init__(self, net: Network, dealers: np.ndarray, world: World) -> None:
        self.net, self.world = net, world
        local, self.month = np.nonzero(net.alive[dealers])
        self.dealer = dealers[local]
        frame = net.dealers
        self.dealer_ids = frame["dealer_id"].to_numpy()
        self.channel = frame["channel"].to_numpy()[self.dealer]
        self.tier = frame["tier"].to_numpy()[self.dealer]
        self.region = frame["region_idx"].to_numpy()[self.dealer]
        self.amount = net.expected_amount[self.dealer, self.month]
        self.month_start = net.month_starts.values.astype("datetime64[D]")[self.month]
        self.month_days = net.month_starts.days_in_month.to_numpy()[self.month]
        self.period_end = np.datetime64(net.period_end.date())

    def ramp(self, cause: str) -> np.ndarray:
        return self.net.ramps[CAUSES.index(cause), self.dealer, self.month]

    def random_day(self, rows: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        return self.month_start[rows] + (rng.random(len(rows)) * self.month_days[rows]).astype(
            int) * DAY

    def ids(self, rows: np.ndarray) -> pa.Array:
        return pa.array(self.dealer_ids[self.dealer[rows]], pa.string())


def _numbered(prefix: str, chunk: int, n: int) -> pa.Array:
    digits = pc.utf8_lpad(pc.cast(pa.array(np.arange(n, dtype=np.int64)), pa.string()), 7, "0")
    return pc.binary_join_element_wise(f"{prefix}{chunk:03d}-", digits, "")


def _days(values: np.ndarray) -> pa.Array:
    return pa.array(values.astype("datetime64[D]"), pa.date32())


def line_value(net: Network, dealers: np.ndarray) -> np.ndarray:
    """Expected net amount of one order line of each dealer: orders come as Poisson lines of
    this value (the oracle's chance of a month with no order uses the same number)."""
    pref0 = net.category_pref[dealers]
    mean_sku = net.sku_factors.mean(axis=1)
    value = (pref0 * CATEGORY_PRICE * mean_sku * (1 + CATEGORY_UNITS)).sum(axis=1)
    return value * (1 - net.dealers["discount"].to_numpy()[dealers])


def _orders(ctx: _Context, rng: np.random.Generator) -> tuple[pa.Table, dict]:
    w, net = ctx.world, ctx.net
    n = len(ctx.dealer)
    amount = ctx.amount.copy()
    project = ctx.channel == "project"
    orders_this_month = rng.random(n) < w.project_order_probability
    amount[project] = np.where(orders_this_month[project],
                               amount[project] / w.project_order_probability, 0.0)

    price_ramp, quality_ramp = ctx.ramp("price"), ctx.ramp("quality")
    pref0 = net.category_pref[ctx.dealer]
    kept = ctx.ramp("competitor")[:, None] < net.category_drop_at[ctx.dealer]
    pref = pref0 * kept
    pref /= pref.sum(axis=1, keepdims=True)
    discount0 = net.dealers["discount"].to_numpy()[ctx.dealer]
    n_lines = rng.poisson(amount / line_value(net, ctx.dealer))
    per_order = np.array([w.lines_per_order[c] for c in ctx.channel])
    n_orders = np.minimum(n_lines, 1 + rng.poisson(np.maximum(n_lines - 1, 0) / per_order))

    row = np.repeat(np.arange(n), n_lines)
    k = (rng.random(len(row)) * n_orders[row]).astype(np.int64)
    order_key = np.cumsum(n_orders)[row] - n_orders[row] + k
    keys, first, line_order = np.unique(order_key, return_index=True, return_inverse=True)
    order_row = row[first]
    order_day = np.empty(len(keys), dtype="datetime64[D]")
    for channel, cal in net.calendar.items():
        sel = ctx.channel[order_row] == channel
        day = sample_days(cal["cdfs"], ctx.month[order_row[sel]], rng.random(sel.sum()))
        order_day[sel] = ctx.month_start[order_row[sel]] + day * DAY
    yyyymm = (ctx.month_start[order_row].astype("datetime64[M]").astype(int) // 12 + 1970) * 100
    yyyymm += ctx.month_start[order_row].astype("datetime64[M]").astype(int) % 12 + 1
    number = (ctx.dealer[order_row] + 1).astype(np.int64) * 10**9 + yyyymm * 1000 + k[first]
    order_ids = pc.binary_join_element_wise(
        "SO", pc.cast(pa.array(number), pa.string()), "")

    cum = np.cumsum(pref[row], axis=1)
    category = np.minimum((rng.random(len(row))[:, None] > cum).sum(axis=1), len(CATEGORIES) - 1)
    tilt = 1 + w.price_mix_tilt * price_ramp[row]
    sku = np.minimum((SKUS_PER_CATEGORY * rng.random(len(row)) ** tilt).astype(int),
                     SKUS_PER_CATEGORY - 1)
    unit_price = CATEGORY_PRICE[category] * net.sku_factors[category, sku]
    quantity = 1 + rng.poisson(CATEGORY_UNITS[category] * (1 - w.price_order_shrink
                                                           * price_ramp[row]))
    discount = discount0[row] + w.price_discount_extra * price_ramp[row]
    discount = discount + net.shocks.price_war[ctx.region[row], ctx.month[row]]
    discount = np.clip(discount + rng.normal(0, 0.02, len(row)), 0.0, 0.6)
    list_amount = np.round(quantity * unit_price, 2)
    net_amount = np.round(list_amount * (1 - discount), 2)
    is_return = rng.random(len(row)) < w.return_share * (1 + 2 * quality_ramp[row])
    sign = np.where(is_return, -1.0, 1.0)
    u = rng.random(len(row))
    status = np.where(u < w.cancelled_share, "cancelled",
                      np.where(u < w.cancelled_share + 0.002, None, "completed"))

    table = pa.table({
        "order_id": order_ids.take(pa.array(line_order)),
        "dealer_id": ctx.ids(row),
        "order_date": _days(order_day[line_order]),
        "product_category": pa.array(CATEGORY_NAMES[category], pa.string()),
        "sku": SKU_CODES.take(pa.array(category * SKUS_PER_CATEGORY + sku)),
        "quantity": pa.array(sign * quantity, pa.float64()),
        "list_amount": pa.array(sign * list_amount),
        "net_amount": pa.array(sign * net_amount),
        "status": pa.array(status, pa.string()),
    }, schema=SCHEMAS["orders"])
    index = {"row": order_row, "day": order_day, "ids": order_ids}
    return table, index


def _tickets(ctx: _Context, rng: np.random.Generator, chunk: int) -> pa.Table:
    w, net = ctx.world, ctx.net
    service, logistics, quality = ctx.ramp("service"), ctx.ramp("logistics"), ctx.ramp("quality")
    base = np.array([w.tickets_by_tier[t] for t in ctx.tier])
    rate = base * (1 + w.service_ticket_extra * service + 0.5 * logistics + 0.5 * quality)
    row = np.repeat(np.arange(len(rate)), rng.poisson(rate))
    names = list(TICKET_CATEGORIES)
    shares = np.array([s for s, _ in TICKET_CATEGORIES.values()])
    weights = np.tile(shares, (len(row), 1))
    weights[:, names.index("logistics")] += logistics[row] * 0.3
    weights[:, names.index("quality")] += quality[row] * 0.3
    cum = np.cumsum(weights, axis=1)
    category = (rng.random(len(row))[:, None] * cum[:, -1:] > cum).sum(axis=1)
    deadline_h = np.array([h for _, h in TICKET_CATEGORIES.values()])[category]
    seconds = (rng.random(len(row)) * ctx.month_days[row] * 86400).astype(np.int64)
    opened = ctx.month_start[row].astype("datetime64[s]") + seconds * SECOND
    due = opened + (deadline_h * 3600) * SECOND
    log_ratio = (w.resolution_log_mean + net.service_level[ctx.region[row], ctx.month[row]]
                 + w.service_slowdown * service[row]
                 + rng.normal(0, w.resolution_log_sd, len(row)))
    took = (np.exp(log_ratio) * deadline_h * 3600).astype(np.int64)
    closed = opened + took * SECOND
    end = (ctx.period_end + DAY).astype("datetime64[s]")
    late = closed > due
    escalated = rng.random(len(row)) < 0.02 + 0.25 * late + 0.2 * service[row]
    # a stream of its own, so that adding the channel moved no other draw
    channel = rng.spawn(1)[0].choice(np.array(TICKET_CHANNELS), size=len(row),
                                     p=TICKET_CHANNEL_SHARES)
    return pa.table({
        "ticket_id": _numbered("TK", chunk, len(row)),
        "dealer_id": ctx.ids(row),
        "opened_at": pa.array(opened, pa.timestamp("s")),
        "category": pa.array(np.array(names)[category], pa.string()),
        "due_at": pa.array(due, pa.timestamp("s")),
        "closed_at": pa.array(closed, pa.timestamp("s"), mask=closed >= end),
        "escalated": pa.array(escalated),
        "channel": pa.array(channel, pa.string()),
    }, schema=SCHEMAS["tickets"])


def _complaints(ctx: _Context, rng: np.random.Generator, chunk: int) -> pa.Table:
    w = ctx.world
    quality, logistics = ctx.ramp("quality"), ctx.ramp("logistics")
    rate = ctx.amount / 1e6 * w.complaints_per_million * (
        1 + w.quality_complaint_extra * quality + logistics)
    row = np.repeat(np.arange(len(rate)), rng.poisson(rate))
    names = list(COMPLAINT_MIX)
    base = np.array(list(COMPLAINT_MIX.values()))
    quality_mix = np.array([0.5, 0.4, 0.0, 0.0, 0.0, 0.1])
    logistics_mix = np.array([0.0, 0.1, 0.6, 0.0, 0.3, 0.0])
    q, lg = 0.8 * quality[row, None], 0.6 * logistics[row, None]
    mix = (1 - q - lg).clip(0) * base + q * quality_mix + lg * logistics_mix
    cum = np.cumsum(mix, axis=1)
    category = (rng.random(len(row))[:, None] * cum[:, -1:] > cum).sum(axis=1)
    sev_cum = np.cumsum((1 - q) * np.array([0.55, 0.35, 0.10]) + q * np.array([0.3, 0.45, 0.25]),
                        axis=1)
    severity = 1 + (rng.random(len(row))[:, None] * sev_cum[:, -1:] > sev_cum).sum(axis=1)
    received = ctx.random_day(row, rng)
    lag = np.ceil(np.exp(np.log(7) + rng.normal(0, 0.8, len(row)))).astype(int)
    resolved = received + lag * DAY
    never = rng.random(len(row)) < 0.05 + 0.2 * quality[row]
    return pa.table({
        "complaint_id": _numbered("CP", chunk, len(row)),
        "dealer_id": ctx.ids(row),
        "received_on": _days(received),
        "category": pa.array(np.array(names)[category], pa.string()),
        "severity": pa.array(severity.astype(np.int64)),
        "resolved_on": pa.array(resolved, pa.date32(), mask=never | (resolved > ctx.period_end)),
    }, schema=SCHEMAS["complaints"])


def _deliveries(ctx: _Context, order_index: dict, rng: np.random.Generator,
                chunk: int) -> pa.Table:
    w = ctx.world
    keep = rng.random(len(order_index["row"])) < 0.9
    row = order_index["row"][keep]
    logistics = ctx.ramp("logistics")[row]
    promised = order_index["day"][keep] + rng.integers(14, 36, len(row)) * DAY
    disrupted = ctx.net.shocks.late_extra[ctx.region[row], ctx.month[row]]
    late = rng.random(len(row)) < (w.late_delivery_base + w.logistics_late_extra * logistics
                                   + disrupted)
    delay = np.where(late, 1 + rng.geometric(1 / (3 + 8 * logistics)),
                     -rng.integers(0, 4, len(row)) * (rng.random(len(row)) < 0.3))
    delivered = promised + delay * DAY
    damaged = rng.random(len(row)) < (w.damage_base + w.logistics_damage_extra * logistics
                                      + DISRUPTION_DAMAGE * disrupted)
    return pa.table({
        "delivery_id": _numbered("DL", chunk, len(row)),
        "dealer_id": ctx.ids(row),
        "order_id": order_index["ids"].filter(pa.array(keep)),
        "promised_on": _days(promised),
        "delivered_on": pa.array(delivered, pa.date32(), mask=delivered > ctx.period_end),
        "damaged": pa.array(damaged),
    }, schema=SCHEMAS["deliveries"])


def _visits(ctx: _Context, rng: np.random.Generator, chunk: int) -> pa.Table:
    w, net = ctx.world, ctx.net
    rep = net.rep_of[ctx.dealer, ctx.month]
    base = np.array([w.visits_by_tier[t] for t in ctx.tier])
    rate = base * net.rep_diligence[rep] * (1 - w.neglect_visit_cut * ctx.ramp("neglect"))
    visiting = net.program_on[ctx.dealer, ctx.month] == net.inputs.programs.kinds.index(
        "extra_visits")
    rate = rate * np.where(visiting, 1 + w.program_visit_lift, 1.0)
    row = np.repeat(np.arange(len(rate)), rng.poisson(rate))
    kinds = np.array(list(VISIT_KINDS))
    kind = rng.choice(len(kinds), len(row), p=list(VISIT_KINDS.values()))
    rep_ids = pc.binary_join_element_wise(
        "R", pc.utf8_lpad(pc.cast(pa.array(rep[row].astype(np.int64) + 1), pa.string()), 4, "0"),
        "")
    return pa.table({
        "visit_id": _numbered("VS", chunk, len(row)),
        "dealer_id": ctx.ids(row),
        "visited_on": _days(ctx.random_day(row, rng)),
        "kind": pa.array(kinds[kind], pa.string()),
        "sales_rep_id": rep_ids,
    }, schema=SCHEMAS["visits"])
