"""The input data contract: every table, column and type, declared once.

The loader validates against it, the simulator writes it, and docs/data-contract.md
describes it; keeping the definition in one place keeps the three in step.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum


class Kind(StrEnum):
    """How a column's text is coerced."""

    ID = "id"  # string, whitespace-trimmed; never a float
    TEXT = "text"
    DATE = "date"  # calendar day
    TIMESTAMP = "timestamp"  # day with optional time of day
    NUMBER = "number"  # float
    INTEGER = "integer"
    BOOLEAN = "boolean"


@dataclass(frozen=True)
class Column:
    name: str
    kind: Kind
    required: bool
    description: str
    many_values: bool = False
    """Text with about as many distinct values as rows (order and record ids): kept as plain
    strings, while other text is held as categoricals (each distinct value stored once)."""


@dataclass(frozen=True)
class Table:
    name: str
    required: bool
    description: str
    columns: tuple[Column, ...]
    key: str | None
    """Column whose value identifies a row (None: rows are identified by all columns)."""
    event_date: str
    """The column that dates the row, for date ranges and point-in-time cuts."""
    past_only: tuple[str, ...]
    """Date columns recording something that already happened: no value after the as-of date.
    (A deadline, a promised day or a contract end may lie ahead and are not listed.)"""

    @property
    def column_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns)

    @property
    def required_columns(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.columns if c.required)

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


COMPLAINT_CATEGORIES = ("quality", "installation", "delivery", "service", "packaging", "other")
COMPLAINT_CATEGORY_ALIASES = {
    "质量": "quality",
    "安装": "installation",
    "物流": "delivery",
    "配送": "delivery",
    "送货": "delivery",
    "服务": "service",
    "包装": "packaging",
    "其他": "other",
    "其它": "other",
}
PROGRAM_KINDS: dict[str, str] = {
    "rebate": "返利",
    "functional_discount": "功能性折扣",
    "cash_discount": "现金折扣",
    "volume_reward": "销量奖励",
    "advertising_allowance": "广告补贴",
    "freight_sharing": "运费分担",
    "display_samples": "样品支持",
    "store_fitout": "门店装修支持",
    "sales_contest": "销售竞赛",
    "priority_service": "优先服务",
    "extra_visits": "加强拜访",
}
"""The retention programs a manufacturer gives its dealers, with their Chinese names."""
PROGRAM_ALIASES: dict[str, str] = {
    **{zh: kind for kind, zh in PROGRAM_KINDS.items()},
    **{kind.replace("_", " "): kind for kind in PROGRAM_KINDS},
    **{kind.replace("_", "-"): kind for kind in PROGRAM_KINDS},
    "返点": "rebate", "年度返利": "rebate", "rebates": "rebate",
    "功能折扣": "functional_discount",
    "现金折让": "cash_discount",
    "销量返利": "volume_reward", "volume rebate": "volume_reward",
    "广告支持": "advertising_allowance", "联合广告": "advertising_allowance",
    "co-op advertising": "advertising_allowance", "co_op_advertising": "advertising_allowance",
    "运费补贴": "freight_sharing", "运费分摊": "freight_sharing",
    "样品": "display_samples", "展示样品": "display_samples",
    "装修支持": "store_fitout", "门店装修": "store_fitout", "store fit-out": "store_fitout",
    "fit-out": "store_fitout",
    "优先服务通道": "priority_service",
    "增加拜访": "extra_visits", "visits": "extra_visits",
}
"""Other spellings of the program kinds (lower-cased, trimmed), read as the kind."""
PROGRAM_ASSIGNMENTS = ("pilot", "manager", "rule")
"""Who chose the dealer: a randomized pilot, a manager, or a rule. Only pilot rows are
randomized: the effect models learn from them without the managers' targeting."""
PROGRAM_ASSIGNMENT_ALIASES = {"试点": "pilot", "随机": "pilot", "randomized": "pilot",
                              "random": "pilot", "经理": "manager", "规则": "rule"}

CANCELLED_STATUSES = frozenset({"cancelled", "canceled", "取消", "已取消", "作废"})

DEALERS = Table(
    name="dealers",
    required=True,
    description="One row per dealer (distributor, franchised showroom).",
    key="dealer_id",
    event_date="opened_on",
    past_only=("opened_on",),
    columns=(
        Column("dealer_id", Kind.ID, True, "Dealer identifier, unique."),
        Column("name", Kind.TEXT, True, "Dealer's trading name (Chinese allowed)."),
        Column("region", Kind.TEXT, True, "Sales region, e.g. 华东."),
        Column("tier", Kind.TEXT, True, "Dealer tier, e.g. A, B, C."),
        Column("opened_on", Kind.DATE, True, "Contract start."),
        Column("city", Kind.TEXT, False, "City."),
        Column("channel", Kind.TEXT, False, "showroom, online or project."),
        Column("sales_rep_id", Kind.ID, False, "Current sales rep."),
        Column("closed_on", Kind.DATE, False, "Contract end: the dealer churned on this day."),
    ),
)

