"""Nothing lost on a restart, through real bot processes: explorations survive SIGKILL and an
upgrade of the schema, a database error at run time is answered and the bot carries on, and a
server's settings are kept."""

from __future__ import annotations

import asyncio
import hashlib
import hmac
import sqlite3

import pytest
from sqlalchemy.ext.asyncio import create_async_engine

from bot.store import Store
from tests.bot_process import BotProcess, fresh_bot
from tests.fake_discord import (
    CHANNEL_ID,
    GUILD_ID,
    MEMBER_PERMISSIONS,
    USER_ID,
    message_data,
)
from tests.test_e2e_discord import EPHEMERAL, components, explore, press
from tests.test_store import BACKENDS, _drop_postgres, _postgres_database, insert_old, migrate

FAST = {"USER_COOLDOWN_SECONDS": "0", "USER_MAX_JOBS": "100"}


async def kept_rows(data_dir) -> dict[str, tuple[int | None, str]]:
    """The explorations in the bot's SQLite file: key → (message id, message text)."""
    store = Store(f"sqlite+aiosqlite:///{data_dir / 'explorer.db'}")
    await store.start()
    try:
        async with store._transaction() as connection:
            sql = "SELECT key, message_id, content FROM explorations"
            return {key: (message, content) for key, message, content in
                    await connection.exec_driver_sql(sql)}  # fmt: skip
    finally:
        await store.close()


async def test_sigkill_in_a_burst_loses_no_committed_exploration(tmp_path, tiny_dir):
    # The database was made by the version before live replies, and holds an exploration.
    (tmp_path / "data").mkdir()
    await seed_revision_0002(f"sqlite+aiosqlite:///{tmp_path / 'data' / 'explorer.db'}")
    async with fresh_bot(tmp_path / "first.log", f"tiny={tiny_dir}", **FAST) as (server, first):
        burst = [
            server.slash("attention", text=f"request {i} in a burst", model="tiny")
            for i in range(24)
        ]
        interactions = await asyncio.gather(*burst)
        answered = []
        for interaction in interactions[:12]:
            answered.append((await interaction.answer(timeout=60)).response)
        presses = [server.press(m, components(m)["layer-"]["custom_id"]) for m in answered[:6]]
        await asyncio.gather(*presses)
        first.process.kill()  # SIGKILL, in the middle of the burst and the presses
        await first.process.wait()

        kept = await kept_rows(tmp_path / "data")  # the file opens: nothing half-written
        keys = {components(m)["layer+"]["custom_id"].split(":")[1] for m in answered}
        assert keys <= kept.keys()  # each was committed before its message was sent
        assert len(kept) <= len(burst) + 1  # one each at most (kept0002 is the one more)

        second = BotProcess(server, tmp_path / "second.log", f"tiny={tiny_dir}", **FAST)
        await second.start()
        for message in answered:
            key = components(message)["layer+"]["custom_id"].split(":")[1]
            _, edited = await press(server, message, "head+")
            assert key in kept  # every committed exploration works after the restart
            assert edited is not None and edited["content"].startswith("**tiny · layer")
        await press_kept0002(server, answered[0])  # upgraded at the first start, still steps
        assert await second.terminate() == 0


async def test_an_answer_is_kept_once_naming_its_message_and_text(tmp_path, tiny_dir):
    # Commands announce their live reply before drawing it: kept then, not again when sent.
    asked = {"attention": {"text": "kept once"}, "fill-mask": {"text": "kept [MASK] and [MASK]"}}
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", **FAST) as (server, bot):
        messages = [
            (await (await server.slash(name, model="tiny", **options)).answer(timeout=60)).response
            for name, options in asked.items()
        ]
        assert await bot.terminate() == 0
    shown = {  # each message's exploration: the key in its controls' custom ids
        next(iter(components(m).values()))["custom_id"].split(":")[1]: (int(m["id"]), m["content"])
        for m in messages
    }
    assert await kept_rows(tmp_path / "data") == shown


def forged(message: dict, key: str) -> dict:
    """The message with its controls' custom ids naming the exploration kept under `key`."""
    return {**message, "components": [{"type": 1, "components": [
        {**c, "custom_id": c["custom_id"].replace(c["custom_id"].split(":")[1], key)}
        for c in row["components"]]} for row in message["components"]]}  # fmt: skip


async def seed_revision_0002(url: str) -> None:
    """A database as revision 0002 left it, holding an /attention exploration (`kept0002`,
    at layer 2 of `tiny`)."""
    engine = create_async_engine(url)
    async with engine.begin() as connection:
        await connection.run_sync(migrate, "0002")
        state = '{"view": "mean", "layer": 2, "head": 0, "token": 1}'
        await insert_old(connection, "0002", "kept0002", state=state)
    await engine.dispose()


async def press_kept0002(server, message: dict) -> None:
    """Step the exploration of revision 0002, on a message like `message`."""
    old = forged(message, "kept0002")  # the message the old exploration was sent in
    _, edited = await press(server, old, "layer-")
    assert edited["content"].startswith("**tiny · layer 1/2 · mean of 4 heads** · 3 tokens")
    _, edited = await press(server, old, "view", values=["heads"])
    assert edited["content"].startswith("**tiny · layer 1/2 · all 4 heads**")


