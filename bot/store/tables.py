"""The database schema (the latest migration's; Alembic migrations create and upgrade it)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, MetaData, String, Table, Text

metadata = MetaData()

explorations = Table(
    "explorations",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("kind", String(40), nullable=False),  # the live reply's kind: `attention`…
    Column("state", JSON, nullable=False),  # its state, as the kind made it
    Column("content", Text, nullable=False),  # the message's text (empty until it is sent)
    Column("guild_id", BigInteger),
    Column("channel_id", BigInteger),
    Column("message_id", BigInteger),
    Column("user_id", BigInteger),  # who started it
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=False, index=True),
)

server_settings = Table(
    "server_settings",
    metadata,
    Column("guild_id", BigInteger, primary_key=True),
    Column("default_model", String(80)),
    Column("allowed", JSON),  # null: every model the operator allows
    Column("updated_by", BigInteger),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