ORDERS = Table(
    name="orders",
    required=True,
    description="Order lines; a negative quantity is a return.",
    key=None,
    event_date="order_date",
    past_only=("order_date",),
    columns=(
        Column("order_id", Kind.ID, True, "Order identifier; several lines share it.",
               many_values=True),
        Column("dealer_id", Kind.ID, True, "Ordering dealer."),
        Column("order_date", Kind.DATE, True, "Day the order was placed."),
        Column("product_category", Kind.TEXT, True, "cabinets, countertops, wardrobes ..."),
        Column("quantity", Kind.NUMBER, True, "Units; negative for a return."),
        Column("net_amount", Kind.NUMBER, True, "Invoiced amount after discount (CNY)."),
        Column("sku", Kind.ID, False, "Product code."),
        Column("list_amount", Kind.NUMBER, False, "Amount at list price (for discount depth)."),
        Column("status", Kind.TEXT, False, "Line status; cancelled lines are excluded."),
    ),
)

TICKETS = Table(
    name="tickets",
    required=False,
    description="Dealer support requests (order, design, advertising, sales guidance ...).",
    key="ticket_id",
    event_date="opened_at",
    past_only=("opened_at", "closed_at"),
    columns=(
        Column("ticket_id", Kind.ID, True, "Ticket identifier, unique.", many_values=True),
        Column("dealer_id", Kind.ID, True, "Requesting dealer."),
        Column("opened_at", Kind.TIMESTAMP, True, "When the request was raised."),
        Column("category", Kind.TEXT, True, "order, design, advertising, sales_guidance ..."),
        Column("due_at", Kind.TIMESTAMP, True, "Deadline for the answer."),
        Column("closed_at", Kind.TIMESTAMP, False, "When it was answered; empty while open."),
        Column("escalated", Kind.BOOLEAN, False, "Escalated to management."),
        Column("channel", Kind.TEXT, False, "How it came in: phone, wechat, portal, visit ..."),
    ),
)

COMPLAINTS = Table(
    name="complaints",
    required=False,
    description="Consumer complaints about a dealer's installations.",
    key="complaint_id",
    event_date="received_on",
    past_only=("received_on", "resolved_on"),
    columns=(
        Column("complaint_id", Kind.ID, True, "Complaint identifier, unique.", many_values=True),
        Column("dealer_id", Kind.ID, True, "Dealer concerned."),
        Column("received_on", Kind.DATE, True, "Day the complaint came in."),
        Column("category", Kind.TEXT, True, ", ".join(COMPLAINT_CATEGORIES) + " (or 质量 ...)."),
        Column("severity", Kind.INTEGER, True, "1 (minor) to 3 (severe)."),
        Column("resolved_on", Kind.DATE, False, "Day it was resolved; empty while open."),
    ),
)

DELIVERIES = Table(
    name="deliveries",
    required=False,
    description="Deliveries to dealers, promised vs actual.",
    key="delivery_id",
    event_date="promised_on",
    past_only=("delivered_on",),
    columns=(
        Column("delivery_id", Kind.ID, True, "Delivery identifier, unique.", many_values=True),
        Column("dealer_id", Kind.ID, True, "Receiving dealer."),
        Column("promised_on", Kind.DATE, True, "Promised delivery day."),
        Column("delivered_on", Kind.DATE, False, "Actual delivery day; empty if not yet."),
        Column("order_id", Kind.ID, False, "Order delivered.", many_values=True),
        Column("damaged", Kind.BOOLEAN, False, "Goods arrived damaged."),
    ),
)

VISITS = Table(
    name="visits",
    required=False,
    description="Sales rep visits and calls.",
    key="visit_id",
    event_date="visited_on",
    past_only=("visited_on",),
    columns=(
        Column("visit_id", Kind.ID, True, "Visit identifier, unique.", many_values=True),
        Column("dealer_id", Kind.ID, True, "Dealer visited."),
        Column("visited_on", Kind.DATE, True, "Day of the visit or call."),
        Column("kind", Kind.TEXT, True, "visit, call, wechat ..."),
        Column("sales_rep_id", Kind.ID, False, "Rep who made it (reveals rep changes)."),
    ),
)

PROGRAMS = Table(
    name="programs",
    required=False,
    description="Retention programs and incentives given to dealers, and what they cost.",
    key="program_id",
    event_date="started_on",
    past_only=("started_on",),
    columns=(
        Column("program_id", Kind.ID, True, "Program record identifier, unique.",
               many_values=True),
        Column("dealer_id", Kind.ID, True, "Dealer that got it."),
        Column("program", Kind.TEXT, True, ", ".join(PROGRAM_KINDS) + " (or 返利 ...)."),
        Column("started_on", Kind.DATE, True, "First day it ran."),
        Column("ended_on", Kind.DATE, True, "Last day it runs; may lie ahead."),
        Column("cost", Kind.NUMBER, True, "What it cost the manufacturer (CNY)."),
        Column("assigned_by", Kind.TEXT, False, "pilot (randomized), manager or rule."),
        Column("note", Kind.TEXT, False, "Free text."),
    ),
)

TABLES: dict[str, Table] = {
    t.name: t for t in (DEALERS, ORDERS, TICKETS, COMPLAINTS, DELIVERIES, VISITS, PROGRAMS)
}
"""All tables in load order: dealers first, since the others refer to it."""

EVENT_TABLES = ("tickets", "complaints", "deliveries", "visits")
"""The optional tables that feed features (each reduced to dealer x month measures); a
dealer silent in one of them for long is flagged. Programs are what was done about a
dealer, not a signal of its state: they feed the effect models, not the risk models."""
