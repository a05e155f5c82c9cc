"""End to end: the real bot process, the unmodified discord.py client, a fake Discord server.

Every test acts as Discord would (gateway events in, REST calls out) and asserts what a user
in the channel would see.
"""

from __future__ import annotations

import asyncio
import io
import json
import time

import pytest
from matplotlib import image

from tests.bot_process import TOKEN, BotProcess
from tests.fake_discord import GUILD_ID, HEARTBEAT_INTERVAL_MS, FakeDiscord, Fault, message_data

EPHEMERAL = 64


@pytest.fixture(scope="module")
async def fake():
    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture(scope="module")
async def bot(fake, tmp_path_factory, minilm_dir, tiny_dir, rbt3_dir):
    process = BotProcess(
        fake,
        tmp_path_factory.mktemp("bot") / "bot.log",
        f"minilm={minilm_dir},tiny={tiny_dir},rbt3={rbt3_dir},gone=/nonexistent/explorer-model",
    )
    await process.start()
    yield process
    await process.terminate()


def png_size(data: bytes) -> tuple[int, int]:
    pixels = image.imread(io.BytesIO(data), format="png")
    return pixels.shape[1], pixels.shape[0]


async def test_start_up_logs_in_and_syncs_command_schemas_to_the_guild(fake, bot):
    assert set(fake.commands) == {GUILD_ID}
    schemas = {schema["name"]: schema for schema in fake.commands[GUILD_ID]}
    assert set(schemas) == {"tokenize", "attention", "config", "forward", "models"}
    assert schemas["attention"]["description"] == (
        "Draw a heatmap of one attention head, or the mean of a layer's heads."
    )
    options = {option["name"]: option for option in schemas["attention"]["options"]}
    assert options["text"] == {
        "type": 3, "name": "text", "description": "The text whose attention to show",
        "required": True, "min_length": 1, "max_length": 6000,
    }  # fmt: skip
    assert options["layer"]["type"] == 4 and options["layer"]["min_value"] == 1
    assert not options["layer"].get("required", False)
    assert options["model"]["autocomplete"] is True
    assert all(
        option.get("autocomplete") for name in ("tokenize", "config", "forward")
        for option in schemas[name]["options"] if option["name"] == "model"
    )  # fmt: skip
    assert fake.identifies == 1
    assert TOKEN not in bot.log()


async def test_tokenize_end_to_end(fake, bot):
    interaction = await fake.slash("tokenize", text="I am studying NLP.")
    answer = await interaction.answer()
    assert interaction.callbacks[0].json["type"] == 5  # deferred: "Model Explorer is thinking…"
    assert interaction.acknowledged_after < 3.0
    content = message_data(answer)["content"]
    assert "18 characters → 8 tokens" in content
    assert "[CLS]*" in content and "##p" in content
    assert message_data(answer)["allowed_mentions"] == {"parse": []}


async def test_attention_end_to_end_attaches_a_png(fake, bot):
    interaction = await fake.slash("attention", text="I am studying NLP.", layer=2, head=5)
    answer = await interaction.answer()
    assert "minilm · layer 2/6 · head 5/12" in message_data(answer)["content"]
    ((filename, data),) = answer.files.values()
    assert filename == "attention.png"
    width, height = png_size(data)
    assert 600 <= width <= 1400 and 500 <= height <= 1200
    assert message_data(answer)["attachments"][0]["filename"] == "attention.png"


async def test_chinese_attention_on_rbt3_shaped_model(fake, bot):
    interaction = await fake.slash("attention", text="我在学习自然语言处理", model="rbt3")
    answer = await interaction.answer()
    assert interaction.acknowledged_after < 3.0  # a cold load, acknowledged first
    assert "rbt3 · layer 3/3 · mean of 12 heads" in message_data(answer)["content"]
    assert answer.files


async def test_config_forward_and_models_end_to_end(fake, bot):
    config = await (await fake.slash("config", model="rbt3", key="vocab_size")).answer()
    assert "21128" in message_data(config)["content"]
    forward = await (await fake.slash("forward", text="hello world", model="tiny")).answer()
    assert "last_hidden_state: shape (1, 4, 32) float32" in message_data(forward)["content"]
    models = await (await fake.slash("models")).answer()
    assert "• `minilm` (local directory) — default" in message_data(models)["content"]


async def test_model_autocomplete(fake, bot):
    interaction = await fake.autocomplete("attention", "model", model="rb", text="x")
    answer = await interaction.answer()
    assert answer.json == {"type": 8, "data": {"choices": [{"name": "rbt3", "value": "rbt3"}]}}
    everything = await (await fake.autocomplete("tokenize", "model", model="")).answer()
    names = [choice["name"] for choice in everything.json["data"]["choices"]]
    assert names == ["minilm", "tiny", "rbt3", "gone"]


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        ({"text": ""}, "it was empty"),
        ({"text": "x" * 10_000}, "10,000 characters long; the limit is 2,000"),
        ({"text": "hi", "model": "gpt-7b"}, "`gpt-7b` is not one of this bot's models"),
        ({"text": "hi", "layer": 9}, "This model has 6 layers: choose a layer from 1 to 6."),
        ({"text": "hi", "head": 13}, "choose a head from 1 to 12"),
        ({"text": "hi", "model": "gone"}, "configured from a local directory that is missing"),
        ({"text": "hi", "layer": 500}, "choose a layer from 1 to 6"),
    ],
)
async def test_bad_input_gets_one_ephemeral_reply_and_the_bot_carries_on(
    fake, bot, options, expected
):
    interaction = await fake.slash("attention", **options)
    await interaction.answer()
    await asyncio.sleep(0.3)  # anything else the bot would (wrongly) send arrives by now
    answers = interaction.answers()
    assert len(answers) == 1, answers
    data = message_data(answers[0])
    assert expected in data["content"]
    assert data["flags"] & EPHEMERAL
    assert "Traceback" not in data["content"]
    if interaction.callbacks[0].json["type"] == 5:
        assert interaction.deleted_original  # the public "thinking…" does not linger
    follow_up = await (await fake.slash("tokenize", text="still here", model="tiny")).answer()
    assert "**tiny** · 10 characters → " in message_data(follow_up)["content"]


