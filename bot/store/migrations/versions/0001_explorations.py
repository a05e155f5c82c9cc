"""Explorations: what an /attention message shows, so its buttons outlive a restart.

Revision ID: 0001
Revises:
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Create the explorations table."""
    op.create_table(
        "explorations",
        sa.Column("key", sa.String(32), primary_key=True),
        sa.Column("model", sa.String(80), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("text_pair", sa.Text),
        sa.Column("state", sa.JSON, nullable=False),
        sa.Column("shape", sa.JSON, nullable=False),
        sa.Column("content", sa.Text, nullable=False),
        sa.Column("guild_id", sa.BigInteger),
        sa.Column("channel_id", sa.BigInteger),
        sa.Column("message_id", sa.BigInteger),
        sa.Column("user_id", sa.BigInteger),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=False),
    )
    op.create_index("ix_explorations_last_used_at", "explorations", ["last_used_at"])


def downgrade() -> None:
    """Drop the explorations table."""
    op.drop_table("explorations")
