"""The store: SQLAlchemy 2 (async) on SQLite (WAL, foreign keys on) or PostgreSQL, its schema
kept by Alembic migrations that run at start.

Explorations are live replies (`explorer.live`): a kind's name and its state as JSON, which
the store keeps without knowing any kind. Writes go through one writer, in order, on a
connection it keeps open, those queued meanwhile committed together (under 1 ms on SQLite
here). The bot commits an exploration before it sends the message whose controls need it, so
a process killed outright loses no exploration it answered with, and SQLite's write-ahead log
leaves the file whole; the message's id and text are noted once it is sent."""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import Connection, bindparam, delete, event, func, insert, select, text, update
from sqlalchemy.engine import make_url
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine
from sqlalchemy.sql import Executable

from bot.store.tables import explorations, server_settings
from explorer.contract import Live, ServerSettings

log = logging.getLogger(__name__)

MIGRATIONS = Path(__file__).parent / "migrations"
_MIGRATION_LOCK = 74_200_013  # PostgreSQL advisory lock: one process migrates at a time
# Writes queued together and committed in one transaction, at most.
WRITE_GROUP = 64
# Explorations one write of a prune removes, at most: a large removal (the first after the
# retention was shortened, say) does not hold the other writes back for its whole length.
PRUNE_BATCH = 1000


@dataclass(frozen=True)
class Row:
    """A write of one row by a statement made once: rows of one statement and the same keys
    queued one after another are written by one `executemany` (a burst of explorations, one
    round trip to the database's thread instead of one each)."""

    statement: Executable
    values: dict[str, Any]


# A row, or any other work on the connection: given how many explorations are kept before
# it, it returns how many are kept after it.
Write = Row | Callable[[AsyncConnection, int], Awaitable[int]]
_ADD = insert(explorations)
# The SET clause is the row's other keys.
_UPDATE = update(explorations).where(explorations.c.key == bindparam("row_key"))


class StoreError(Exception):
    """The database cannot be used; the message is one line, with no password in it."""


@dataclass(frozen=True)
class ExplorationRecord:
    """An exploration as kept: the live reply (its kind and state), its message's text,
    where, for whom, and when it was last used."""

    key: str
    live: Live
    content: str
    guild_id: int | None
    channel_id: int | None
    user_id: int | None
    created_at: datetime
    last_used_at: datetime
    message_id: int | None = None


def _utc(moment: datetime) -> datetime:
    """SQLite hands back naive datetimes: they were written in UTC."""
    return moment if moment.tzinfo is not None else moment.replace(tzinfo=UTC)


def _record(row: Any) -> ExplorationRecord:
    return ExplorationRecord(
        key=row.key,
        live=Live(row.kind, row.state),
        content=row.content,
        guild_id=row.guild_id,
        channel_id=row.channel_id,
        user_id=row.user_id,
        created_at=_utc(row.created_at),
        last_used_at=_utc(row.last_used_at),
        message_id=row.message_id,
    )


def _upgrade(connection: Connection) -> None:
    """Bring the schema to the latest migration (nothing to do if it is there already)."""
    logging.getLogger("alembic").setLevel(logging.WARNING)  # its progress lines, at INFO
    from alembic import command
    from alembic.config import Config

    if connection.dialect.name == "postgresql":
        connection.execute(text(f"SELECT pg_advisory_xact_lock({_MIGRATION_LOCK})"))
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    command.upgrade(config, "head")


def _on_connect(dbapi_connection: Any, _: Any) -> None:
    """SQLite: write-ahead log (readers never block the writer; a killed process leaves a
    consistent file), foreign keys enforced, and waiting for a busy database rather than
    failing, so that two processes can share one file."""
    cursor = dbapi_connection.cursor()
    for pragma in ("journal_mode=WAL", "foreign_keys=ON", "synchronous=NORMAL",
                   "busy_timeout=10000"):  # fmt: skip
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


