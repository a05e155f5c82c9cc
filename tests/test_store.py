"""The store on a real database: SQLite always, and PostgreSQL where TEST_DATABASE_URL names a
server (CI starts one). No mocks: every test creates, migrates and uses a real database."""

from __future__ import annotations

import asyncio
import json
import os
import re
import secrets
import socket
import subprocess
import sys
import textwrap
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import ExplorationRecord, Store, StoreError
from bot.store import store as store_module
from explorer.contract import Live, ServerSettings

ROOT = Path(__file__).parents[1]
POSTGRES = os.environ.get("TEST_DATABASE_URL")
BACKENDS = ["sqlite"] + (["postgresql"] if POSTGRES else [])


async def _postgres_database() -> tuple[str, str]:
    """A fresh database on the test server: (its URL, its name)."""
    import asyncpg

    assert POSTGRES is not None
    name = f"explorer_test_{secrets.token_hex(4)}"
    admin = await asyncpg.connect(POSTGRES.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'CREATE DATABASE "{name}"')
    await admin.close()
    return POSTGRES.rsplit("/", 1)[0] + f"/{name}", name


async def _drop_postgres(name: str) -> None:
    import asyncpg

    assert POSTGRES is not None
    admin = await asyncpg.connect(POSTGRES.replace("postgresql+asyncpg", "postgresql"))
    await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    await admin.close()


@pytest.fixture(params=BACKENDS)
async def database_url(request, tmp_path) -> AsyncIterator[str]:
    """A database of its own for each test, on each backend."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'explorer.db'}"
        return
    url, name = await _postgres_database()
    yield url
    await _drop_postgres(name)


@pytest.fixture
async def store(database_url) -> AsyncIterator[Store]:
    store = Store(database_url)
    await store.start()
    yield store
    await store.close()


def record(key: str, when: datetime | None = None, layer: int = 2) -> ExplorationRecord:
    """An exploration of a kind the store has never heard of: it keeps any kind's state."""
    when = when or datetime.now(UTC)
    live = Live("pages", {"text": "我在学习", "pair": None, "layer": layer, "shape": [3, 12]})
    return ExplorationRecord(key, live, "", 7, 8, 9, when, when)


async def test_explorations_are_kept_read_back_updated_and_pruned(store):
    old = datetime.now(UTC) - timedelta(days=40)
    await store.add_exploration(record("fresh"))
    await store.add_exploration(record("stale", when=old))
    await store.set_message("fresh", 1234, "**rbt3 · layer 2/3**")
    kept = await store.exploration("fresh")
    assert kept is not None and kept.live == record("fresh").live
    assert kept.message_id == 1234 and kept.content == "**rbt3 · layer 2/3**"
    assert (kept.guild_id, kept.channel_id, kept.user_id) == (7, 8, 9)
    moved = record("fresh", layer=3).live
    await store.touch_exploration("fresh", moved, "**rbt3 · layer 3/3**", datetime.now(UTC))
    again = await store.exploration("fresh")
    assert again is not None and again.live == moved
    assert again.content == "**rbt3 · layer 3/3**"
    assert await store.prune(datetime.now(UTC) - timedelta(days=30)) == 1
    assert await store.exploration("stale") is None
    assert await store.count_explorations() == 1


async def kept_keys(store: Store) -> set[str]:
    async with store._transaction() as connection:
        return {row[0] for row in await connection.execute(text("SELECT key FROM explorations"))}


async def test_the_store_keeps_at_most_its_bound_the_least_recently_used_going_first(
    database_url,
):
    start = datetime.now(UTC) - timedelta(hours=1)
    bounded = Store(database_url, max_explorations=3)
    await bounded.start()
    try:
        for minute, key in enumerate(("a", "b", "c")):
            await bounded.add_exploration(record(key, when=start + timedelta(minutes=minute)))
        moved = record("a", layer=3).live  # pressed: now the most recently used
        await bounded.touch_exploration("a", moved, "**rbt3 · layer 3/3**", datetime.now(UTC))
        await bounded.add_exploration(record("d", when=start + timedelta(minutes=10)))
        assert await kept_keys(bounded) == {"a", "c", "d"}  # b was the least recently used
        assert await bounded.exploration("b") is None  # a press on it: "no longer kept"
    finally:
        await bounded.close()
    # Another process (or an earlier run with a larger bound) left more than the bound.
    unbounded = Store(database_url)
    await unbounded.start()
    for minute, key in enumerate(("e", "f")):
        await unbounded.add_exploration(record(key, when=start + timedelta(minutes=20 + minute)))
    await unbounded.close()
    restarted = Store(database_url, max_explorations=3)
    await restarted.start()
    try:
        assert await restarted.prune(start - timedelta(days=30)) == 2  # none too old; 2 over
        assert await kept_keys(restarted) == {"a", "e", "f"}
        await restarted.add_exploration(record("g", when=datetime.now(UTC)))
        assert await kept_keys(restarted) == {"a", "f", "g"}
    finally:
        await restarted.close()


