"""Live replies: an exploration is a kind and its state as JSON; every exploration kept until
now (an /attention one, in columns model, text, text_pair, target, state and shape) becomes
kind `attention` with the equivalent state, so its buttons keep working.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-07
"""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

SUBJECT = ("model", "text", "text_pair", "target")
# The table as this migration reads and writes its rows (the attention kind's state written
# out here, not imported: a migration does not change when the code does).
ROWS = sa.table(
    "explorations",
    sa.column("key", sa.String),
    sa.column("kind", sa.String),
    *(sa.column(name, sa.Text) for name in SUBJECT),
    sa.column("state", sa.JSON),
    sa.column("shape", sa.JSON),
)


def attention_state(row: Any) -> dict[str, Any]:
    """The attention kind's state for a row of revision 0002."""
    return {
        "subject": {name: getattr(row, name) for name in SUBJECT},
        "shown": row.state,
        "shape": row.shape,
    }


def upgrade() -> None:
    """Add `kind`, turn every row into kind `attention`, drop the attention-only columns."""
    with op.batch_alter_table("explorations") as table:
        table.add_column(sa.Column("kind", sa.String(40)))
    connection = op.get_bind()
    old = ROWS.c
    rows = connection.execute(sa.select(old.key, *(old[n] for n in SUBJECT), old.state, old.shape))
    for row in rows.all():
        connection.execute(
            ROWS.update()
            .where(old.key == row.key)
            .values(kind="attention", state=attention_state(row))
        )
    with op.batch_alter_table("explorations") as table:
        table.alter_column("kind", existing_type=sa.String(40), nullable=False)
        for name in (*SUBJECT, "shape"):
            table.drop_column(name)


def downgrade() -> None:
    """Put the attention columns back, filled from each attention state; explorations of
    other kinds cannot be kept in them and are removed."""
    with op.batch_alter_table("explorations") as table:
        table.add_column(sa.Column("model", sa.String(80)))
        table.add_column(sa.Column("text", sa.Text))
        table.add_column(sa.Column("text_pair", sa.Text))
        table.add_column(sa.Column("target", sa.Text))
        table.add_column(sa.Column("shape", sa.JSON))
    connection = op.get_bind()
    new = ROWS.c
    connection.execute(ROWS.delete().where(new.kind != "attention"))
    for row in connection.execute(sa.select(new.key, new.state)).all():
        subject = row.state["subject"]
        connection.execute(
            ROWS.update()
            .where(new.key == row.key)
            .values(
                **{name: subject.get(name) for name in SUBJECT},
                state=row.state["shown"],
                shape=row.state["shape"],
            )
        )
    with op.batch_alter_table("explorations") as table:
        table.alter_column("model", existing_type=sa.String(80), nullable=False)
        table.alter_column("text", existing_type=sa.Text, nullable=False)
        table.alter_column("shape", existing_type=sa.JSON, nullable=False)
        table.drop_column("kind")
