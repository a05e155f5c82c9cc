"""End to end, under pressure: a full queue, per-user limits, timeouts, eviction, permissions,
secrecy and a graceful SIGTERM, each through the real bot process and the fake Discord."""

from __future__ import annotations

import asyncio

import pytest

from tests.bot_process import TOKEN, BotProcess, fresh_bot
from tests.fake_discord import MEMBER_PERMISSIONS, USER_ID, message_data

EPHEMERAL = 64
STRICT = {
    "PRELOAD_DEFAULT_MODEL": "false",  # the first command pays a cold start of seconds
    "MAX_ACTIVE_JOBS": "1",
    "QUEUE_SIZE": "1",
    "USER_MAX_JOBS": "1",
    "USER_COOLDOWN_SECONDS": "30",
    "MAX_LOADED_MODELS": "1",
    "OPERATOR_IDS": str(USER_ID + 73),
}


@pytest.fixture(scope="module")
async def strict(fake, tmp_path_factory, tiny_dir, rbt3_dir):
    process = BotProcess(fake, tmp_path_factory.mktemp("strict") / "bot.log",
                         f"tiny={tiny_dir},rbt3={rbt3_dir}", **STRICT)  # fmt: skip
    await process.start()
    yield process
    await process.terminate()
    assert TOKEN not in process.log()


def content(record) -> str:
    return message_data(record)["content"]


async def only_answer(bot: BotProcess, interaction) -> dict:
    """The single answer the user got (waits until the bot is done, then checks nothing else
    was sent)."""
    await interaction.answer(timeout=60)
    await bot.quiet()
    (answer,) = interaction.answers()
    data = message_data(answer)
    assert data["allowed_mentions"] == {"parse": []}
    return data


async def test_a_full_queue_answers_busy_with_the_count_ahead(fake, strict):
    first = await fake.slash("tokenize", user_id=USER_ID + 1, text="cold start", model="rbt3")
    others = await asyncio.gather(
        *(
            fake.slash("tokenize", user_id=USER_ID + n, text="hello", model="tiny")
            for n in range(2, 7)
        )
    )
    answers = [await only_answer(strict, i) for i in (first, *others)]
    assert answers[0]["content"].startswith("**rbt3**")
    assert answers[1]["content"].startswith("**tiny**")  # queued behind the first, then served
    for busy in answers[2:]:
        assert busy["content"] == "⚠️ 🚦 Busy — 2 requests ahead of you. Please try again shortly."
        assert busy["flags"] & EPHEMERAL


async def test_one_user_cannot_flood_the_channel(fake, strict):
    user = USER_ID + 50
    first, second = await asyncio.gather(
        fake.slash(
            "attention", user_id=user, text="I am studying NLP.", model="rbt3", view="model"
        ),
        fake.slash("tokenize", user_id=user, text="me again", model="rbt3"),
    )
    assert content(await first.answer()).startswith("**rbt3 · 3 layers × 12 heads**")
    refused = await only_answer(strict, second)
    assert refused["content"] == (
        "⚠️ You already have 1 command running; please wait for one to finish."
    )
    later = await only_answer(strict, await fake.slash("tokenize", user_id=user, text="and again"))
    assert later["content"].startswith("⚠️ Slow down a little: try again in 2")
    assert later["flags"] & EPHEMERAL


async def test_least_recently_used_model_is_evicted_and_status_shows_it(fake, strict):
    await only_answer(
        strict, await fake.slash("tokenize", user_id=USER_ID + 60, text="x", model="rbt3")
    )
    await only_answer(
        strict, await fake.slash("tokenize", user_id=USER_ID + 61, text="y", model="tiny")
    )
    status = (await only_answer(strict, await fake.slash("status", user_id=USER_ID + 62)))[
        "content"
    ]
    assert "\n  tiny " in status and "\n  rbt3 " not in status
    assert "queue           0 running, 0 waiting" in status
    assert "tokenize" in status.split("command")[1]  # latency table
    assert "evicted model rbt3" in strict.log()


async def test_management_needs_manage_server(fake, strict):
    member = await fake.slash("admin", user_id=USER_ID + 70, permissions=MEMBER_PERMISSIONS,
                              subcommand="internals")  # fmt: skip
    refused = await only_answer(strict, member)
    assert refused["content"] == "⚠️ This command needs the Manage Server permission."
    assert refused["flags"] & EPHEMERAL
    manager = await only_answer(
        strict, await fake.slash("admin", user_id=USER_ID + 71, subcommand="internals")
    )
    assert "worker threads" in manager["content"] and "gc frozen objects" in manager["content"]