async def test_server_settings_survive_a_new_store(database_url, store):
    assert await store.server_settings(5) == ServerSettings(5)
    await store.save_server_settings(ServerSettings(5, "tiny", ("tiny", "rbt3")), 42)
    await store.save_server_settings(ServerSettings(5, None, ("tiny",)), 42)  # replaces
    fresh = Store(database_url)
    await fresh.start()
    try:
        assert await fresh.server_settings(5) == ServerSettings(5, None, ("tiny",))
    finally:
        await fresh.close()


async def test_a_failed_write_fails_alone_and_the_writer_goes_on(store):
    await store.add_exploration(record("twice"))
    with pytest.raises(StoreError, match="the database failed"):
        await store.add_exploration(record("twice"))  # the key is taken
    await store.add_exploration(record("after"))
    assert store.failed_writes == 1
    assert await store.exploration("after") is not None
    assert re.fullmatch(
        r"(SQLite|postgresql), an exploration kept in \d+\.\d ms \(p50\), 1 failed", store.health()
    )


async def test_writes_queued_together_commit_together_and_a_failing_one_fails_alone(store):
    await store.add_exploration(record("taken"))
    burst = [store.add_exploration(record(key)) for key in ("one", "taken", "two")]
    store.set_message("one", 1234, "**rbt3**")  # queued behind them, in the same group
    outcomes = await asyncio.gather(*burst, return_exceptions=True)
    assert outcomes[0] is None and outcomes[2] is None
    assert isinstance(outcomes[1], StoreError)  # the key is taken: that write alone fails
    await store.flush()
    kept = await store.exploration("one")
    assert kept is not None and kept.message_id == 1234
    assert await store.exploration("two") is not None
    assert (store.writes, store.failed_writes) == (5, 1)
    assert await store.count_explorations() == 3


async def test_a_burst_queued_together_is_written_in_order_and_within_the_bound(database_url):
    start = datetime.now(UTC) - timedelta(hours=1)
    bounded = Store(database_url, max_explorations=4)
    await bounded.start()
    try:
        burst = [  # one group: rows of one statement are written together
            bounded.add_exploration(record(key, when=start + timedelta(minutes=minute)))
            for minute, key in enumerate("abcdef")
        ]
        now = datetime.now(UTC)
        # Each message's last text is the one kept, whichever kind of write came last.
        bounded.touch_exploration("f", record("f", layer=3).live, "**f: layer 3/3**", now)
        bounded.set_message("e", 1, "**e: sent**")
        bounded.set_message("f", 2, "**f: sent**")
        bounded.touch_exploration("e", record("e", layer=3).live, "**e: layer 3/3**", now)
        bounded.touch_exploration("f", record("f", layer=1).live, "**f: layer 1/3**", now)
        bounded.set_message("e", 1, "**e: layer 3/3, sent**")
        await asyncio.gather(*burst)
        await bounded.flush()
        assert await kept_keys(bounded) == {"c", "d", "e", "f"}  # a and b made way
        e, f = await bounded.exploration("e"), await bounded.exploration("f")
        assert e is not None and (e.message_id, e.content) == (1, "**e: layer 3/3, sent**")
        assert f is not None and (f.message_id, f.content) == (2, "**f: layer 1/3**")
        assert (e.live, f.live) == (record("e", layer=3).live, record("f", layer=1).live)
        assert await bounded.count_explorations() == 4
    finally:
        await bounded.close()


async def test_a_prune_applies_after_the_writes_asked_before_it_and_counts_them_once(
    database_url,
):
    now = datetime.now(UTC)
    bounded = Store(database_url, max_explorations=4)
    await bounded.start()
    try:
        queued = [  # asked for, not yet committed, when the prune is asked for
            bounded.add_exploration(record("stale-1", when=now - timedelta(days=40))),
            bounded.add_exploration(record("stale-2", when=now - timedelta(days=39))),
            bounded.add_exploration(record("x", when=now - timedelta(minutes=9))),
            bounded.add_exploration(record("y", when=now - timedelta(minutes=8))),
        ]
        assert await bounded.prune(now - timedelta(days=30)) == 2
        await asyncio.gather(*queued)
        assert await kept_keys(bounded) == {"x", "y"}
        for minute, key in enumerate(("z1", "z2", "z3")):
            await bounded.add_exploration(record(key, when=now + timedelta(minutes=minute)))
        assert await kept_keys(bounded) == {"y", "z1", "z2", "z3"}  # x alone made way
    finally:
        await bounded.close()