async def test_mentions_in_user_text_never_ping(fake, bot):
    interaction = await fake.slash("tokenize", text="@everyone <@123> hello", model="tiny")
    answer = await interaction.answer()
    assert message_data(answer)["allowed_mentions"] == {"parse": []}


async def test_thirty_at_once_are_acknowledged_in_time_and_answered(fake, bot):
    await (await fake.slash("attention", text="warm up", model="minilm")).answer()
    started = time.monotonic()
    texts = [f"Request number {i} about attention." for i in range(30)]
    commands = [
        fake.slash("attention" if i % 2 else "tokenize", text=text, model="minilm")
        for i, text in enumerate(texts)
    ]
    interactions = await asyncio.gather(*commands)
    answers = await asyncio.gather(*(i.answer(timeout=120) for i in interactions))
    acks = [i.acknowledged_after for i in interactions]
    assert all(ack is not None and ack < 3.0 for ack in acks), acks
    for i, answer in enumerate(answers):
        content = message_data(answer)["content"]
        assert not message_data(answer).get("flags", 0) & EPHEMERAL
        if i % 2:
            assert content.startswith("**minilm · layer 6/6 · mean of 12 heads**")
        else:  # each table holds its own request's number: answers are not mixed up
            tokens = [row.split()[1] for row in content.split("```")[1].strip().splitlines()[1:]]
            number = tokens[tokens.index("number") + 1 : tokens.index("about")]
            assert "".join(number).replace("##", "") == str(i)
    assert sum(1 for answer in answers if answer.files) == 15
    gaps = fake.heartbeat_gaps(since=started)
    assert gaps, "no heartbeats during the load"
    late = max(gaps) - HEARTBEAT_INTERVAL_MS / 1000
    assert late < 0.5, f"heartbeat {late:.3f}s late: the event loop was blocked"


async def test_rate_limited_followup_is_waited_out(fake, bot):
    fake.faults.append(Fault("POST", r"^/webhooks/", 429, retry_after=0.4))
    interaction = await fake.slash("tokenize", text="rate limited", model="tiny")
    answer = await interaction.answer()
    statuses = [record.status for record in interaction.followups]
    assert statuses == [200]
    rejected = [r for r in fake.requests if r.status == 429 and interaction.token in r.path]
    assert len(rejected) == 1
    assert answer.at - rejected[0].at >= 0.4
    assert "**tiny**" in message_data(answer)["content"]


async def test_server_error_and_slow_response_are_retried(fake, bot):
    fake.faults.append(Fault("POST", r"^/webhooks/", 500))
    fake.faults.append(Fault("POST", r"^/interactions/", 200, delay=1.0))
    interaction = await fake.slash("tokenize", text="flaky", model="tiny")
    answer = await interaction.answer(timeout=30)
    assert "**tiny**" in message_data(answer)["content"]
    assert [r.status for r in fake.requests if interaction.token in r.path][-2:] == [500, 200]


async def test_gateway_drop_is_resumed_and_commands_keep_working(fake, bot):
    await fake.drop_gateway()
    await asyncio.wait_for(fake.resumed.wait(), 30)
    assert fake.resumes >= 1 and fake.identifies == 1
    answer = await (await fake.slash("models")).answer()
    assert "Models you can use" in message_data(answer)["content"]


async def test_sigterm_exits_cleanly(tmp_path, tiny_dir):
    server = FakeDiscord()
    await server.start()
    try:
        process = BotProcess(server, tmp_path / "bot.log", f"tiny={tiny_dir}")
        await process.start()
        answer = await (await server.slash("tokenize", text="bye", model="tiny")).answer()
        assert "**tiny**" in message_data(answer)["content"]
        assert await process.terminate(timeout=20) == 0
        log = process.log()
        assert "shutting down" in log and "stopped" in log
        assert "Traceback" not in log and TOKEN not in log
    finally:
        await server.stop()


def test_fake_enforces_discord_rules():
    """The fake refuses what Discord refuses, so the tests above can fail."""
    from tests.fake_discord import FakeDiscord as Fake

    fake = Fake()
    too_long = fake._broken_rule({"content": "x" * 2001}, {})
    assert too_long is not None and too_long.status == 400
    assert json.loads(too_long.text)["code"] == 50035
    too_big = fake._broken_rule({}, {"files[0]": ("a.png", b"x" * (10 * 1024 * 1024 + 1))})
    assert too_big is not None and too_big.status == 413
    assert fake._broken_rule({"choices": [{}] * 26}, {}).status == 400
    assert fake._broken_rule({"content": "x" * 2000}, {}) is None


async def test_rejected_token_stops_with_a_clear_line(tmp_path, tiny_dir):
    server = FakeDiscord()
    await server.start()
    server.faults.append(Fault("GET", r"^/users/@me$", 401))
    try:
        process = BotProcess(server, tmp_path / "bot.log", f"tiny={tiny_dir}")
        with pytest.raises(RuntimeError, match="did not come up"):
            await process.start(timeout=60)
        assert process.process.returncode == 1
        log = process.log()
        assert "Discord rejected the token: check DISCORD_TOKEN" in log
        assert "Traceback" not in log and TOKEN not in log
    finally:
        await server.stop()
