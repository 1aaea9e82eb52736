"""Known situations and their audit trail.

Revision ID: 0001
Revises:
Create Date: 2026-12-05
"""
import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "situations",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note", sa.Text, nullable=False),
        sa.Column("starts_on", sa.Date, nullable=False),
        sa.Column("expires_on", sa.Date, nullable=False),
        sa.Column("ended_on", sa.Date, nullable=True),
        sa.Column("created_by", sa.String(128), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_situations_dealer_id", "situations", ["dealer_id"])
    op.create_index("ix_situations_updated_at", "situations", ["updated_at"])
    op.create_table(
        "situation_events",
        sa.Column("id", sa.Integer, primary_key=True),
        sa.Column("situation_id", sa.Integer, sa.ForeignKey("situations.id"),
                  nullable=False),
        sa.Column("dealer_id", sa.String(64), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("by", sa.String(128), nullable=False),
        sa.Column("credential", sa.String(32), nullable=False),
        sa.Column("action", sa.String(16), nullable=False),
        sa.Column("changes", sa.JSON, nullable=False),
    )
    op.create_index("ix_situation_events_situation_id", "situation_events",
                    ["situation_id"])
    op.create_index("ix_situation_events_dealer_id", "situation_events", ["dealer_id"])


def downgrade() -> None:
    op.drop_table("situation_events")
    op.drop_table("situations")
