"""Per-server settings, and the decoder text of encoder–decoder explorations.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-29
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    """Add server_settings and explorations.target."""
    op.create_table(
        "server_settings",
        sa.Column("guild_id", sa.BigInteger, primary_key=True),
        sa.Column("default_model", sa.String(80)),
        sa.Column("allowed", sa.JSON),
        sa.Column("updated_by", sa.BigInteger),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
    )
    with op.batch_alter_table("explorations") as table:
        table.add_column(sa.Column("target", sa.Text))


def downgrade() -> None:
    """Remove them again."""
    with op.batch_alter_table("explorations") as table:
        table.drop_column("target")
    op.drop_table("server_settings")