@pytest.mark.skipif(
    "postgresql" not in BACKENDS, reason="needs a PostgreSQL server (TEST_DATABASE_URL)"
)
async def test_an_exploration_kept_before_live_replies_steps_on_postgresql(tmp_path, tiny_dir):
    url, name = await _postgres_database()
    try:
        await seed_revision_0002(url)
        models = f"tiny={tiny_dir}"
        async with fresh_bot(tmp_path / "bot.log", models, DATABASE_URL=url, **FAST) as (
            server,
            bot,
        ):
            _, message = await explore(server, text="a message to press on", model="tiny")
            await press_kept0002(server, message)
            assert await bot.terminate() == 0
    finally:
        await _drop_postgres(name)


async def test_a_database_error_at_run_time_is_answered_and_the_bot_carries_on(tmp_path, tiny_dir):
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", **FAST) as (server, bot):
        _, message = await explore(server, text="hello world", model="tiny")
        # The database breaks under the running bot.
        with sqlite3.connect(tmp_path / "data" / "explorer.db") as database:
            database.execute("DROP TABLE explorations")
        restarted_key = components(message)["layer+"]["custom_id"].replace(
            components(message)["layer+"]["custom_id"].split(":")[1], "unseenkey1"
        )
        forged = {**message, "components": [{"type": 1, "components": [
            {**c, "custom_id": restarted_key} for c in message["components"][1]["components"]
            if c["custom_id"].endswith("layer+")]}]}  # fmt: skip
        broken = await server.press(forged, restarted_key)
        answer = await broken.answer()
        assert answer.json["data"]["flags"] & EPHEMERAL
        assert "cannot reach its database right now" in answer.json["data"]["content"]
        still = await (await server.slash("tokenize", text="still here", model="tiny")).answer()
        assert "**tiny** · 10 characters" in message_data(still)["content"]
        _, again = await explore(server, text="a new one", model="tiny")  # kept in memory
        _, edited = await press(server, again, "layer-")
        assert edited["content"].startswith("**tiny · layer 1/2")
        assert "Traceback" not in bot.log().split("store error")[0]


async def test_server_settings_narrow_the_models_and_survive_a_restart(
    tmp_path, tiny_dir, rbt3_dir
):
    models = f"tiny={tiny_dir},rbt3={rbt3_dir}"
    async with fresh_bot(tmp_path / "first.log", models, **FAST) as (server, first):

        async def settings(sub: str, permissions=None, **options) -> dict:
            extra = {} if permissions is None else {"permissions": permissions}
            interaction = await server.slash("settings", subcommand=sub, **extra, **options)
            return message_data(await interaction.answer())

        refused = await settings("deny", MEMBER_PERMISSIONS, model="tiny")
        assert refused["content"] == "⚠️ This command needs the Manage Server permission."
        denied = await settings("deny", model="tiny")
        assert denied["content"] == "✅ `tiny` denied. This server uses `rbt3` (default)."
        again = await settings("deny", model="tiny")
        assert (
            again["content"] == "`tiny` is already denied here. This server uses `rbt3` (default)."
        )
        last = await settings("deny", model="rbt3")
        assert "the only model left on this server" in last["content"]
        listing = message_data(await (await server.slash("models")).answer())["content"]
        assert "`rbt3`" in listing and "`tiny`" not in listing
        gone = await (await server.slash("tokenize", text="hi", model="tiny")).answer()
        assert (
            "is not one of this server's models. Allowed: `rbt3`."
            in (message_data(gone)["content"])
        )
        names = await (await server.autocomplete("tokenize", "model", model="")).answer()
        assert [c["name"] for c in names.json["data"]["choices"]] == ["rbt3"]
        allowed = await settings("allow", model="tiny")
        assert allowed["content"] == "✅ `tiny` allowed. This server uses `tiny` (default), `rbt3`."
        chosen = await settings("default-model", model="rbt3")
        assert (
            chosen["content"]
            == "✅ Default is now `rbt3`. This server uses `rbt3` (default), `tiny`."
        )
        assert await first.terminate() == 0

        second = BotProcess(server, tmp_path / "second.log", models, **FAST)
        await second.start()
        used = await (await server.slash("tokenize", text="hi", user_id=USER_ID + 1)).answer()
        assert message_data(used)["content"].startswith("**rbt3** · ")  # the server's default
        assert await second.terminate() == 0


async def test_the_log_of_a_run_whose_database_goes_away_has_no_user_text_or_raw_ids(
    tmp_path, tiny_dir
):
    secret = "my secret sentence about Zanzibar"
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", **FAST) as (server, bot):
        _, kept = await explore(server, text="a first text", model="tiny")
        with sqlite3.connect(tmp_path / "data" / "explorer.db") as database:
            database.execute("DROP TABLE explorations")  # gone under the running bot
        await explore(server, text=secret, model="tiny")  # its write fails
        _, edited = await press(server, kept, "layer-")  # so does this press's
        assert edited["content"].startswith("**tiny · layer 1/2")
        await (await server.slash("tokenize", text=secret, model="tiny")).answer()
        assert await bot.terminate() == 0
    log = bot.log()
    assert "store error" in log  # the failures were logged…
    for private in (secret, "Zanzibar", "a first text", USER_ID, CHANNEL_ID, GUILD_ID):
        assert str(private) not in log  # …without anything a user said, nor whose it was
    key = (tmp_path / "data" / "log-hash-key").read_text().strip()
    assert len(key) == 64 and key not in log
    tag = hmac.new(key.encode(), str(USER_ID).encode(), hashlib.sha256).hexdigest()[:10]
    assert f"user={tag} " in log
    assert hashlib.sha256(str(USER_ID).encode()).hexdigest()[:10] not in log  # not unsalted
