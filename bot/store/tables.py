"""The database schema (the latest migration's; Alembic migrations create and upgrade it)."""

from __future__ import annotations

from sqlalchemy import JSON, BigInteger, Column, DateTime, MetaData, String, Table, Text

metadata = MetaData()

explorations = Table(
    "explorations",
    metadata,
    Column("key", String(32), primary_key=True),
    Column("model", String(80), nullable=False),
    Column("text", Text, nullable=False),
    Column("text_pair", Text),
    Column("target", Text),
    Column("state", JSON, nullable=False),  # the view, layer, head, token… shown
    Column("shape", JSON, nullable=False),  # layers, heads and tokens, for stepping
    Column("content", Text, nullable=False),  # the message's text
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