class Store:
    """Explorations and server settings in a database at `url` (`sqlite+aiosqlite:///…` or
    `postgresql+asyncpg://…`), at most `max_explorations` of them (None: no bound) with the
    least recently used removed first."""

    def __init__(self, url: str, max_explorations: int | None = None) -> None:
        self.url = url
        self.max_explorations = max_explorations
        # How many explorations are kept, as far as this process knows: counted at start and
        # by each `prune`, kept up by its own writes (another process's are seen at the next
        # prune), so that the bound costs one small delete per add rather than a count. Only
        # the writer changes it, once its group is committed.
        self._kept = 0
        self._engine: AsyncEngine | None = None
        self._servers: dict[int, ServerSettings] = {}  # a server's settings, read once
        self._pending: asyncio.Queue[tuple[Write, asyncio.Future[None]]] = asyncio.Queue()
        self._writer: asyncio.Task[None] | None = None
        self._add_seconds: deque[float] = deque(maxlen=2000)  # the latest explorations kept
        self.writes = 0  # writes tried, failed ones included
        self.failed_writes = 0

    @property
    def shown_url(self) -> str:
        """The URL with any password hidden."""
        return make_url(self.url).render_as_string(hide_password=True)

    def health(self) -> str:
        """The kind of database and how its writes are going, for `/status` (not where it is:
        anyone may ask for the status)."""
        line = "SQLite" if self.sqlite_path else make_url(self.url).get_backend_name()
        if self._add_seconds:  # the write a command waits for, queueing included
            ordered = sorted(self._add_seconds)
            line += f", an exploration kept in {ordered[len(ordered) // 2] * 1e3:.1f} ms (p50)"
        return f"{line}, {self.failed_writes} failed" if self.failed_writes else line

    @property
    def sqlite_path(self) -> Path | None:
        """The SQLite file, if the store is one."""
        parsed = make_url(self.url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database:
            return None
        return Path(parsed.database)

    async def start(self) -> None:
        """Connect and run the migrations; a database that cannot be reached or used is a
        `StoreError` naming it and the reason."""
        path = self.sqlite_path
        try:
            if path is not None:
                path.parent.mkdir(parents=True, exist_ok=True)
            # hide_parameters: a failed statement's error (logged) never carries user text.
            engine = create_async_engine(self.url, pool_pre_ping=path is None, hide_parameters=True)
            if path is not None:
                event.listen(engine.sync_engine, "connect", _on_connect)
            with self._migration_lock():
                async with engine.begin() as connection:
                    await connection.run_sync(_upgrade)
        except Exception as error:  # the driver's own errors differ: report any one way
            raise StoreError(
                f"cannot use the database at {self.shown_url} ({_reason(error)})"
            ) from error
        self._engine = engine
        self._kept = await self.count_explorations()
        self._writer = asyncio.create_task(self._write_in_order())
        log.info("store ready at %s", self.shown_url)

    @contextlib.contextmanager
    def _migration_lock(self) -> Iterator[None]:
        """SQLite: one process migrates the file at a time (PostgreSQL uses an advisory lock
        inside the migration's transaction)."""
        path = self.sqlite_path
        if path is None:
            yield
            return
        with open(f"{path}.migrate-lock", "w") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(lock, fcntl.LOCK_UN)

    async def flush(self) -> None:
        """Wait until every write asked for so far is committed (or has failed)."""
        await self._pending.join()

    async def close(self) -> None:
        """Commit the writes asked for, then close the connections."""
        if self._writer is not None:
            await self.flush()
            self._writer.cancel()
            await asyncio.gather(self._writer, return_exceptions=True)
            self._writer = None
        if self._engine is not None:
            await self._engine.dispose()
            self._engine = None

    def _write(self, write: Write) -> asyncio.Future[None]:
        """Queue a write for the writer; the future says when it is committed."""
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        future.add_done_callback(_quiet)
        if self._writer is None:
            future.set_exception(StoreError("the store is not started, or is closed"))
        else:
            self._pending.put_nowait((write, future))
        return future

    async def _write_in_order(self) -> None:
        """Commit the queued writes in turn on one kept connection (opened again after a
        failure, so a database that comes back is used again): those queued together in one
        transaction, so that a burst of explorations costs one commit, not one each."""
        connection: AsyncConnection | None = None
        try:
            while True:
                group = [await self._pending.get()]
                while len(group) < WRITE_GROUP and not self._pending.empty():
                    group.append(self._pending.get_nowait())
                try:
                    connection = await self._commit(connection, group)
                finally:
                    for _ in group:
                        self._pending.task_done()
        finally:  # closed when the store closes (the writer is cancelled)
            await _close(connection)

    async def _commit(
        self, connection: AsyncConnection | None, group: list[tuple[Write, asyncio.Future[None]]]
    ) -> AsyncConnection | None:
        """Commit the group's writes in one transaction; when that fails, each alone, so that
        only a failing write fails. Returns the connection to keep using (None after a
        failure)."""
        assert self._engine is not None
        try:
            if connection is None:
                connection = await self._engine.connect()
            kept = await _execute(connection, [write for write, _ in group], self._kept)
            if kept > self._kept:  # added to: the oldest beyond the bound make way
                kept -= await self._bound(connection, kept)
            await connection.commit()
        except Exception as error:  # the driver's own (a refused connection) as well
            await _close(connection)
            if len(group) > 1:
                alone = None
                for item in group:
                    alone = await self._commit(alone, [item])
                return alone
            self.writes += 1
            self.failed_writes += 1
            log.warning("store error: %s", error)
            future = group[0][1]
            if not future.done():  # its waiter may have given up
                future.set_exception(StoreError(f"the database failed ({_reason(error)})"))
            return None
        self.writes += len(group)
        self._kept = kept
        for _, future in group:
            if not future.done():
                future.set_result(None)
        return connection

    @contextlib.asynccontextmanager
    async def _transaction(self) -> AsyncIterator[AsyncConnection]:
        if self._engine is None:
            raise StoreError("the store is not started")
        try:
            async with self._engine.begin() as connection:
                yield connection
        except (SQLAlchemyError, OSError) as error:  # OSError: the server cannot be reached
            log.warning("store error: %s", error)
            raise StoreError(f"the database failed ({_reason(error)})") from error

    # -- explorations --------------------------------------------------------------------------

    def add_exploration(self, record: ExplorationRecord) -> asyncio.Future[None]:
        """Keep a new exploration (committed when the future is done)."""

        row = {
            "key": record.key,
            "kind": record.live.kind,
            "state": dict(record.live.state),
            "content": record.content,
            "guild_id": record.guild_id,
            "channel_id": record.channel_id,
            "message_id": record.message_id,
            "user_id": record.user_id,
            "created_at": record.created_at,
            "last_used_at": record.last_used_at,
        }
        started = time.perf_counter()

        def timed(future: asyncio.Future[None]) -> None:
            if not future.cancelled() and future.exception() is None:
                self._add_seconds.append(time.perf_counter() - started)

        future = self._write(Row(_ADD, row))
        future.add_done_callback(timed)
        return future

    def set_message(self, key: str, message_id: int, content: str) -> asyncio.Future[None]:
        """Note which message shows an exploration, and its text (known once it is sent: an
        exploration is kept while its picture is drawn)."""
        return self._write(
            Row(_UPDATE, {"row_key": key, "message_id": message_id, "content": content})
        )

    def touch_exploration(
        self, key: str, live: Live, content: str, when: datetime
    ) -> asyncio.Future[None]:
        """Keep what an exploration shows now (its state), and when it was used."""
        values = {
            "row_key": key,
            "state": dict(live.state),
            "content": content,
            "last_used_at": when,
        }
        return self._write(Row(_UPDATE, values))

    async def exploration(self, key: str) -> ExplorationRecord | None:
        """The exploration kept under `key`, if any."""
        async with self._transaction() as connection:
            row = (
                await connection.execute(select(explorations).where(explorations.c.key == key))
            ).first()
        return None if row is None else _record(row)

    async def _bound(self, connection: AsyncConnection, kept: int) -> int:
        """Remove the least recently used explorations beyond `max_explorations`, of `kept`;
        returns how many."""
        excess = kept - (self.max_explorations or kept)
        if excess <= 0:
            return 0
        oldest = (
            select(explorations.c.key)
            .order_by(explorations.c.last_used_at, explorations.c.key)
            .limit(excess)
        )
        removed = await connection.execute(
            delete(explorations).where(explorations.c.key.in_(oldest.scalar_subquery()))
        )
        return int(removed.rowcount or 0)

    async def prune(self, before: datetime) -> int:
        """Forget explorations last used before `before`, and the least recently used beyond
        the bound; returns how many. Writes like the others, each after those asked before
        it: the old ones removed `PRUNE_BATCH` at a time, then what is kept counted again
        (another process's writes included)."""
        old = select(explorations.c.key).where(explorations.c.last_used_at < before)
        # Each write's own count, set again if the writer runs it again alone after its group
        # failed: added up only once committed.
        batch = beyond = 0

        async def remove_old(connection: AsyncConnection, kept: int) -> int:
            nonlocal batch
            result = await connection.execute(
                delete(explorations).where(
                    explorations.c.key.in_(old.limit(PRUNE_BATCH).scalar_subquery())
                )
            )
            batch = int(result.rowcount or 0)
            return kept - batch

        async def count_again(connection: AsyncConnection, _: int) -> int:
            nonlocal beyond
            counted = await connection.execute(select(func.count()).select_from(explorations))
            kept = int(counted.scalar_one())
            beyond = await self._bound(connection, kept)
            return kept - beyond

        removed = 0
        while True:
            await self._write(remove_old)
            removed += batch
            if batch < PRUNE_BATCH:
                break
        await self._write(count_again)
        return removed + beyond

    async def count_explorations(self) -> int:
        """How many explorations are kept."""
        async with self._transaction() as connection:
            rows = await connection.execute(select(func.count()).select_from(explorations))
            return int(rows.scalar_one())

    # -- server settings -----------------------------------------------------------------------

    async def server_settings(self, guild_id: int) -> ServerSettings:
        """A server's settings (the defaults if it never changed any). Read once: a server's
        commands all reach the one process that runs its shard, which also writes them."""
        if guild_id in self._servers:
            return self._servers[guild_id]
        async with self._transaction() as connection:
            row = (
                await connection.execute(
                    select(server_settings).where(server_settings.c.guild_id == guild_id)
                )
            ).first()
        found = ServerSettings(guild_id)
        if row is not None:
            allowed = None if row.allowed is None else tuple(row.allowed)
            found = ServerSettings(guild_id, row.default_model, allowed)
        self._servers[guild_id] = found
        return found

    async def save_server_settings(self, settings: ServerSettings, user_id: int | None) -> None:
        """Keep a server's settings (replacing what it had); returns once committed, so that
        a manager's change is never reported done before it is."""
        values = {
            "default_model": settings.default_model,
            "allowed": None if settings.allowed is None else list(settings.allowed),
            "updated_by": user_id,
            "updated_at": datetime.now(UTC),
        }

        async def write(connection: AsyncConnection, kept: int) -> int:
            changed = await connection.execute(
                update(server_settings)
                .where(server_settings.c.guild_id == settings.guild_id)
                .values(**values)
            )
            if not changed.rowcount:
                await connection.execute(
                    insert(server_settings).values(guild_id=settings.guild_id, **values)
                )
            return kept

        await self._write(write)
        self._servers[settings.guild_id] = settings


async def _execute(connection: AsyncConnection, writes: list[Write], kept: int) -> int:
    """The writes in order, each run of rows of one statement in one `executemany`; returns
    how many explorations are kept after them, of `kept` before."""
    # Rows of one statement and the same keys (SQLAlchemy takes the columns from the first)
    # one after another form a run; any other write is a run alone.
    for _, run in itertools.groupby(
        writes, lambda w: (id(w.statement), tuple(w.values)) if isinstance(w, Row) else object()
    ):
        first, *rest = run
        if isinstance(first, Row):
            rows = [first.values] + [write.values for write in rest if isinstance(write, Row)]
            await connection.execute(first.statement, rows)
            kept += len(rows) if first.statement is _ADD else 0
        else:
            kept = await first(connection, kept)
    return kept


async def _close(connection: AsyncConnection | None) -> None:
    if connection is not None:
        with contextlib.suppress(Exception):
            await connection.close()


def _quiet(future: asyncio.Future[None]) -> None:
    """A write nobody waits for logs its failure (the store already did) and is done."""
    if not future.cancelled():
        future.exception()


def _reason(error: BaseException) -> str:
    """The root cause of a database error, in one short line."""
    while error.__cause__ is not None or error.__context__ is not None:
        error = error.__cause__ or error.__context__  # type: ignore[assignment]
    text = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
    return text[:160]
