"""The store's tables (SQLAlchemy Core). Changing one means a new Alembic revision in
serve/store/migrations/versions; a test checks that the migrations build exactly these
tables."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Column,
    Date,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
)

metadata = MetaData()

situations = Table(
    "situations", metadata,
    Column("id", Integer, primary_key=True),
    Column("dealer_id", String(64), nullable=False, index=True),
    Column("kind", String(32), nullable=False),
    Column("note", Text, nullable=False, default=""),
    Column("starts_on", Date, nullable=False),
    Column("expires_on", Date, nullable=False),
    Column("ended_on", Date, nullable=True),
    Column("created_by", String(128), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False, index=True),
)
"""A known situation a rep or manager recorded for a dealer: its alerts are held from
starts_on until expires_on (exclusive), or until it is ended early (ended_on)."""

situation_events = Table(
    "situation_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("situation_id", Integer, ForeignKey("situations.id"), nullable=False,
           index=True),
    Column("dealer_id", String(64), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(128), nullable=False),
    Column("credential", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("changes", JSON, nullable=False),
)
"""The audit trail: every creation, change and early end, who made it (the name given
and the fingerprint of the key that signed the request) and what changed (field ->
[before, after]). Rows are only ever added."""

outbox = Table(
    "outbox", metadata,
    Column("id", Integer, primary_key=True),
    Column("destination", String(128), nullable=False, index=True),
    Column("kind", String(16), nullable=False),
    Column("as_of", String(10), nullable=False),
    Column("subject", Text, nullable=False),
    Column("body", JSON, nullable=False),
    Column("alerts", JSON, nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("attempts", Integer, nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("sent_at", DateTime(timezone=True), nullable=True),
)
"""Every digest `dealer-risk notify` composed: pending until sent, sent, or failed with
the last error (`notify --resend` tries the failed again). `body`: the message in the
destination's form; `alerts`: the alerts it carries (dealer_id, rule, alert_id,
severity), recorded in `notified` once it is sent."""

notified = Table(
    "notified", metadata,
    Column("id", Integer, primary_key=True),
    Column("destination", String(128), nullable=False),
    Column("dealer_id", String(64), nullable=False),
    Column("rule", String(64), nullable=False),
    Column("alert_id", String(160), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("sent_at", DateTime(timezone=True), nullable=False),
    Index("ix_notified_key", "destination", "dealer_id", "rule"),
)
"""What each destination was told, alert by alert: the de-duplication's memory."""

tasks = Table(
    "tasks", metadata,
    Column("id", Integer, primary_key=True),
    Column("dealer_id", String(64), nullable=False, index=True),
    Column("alert_id", String(160), nullable=False, unique=True),
    Column("rule", String(64), nullable=False),
    Column("severity", String(16), nullable=False),
    Column("region", String(64), nullable=True),
    Column("owner", String(64), nullable=True, index=True),
    Column("action_id", String(64), nullable=True),
    Column("title_en", Text, nullable=False),
    Column("title_zh", Text, nullable=False),
    Column("action_en", Text, nullable=True),
    Column("action_zh", Text, nullable=True),
    Column("status", String(16), nullable=False, index=True),
    Column("outcome", String(32), nullable=True),
    Column("program", String(32), nullable=True),
    Column("program_cost", Float, nullable=True),
    Column("dismiss_reason", Text, nullable=True),
    Column("note", Text, nullable=False),
    Column("opened_on", Date, nullable=False),
    Column("due_on", Date, nullable=False),
    Column("done_on", Date, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""What the team does about an alert: one task per alert at or above `tasks.min_severity`,
owned by the dealer's rep, due by severity, with its status, outcome and notes. An outcome
"program offered" becomes a row of the programs export (the effect models learn from it)."""

task_events = Table(
    "task_events", metadata,
    Column("id", Integer, primary_key=True),
    Column("task_id", Integer, ForeignKey("tasks.id"), nullable=False, index=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("by", String(128), nullable=False),
    Column("credential", String(32), nullable=False),
    Column("action", String(16), nullable=False),
    Column("changes", JSON, nullable=False),
)
"""Each task's history: opened (by the scorer) and every change (who, when, what)."""