async def test_only_the_bots_operators_load_and_unload_models_for_every_server(fake, strict):
    for subcommand in ("load", "unload"):  # a server's manager, not an operator
        manager = await fake.slash("admin", user_id=USER_ID + 72, subcommand=subcommand,
                                   model="rbt3")  # fmt: skip
        refused = await only_answer(strict, manager)
        assert refused["content"] == (
            "⚠️ Loading and unloading models changes them for every server this bot is in, so "
            "only the bot's operators can do that. To choose this server's models, use "
            "`/settings default-model`, `/settings allow` or `/settings deny`."
        )
        assert refused["flags"] & EPHEMERAL
    # The application's owner (as Discord's /oauth2/applications/@me says) may.
    loaded = await only_answer(
        strict, await fake.slash("admin", user_id=USER_ID, subcommand="load", model="rbt3")
    )
    assert loaded["content"].startswith("✅ **rbt3** is loaded (")
    # So may a user in OPERATOR_IDS, wherever they lack Manage Server.
    operator = await fake.slash("admin", user_id=USER_ID + 73, permissions=MEMBER_PERMISSIONS,
                                subcommand="unload", model="rbt3")  # fmt: skip
    assert (await only_answer(strict, operator))["content"] == "✅ **rbt3** was unloaded."


async def test_every_command_logs_one_structured_line_without_secrets(fake, strict):
    lines = [line for line in strict.log().splitlines() if "bot.pipeline: command=" in line]
    assert lines, strict.log()[-2000:]
    fields = dict(pair.split("=", 1) for pair in lines[0].split("bot.pipeline: ")[1].split())
    assert set(fields) == {"command", "kind", "user", "model", "tokens", "queue_ms",
                           "compute_ms", "render_ms", "total_ms", "outcome"}  # fmt: skip
    assert fields["user"] != str(USER_ID + 1) and len(fields["user"]) == 10
    outcomes = {line.rsplit("outcome=", 1)[1] for line in lines}
    assert {"ok", "UserError"} <= outcomes
    assert TOKEN not in strict.log()
    assert all(TOKEN not in str(record.json) for record in fake.requests)


async def test_a_command_over_its_time_limit_is_stopped_and_reported(tmp_path, rbt3_dir):
    # Loading rbt3's shapes takes seconds; tokenizing once it is loaded, milliseconds: the
    # 0.5 s limit is far from both, on a quiet machine or a busy one.
    settings = {"PRELOAD_DEFAULT_MODEL": "false", "JOB_TIMEOUT_SECONDS": "0.5"}
    async with fresh_bot(tmp_path / "bot.log", f"rbt3={rbt3_dir}", **settings) as (server, bot):
        slow = await only_answer(bot, await server.slash("tokenize", text="cold", model="rbt3"))
        assert slow["content"] == (
            "⚠️ This took longer than 0.5 s and was stopped. Try a shorter text or a smaller model."
        )
        assert slow["flags"] & EPHEMERAL
        await bot.logged("loaded model rbt3")  # the interrupted load finishes in the background
        warm = await only_answer(bot, await server.slash("tokenize", text="warm", model="rbt3"))
        assert warm["content"].startswith("**rbt3**")
        assert "outcome=UserError" in bot.log()
        assert await bot.terminate() == 0


async def test_sigterm_finishes_running_work_and_refuses_new(tmp_path, tiny_dir):
    settings = {
        "PRELOAD_DEFAULT_MODEL": "false",
        "USER_COOLDOWN_SECONDS": "0",
        "DEFER_AFTER_MS": "200",
    }
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", **settings) as (server, bot):
        running = await server.slash("tokenize", text="cold start during shutdown", model="tiny")
        await running.wait(lambda i: bool(i.callbacks))
        # A cold load outlasts DEFER_AFTER_MS: "thinking…" first, the answer follows up.
        assert running.callbacks[0].json == {"type": 5}
        assert 0.2 <= running.acknowledged_after < 3.0
        bot.process.send_signal(15)
        await bot.logged("shutting down: finishing 1 running command(s)")
        late = await only_answer(bot, await server.slash("tokenize", text="too late", model="tiny"))
        assert late["content"] == (
            "⚠️ The bot is restarting and takes no new work; try again in a minute."
        )
        finished = await running.answer(timeout=30)
        assert content(finished).startswith("**tiny** · 26 characters")
        assert running.followups == [finished]
        assert await bot.terminate(timeout=30) == 0
        log = bot.log()
        assert "shutting down: finishing 1 running command(s)" in log
        assert log.index("outcome=ok") < log.index("bot.app: stopped")
        assert "Traceback" not in log
