"""What the bot keeps across restarts: explorations (so their buttons keep working) and each
server's settings, in SQLite by default or PostgreSQL, behind one small interface."""

from bot.store.store import ExplorationRecord, Store, StoreError

__all__ = ["ExplorationRecord", "Store", "StoreError"]