async def test_a_prune_removes_all_that_is_old_a_batch_at_a_time(database_url, monkeypatch):
    monkeypatch.setattr(store_module, "PRUNE_BATCH", 2)
    now = datetime.now(UTC)
    bounded = Store(database_url, max_explorations=6)
    await bounded.start()
    try:
        for day, key in enumerate(("s1", "s2", "s3", "s4", "s5")):
            await bounded.add_exploration(record(key, when=now - timedelta(days=40 + day)))
        await bounded.add_exploration(record("fresh", when=now - timedelta(minutes=1)))
        assert await bounded.prune(now - timedelta(days=30)) == 5  # three writes: 2, 2, 1
        assert await kept_keys(bounded) == {"fresh"}
        for minute, key in enumerate("abcdef"):
            await bounded.add_exploration(record(key, when=now + timedelta(minutes=minute)))
        assert await kept_keys(bounded) == set("abcdef")  # counted right: fresh alone made way
    finally:
        await bounded.close()
    with pytest.raises(StoreError, match="closed"):  # not left waiting for a writer
        await bounded.prune(now)


async def test_an_exploration_added_while_a_prune_runs_makes_none_make_way(database_url):
    now = datetime.now(UTC)
    bounded = Store(database_url, max_explorations=6)
    await bounded.start()
    try:
        for day, key in enumerate(("s1", "s2")):
            await bounded.add_exploration(record(key, when=now - timedelta(days=40 + day)))
        for minute, key in enumerate(("f1", "f2", "f3", "f4")):
            await bounded.add_exploration(record(key, when=now - timedelta(minutes=9 - minute)))
        pruning = asyncio.ensure_future(bounded.prune(now - timedelta(days=30)))
        added = bounded.add_exploration(record("g", when=now))  # committed with the removal
        assert await pruning == 2
        await added
        assert await kept_keys(bounded) == {"f1", "f2", "f3", "f4", "g"}  # 5 of 6: f1 stays
    finally:
        await bounded.close()


async def test_a_waiter_that_gives_up_does_not_stop_the_writer(store):
    abandoned = store.add_exploration(record("abandoned"))
    abandoned.cancel()  # its command timed out, say
    await asyncio.wait_for(store.add_exploration(record("next")), 10)
    assert await store.exploration("next") is not None


@pytest.mark.skipif(
    not POSTGRES, reason="needs a PostgreSQL server (TEST_DATABASE_URL; CI has one)"
)
async def test_a_database_gone_while_running_fails_each_write_without_hanging():
    url, name = await _postgres_database()
    store = Store(url)
    await store.start()
    await store.add_exploration(record("before"))
    await _drop_postgres(name)  # WITH (FORCE): the store's connections are cut
    for key in ("after", "again"):  # the writer answers each, and goes on
        with pytest.raises(StoreError, match="the database failed"):
            await asyncio.wait_for(store.add_exploration(record(key)), 30)
    with pytest.raises(StoreError, match="the database failed"):
        await asyncio.wait_for(store.exploration("before"), 30)
    assert store.failed_writes == 2
    await asyncio.wait_for(store.close(), 10)


def migrate(connection, revision: str, down: bool = False) -> None:
    """Bring the schema to `revision` (up, or down with `down`), as the store's Alembic does."""
    from alembic import command
    from alembic.config import Config

    from bot.store.store import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["connection"] = connection
    (command.downgrade if down else command.upgrade)(config, revision)


OLD_ROW = text(
    "INSERT INTO explorations (key, model, text, text_pair, {target} state, shape, content, "
    "created_at, last_used_at) VALUES (:key, 'tiny', 'hi', :pair, {value} :state, :shape, 'c', "
    ":now, :now)"
)


async def insert_old(connection, revision: str, key: str, **values) -> None:
    """An /attention exploration as revision 0001 or 0002 kept it."""
    target = revision != "0001"
    statement = OLD_ROW.text.format(target="target," if target else "",
                                    value=":target," if target else "")  # fmt: skip
    await connection.execute(
        text(statement),
        {
            "key": key,
            "pair": values.get("pair"),
            "state": values.get("state", '{"view": "mean", "layer": 1, "head": 0, "token": 1}'),
            "shape": '{"layers": 2, "heads": 4, "tokens": 4}',
            "now": datetime.now(UTC),
            **({"target": values.get("target")} if target else {}),
        },
    )


def attention(state: dict, pair=None, target=None) -> Live:
    """What the attention kind keeps for such an exploration."""
    subject = {"model": "tiny", "text": "hi", "text_pair": pair, "target": target}
    return Live(
        "attention",
        {"subject": subject, "shown": state, "shape": {"layers": 2, "heads": 4, "tokens": 4}},
    )


async def revision_of(database_url: str) -> str:
    engine = create_async_engine(database_url)
    async with engine.connect() as connection:
        version = await connection.execute(text("SELECT version_num FROM alembic_version"))
        found = version.scalar_one()
    await engine.dispose()
    return found


async def test_migrations_run_once_and_upgrade_the_first_schema(database_url):
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(migrate, "0001")
        await insert_old(connection, "0001", "old")
    await engine.dispose()
    for _ in range(2):  # a second start finds nothing to do
        store = Store(database_url)
        await store.start()
        kept = await store.exploration("old")
        await store.close()
        assert kept is not None
        assert kept.live == attention({"view": "mean", "layer": 1, "head": 0, "token": 1})
    assert await revision_of(database_url) == "0003"


async def test_explorations_of_0002_become_attention_live_replies_and_back(database_url):
    full = {"view": "token", "layer": 2, "head": 3, "token": 1, "part": "cross",
            "granularity": "word", "scale": "fixed", "window": 0}  # fmt: skip
    engine = create_async_engine(database_url)
    async with engine.begin() as connection:
        await connection.run_sync(migrate, "0002")
        await insert_old(connection, "0002", "pair", pair="there")
        await insert_old(connection, "0002", "t5", target="Das Haus.", state=json.dumps(full))
    store = Store(database_url)
    await store.start()  # upgrades to the latest
    await store.add_exploration(record("other"))  # a kind revision 0002 cannot hold
    found = {key: await store.exploration(key) for key in ("pair", "t5")}
    await store.close()
    shown = {"view": "mean", "layer": 1, "head": 0, "token": 1}
    assert found["pair"] is not None and found["pair"].live == attention(shown, pair="there")
    assert found["t5"] is not None and found["t5"].live == attention(full, target="Das Haus.")
    async with engine.begin() as connection:
        await connection.run_sync(migrate, "0002", True)
    async with engine.connect() as connection:
        rows = await connection.execute(
            text("SELECT key, model, text, text_pair, target, state, shape FROM explorations "
                 "ORDER BY key")
        )  # fmt: skip
        back = [tuple(row[:5]) + tuple(_json(value) for value in row[5:]) for row in rows]
    await engine.dispose()
    shape = {"layers": 2, "heads": 4, "tokens": 4}
    assert back == [
        ("pair", "tiny", "hi", "there", None, shown, shape),
        ("t5", "tiny", "hi", None, "Das Haus.", full, shape),
    ]  # the other kind's exploration is removed: revision 0002 has no place for it


def _json(value) -> dict:
    """A JSON column's value as the driver hands it back (text on SQLite and asyncpg)."""
    return value if isinstance(value, dict) else json.loads(value)


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


async def test_a_database_that_cannot_be_reached_is_one_clear_line(tmp_path):
    url = f"postgresql+asyncpg://explorer:s3cret@127.0.0.1:{closed_port()}/explorer"
    with pytest.raises(StoreError) as caught:
        await Store(url).start()
    message = str(caught.value)
    assert message.startswith("cannot use the database at postgresql+asyncpg://explorer:***@")
    assert "s3cret" not in message and "\n" not in message and "Connect call failed" in message
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "DISCORD_TOKEN": "x",
        "DATABASE_URL": url,
    }
    done = await asyncio.to_thread(
        subprocess.run, [sys.executable, "-m", "bot", "run"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=60,
    )  # fmt: skip
    assert done.returncode == 2
    assert (
        done.stderr.strip()
        .splitlines()[-1]
        .startswith(
            "Database error: DATABASE_URL: cannot use the database at postgresql+asyncpg://"
        )
    )
    assert "s3cret" not in done.stderr and "Traceback" not in done.stderr


WRITER = textwrap.dedent(
    """
    import asyncio, sys
    from datetime import UTC, datetime
    sys.path.insert(0, {root!r})
    from bot.store import Store
    from tests.test_store import record

    async def main():
        store = Store({url!r})
        await store.start()
        for index in range(150):
            store.add_exploration(record(f"{{sys.argv[1]}}-{{index}}"))
        await store.close()

    asyncio.run(main())
    """
)


async def test_two_processes_on_one_sqlite_file_are_safe(tmp_path):
    url = f"sqlite+aiosqlite:///{tmp_path / 'shared.db'}"
    script = WRITER.format(root=str(ROOT), url=url)
    processes = [
        await asyncio.create_subprocess_exec(
            sys.executable, "-c", script, name, stderr=asyncio.subprocess.PIPE
        )
        for name in ("a", "b")
    ]
    results = await asyncio.gather(*(process.communicate() for process in processes))
    for process, (_, errors) in zip(processes, results, strict=True):
        assert process.returncode == 0, errors.decode()[-2000:]
    store = Store(url)
    await store.start()
    try:
        assert await store.count_explorations() == 300  # every write of both, none lost
    finally:
        await store.close()
