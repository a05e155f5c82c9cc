"""End to end: the real bot process, the unmodified discord.py client, a fake Discord server.

Every test acts as Discord would (gateway events in, REST calls out) and asserts what a user
in the channel would see.
"""

from __future__ import annotations

import asyncio
import io
import shutil
import time

import numpy as np
import pytest
from matplotlib import image

from tests.bot_process import TOKEN, BotProcess, fresh_bot
from tests.conftest import vanishing_model
from tests.fake_discord import GUILD_ID, HEARTBEAT_INTERVAL_MS, USER_ID, Fault, message_data

EPHEMERAL = 64


@pytest.fixture(scope="module")
async def bot(fake, tmp_path_factory, minilm_dir, tiny_dir, rbt3_dir):
    gone = vanishing_model(tmp_path_factory.mktemp("gone"))
    process = BotProcess(
        fake,
        tmp_path_factory.mktemp("bot") / "bot.log",
        f"minilm={minilm_dir},tiny={tiny_dir},rbt3={rbt3_dir},gone={gone}",
        # One fake user fires most of these tests back to back: no cooldown for them.
        USER_COOLDOWN_SECONDS="0",
        USER_MAX_JOBS="100",
    )
    await process.start()
    shutil.rmtree(gone)  # deleted after start: the bot meets a missing directory
    yield process
    await process.terminate()


def png_size(data: bytes) -> tuple[int, int]:
    pixels = image.imread(io.BytesIO(data), format="png")
    return pixels.shape[1], pixels.shape[0]


async def test_start_up_logs_in_and_syncs_command_schemas_to_the_guild(fake, bot):
    assert set(fake.commands) == {GUILD_ID}
    schemas = {schema["name"]: schema for schema in fake.commands[GUILD_ID]}
    assert set(schemas) == {
        "tokenize", "attention", "config", "forward", "fill-mask", "predict", "lens",
        "compare", "attribute", "surprisal", "models", "status", "admin", "settings",
        "Tokenize message",
        "Explore attention",
    }  # fmt: skip
    admin = schemas["admin"]
    assert int(admin["default_member_permissions"]) == 1 << 5  # Manage Server
    assert admin["dm_permission"] is False
    # USER_INSTALLS unset: installed by servers only; usable there and in DMs with the bot.
    assert (admin["integration_types"], admin["contexts"]) == ([0], [0])
    assert (schemas["tokenize"]["integration_types"], schemas["tokenize"]["contexts"]) == (
        [0], [0, 1]
    )  # fmt: skip
    assert [option["name"] for option in admin["options"]] == ["load", "unload", "internals"]
    assert schemas["status"].get("default_member_permissions") is None
    assert schemas["attention"]["description"] == (
        "Explore attention: one head, a layer, the whole model or one token, with buttons."
    )
    options = {option["name"]: option for option in schemas["attention"]["options"]}
    assert options["text"] == {
        "type": 3, "name": "text", "description": "The text whose attention to show",
        "required": True, "min_length": 1, "max_length": 6000,
        "name_localizations": {"zh-CN": "文本"},
        "description_localizations": {"zh-CN": "要显示其注意力的文本"},
    }  # fmt: skip
    assert options["layer"]["type"] == 4 and options["layer"]["autocomplete"] is True
    assert "max_value" not in options["layer"] and "max_value" not in options["head"]
    assert not options["layer"].get("required", False)
    assert options["model"]["autocomplete"] is True
    assert options["token"]["autocomplete"] is True
    assert [choice["value"] for choice in options["view"]["choices"]] == [
        "head", "mean", "heads", "model", "rollout", "token", "links", "summary"
    ]  # fmt: skip
    assert options["export"]["type"] == 5
    assert all(
        option.get("autocomplete") for name in ("tokenize", "config", "forward")
        for option in schemas[name]["options"] if option["name"] == "model"
    )  # fmt: skip
    assert fake.identifies == 1
    assert TOKEN not in bot.log()


async def test_tokenize_end_to_end(fake, bot):
    interaction = await fake.slash("tokenize", text="I am studying NLP.")
    answer = await interaction.answer()
    (callback,) = interaction.callbacks  # ready at once: the answer is the response itself
    assert callback.json["type"] == 4 and interaction.followups == []
    assert interaction.acknowledged_after < 1.0
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
    assert 400 <= width <= 1400 and 400 <= height <= 1200
    assert message_data(answer)["attachments"][0]["filename"] == "attention.png"


async def test_a_large_export_is_acknowledged_first_then_attached(fake, bot):
    interaction = await fake.slash("attention", text="word " * 80, export=True)
    answer = await interaction.answer()
    # 6 layers x 12 heads x 64 x 64 float32 is over 1 MiB: "thinking…" first, then the files.
    assert [c.json["type"] for c in interaction.callbacks] == [5]
    assert interaction.followups == [answer]
    files = dict(answer.files.values())
    assert set(files) == {"attention.png", "attention.npy", "mean.csv"}  # the view shown
    weights = np.load(io.BytesIO(files["attention.npy"]))
    assert weights.shape == (6, 12, 64, 64)
    np.testing.assert_allclose(weights.sum(axis=-1), 1.0, atol=1e-4)  # rows of softmax
    assert "Only the first 64 of 82 tokens are shown" in message_data(answer)["content"]


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


async def test_head_autocomplete_offers_the_models_own_heads_as_numbers(fake, bot):
    # Discord sends the focused option's partial text, even for a number option.
    interaction = await fake.autocomplete("attention", "head", text="x", head="1")
    choices = (await interaction.answer()).json["data"]["choices"]
    assert choices == [{"name": f"head {n} of 12", "value": n} for n in (1, 10, 11, 12)]


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
    await bot.quiet()  # anything else the bot would (wrongly) send has arrived
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
    story = " The cat sat on the mat because it was tired of attention." * 4
    texts = [f"Request number {i} about attention.{story}" for i in range(30)]
    commands = [
        fake.slash("attention", text=text, model="minilm", view="heads")
        if i % 2
        else fake.slash("tokenize", text=text, model="minilm")
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
            assert content.startswith("**minilm · layer 6/6 · all 12 heads**")
        else:  # each table holds its own request's number: answers are not mixed up
            table = (
                answer.files["files[0]"][1].decode() if answer.files else content.split("```")[1]
            )
            tokens = [row.split()[1] for row in table.strip().splitlines()[1:]]
            number = tokens[tokens.index("number") + 1 : tokens.index("about")]
            assert "".join(number).replace("##", "") == str(i)
    assert sum(1 for a in answers if a.files and "attention" in a.files["files[0]"][0]) == 15
    finished = time.monotonic()
    await fake.heartbeat_after(finished)
    gaps = fake.heartbeat_gaps(started, finished)
    late = max(gaps) - HEARTBEAT_INTERVAL_MS / 1000
    assert late < 0.5, f"heartbeat {late:.3f}s late: the event loop was blocked"


async def test_rate_limited_answer_is_waited_out(fake, bot):
    fake.faults.append(Fault("POST", r"^/interactions/", 429, retry_after=0.4))
    interaction = await fake.slash("tokenize", text="rate limited", model="tiny")
    answer = await interaction.answer()
    assert [record.status for record in interaction.callbacks] == [200]
    rejected = [r for r in fake.requests if r.status == 429 and interaction.token in r.path]
    assert len(rejected) == 1
    assert answer.at - rejected[0].at >= 0.4
    assert "**tiny**" in message_data(answer)["content"]


async def test_server_error_and_slow_response_are_retried(fake, bot):
    fake.faults.append(Fault("POST", r"^/interactions/", 500))
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
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}") as (server, process):
        answer = await (await server.slash("tokenize", text="bye", model="tiny")).answer()
        assert "**tiny**" in message_data(answer)["content"]
        assert await process.terminate(timeout=20) == 0
        log = process.log()
        assert "shutting down" in log and "stopped" in log
        assert "Traceback" not in log and TOKEN not in log


async def test_answers_stay_within_discords_limits(fake, bot):
    """Long output goes into a file, exports over the upload limit drop their CSV, and
    autocompletion offers at most 25 choices: the fake refuses anything else, as Discord
    does, so each answer here was accepted."""
    table = await (await fake.slash("tokenize", text="hello world " * 150)).answer()
    assert table.status == 200 and len(message_data(table)["content"]) <= 2000
    assert [name for name, _ in table.files.values()] == ["tokens.txt"]
    export = await (
        await fake.slash("attention", text="attention " * 70, view="model", export=True)
    ).answer(timeout=120)
    assert export.status == 200
    assert [name for name, _ in export.files.values()] == ["attention.png", "attention.npy"]
    assert "over Discord's upload limit" in message_data(export)["content"]
    choices = await (
        await fake.autocomplete("attention", "token", text="word " * 60, token="")
    ).answer()
    assert choices.status == 200 and len(choices.json["data"]["choices"]) == 25


async def test_an_error_after_thinking_replaces_it_with_a_private_answer(tmp_path, tiny_dir):
    """With DEFER_AFTER_MS=0 every command shows "thinking…" first; a mistake found after
    that deletes the public "thinking…" and answers privately, once."""
    async with fresh_bot(tmp_path / "bot.log", f"tiny={tiny_dir}", DEFER_AFTER_MS="0") as (
        server,
        process,
    ):
        interaction = await server.slash("attention", text="hi", layer=9)
        answer = await interaction.answer()
        await process.quiet()
        assert [c.json["type"] for c in interaction.callbacks] == [5]
        assert interaction.deleted_original
        assert interaction.answers() == [answer] and interaction.followups == [answer]
        data = message_data(answer)
        assert data["flags"] & EPHEMERAL
        assert data["content"] == "⚠️ This model has 2 layers: choose a layer from 1 to 2."
        assert "outcome=UserError" in process.log()


def components(message: dict) -> dict[str, dict]:
    """The message's buttons and menus by the action at the end of their custom id."""
    found = {}
    for row in message["components"]:
        for component in row["components"]:
            found[component["custom_id"].rsplit(":", 1)[1]] = component
    return found


async def explore(fake, **options) -> tuple[object, dict]:
    interaction = await fake.slash("attention", **options)
    answer = await interaction.answer()
    return interaction, answer.response


async def press(fake, message: dict, action: str, values=None):
    """Press a control as a user would; returns the interaction and the edited message."""
    interaction = await fake.press(message, components(message)[action]["custom_id"], values)
    await interaction.wait(lambda i: bool(i.answers()))
    return interaction, updated(interaction)


def updated(interaction) -> dict | None:
    """The message as a press left it: updated by the press's response, or edited after it."""
    if interaction.edits:
        return interaction.edits[-1].response
    updates = [c for c in interaction.callbacks if c.json.get("type") == 7 and c.status < 300]
    return updates[-1].response if updates else None


async def test_attention_reply_carries_view_menu_and_stepping_buttons(fake, bot):
    _, message = await explore(fake, text="I am studying NLP.", layer=2)
    controls = components(message)
    assert set(controls) == {"view", "layer-", "layer+", "head-", "head+"}
    assert [o["value"] for o in controls["view"]["options"]] == [
        "head", "mean", "heads", "model", "rollout", "token", "links", "summary"
    ]  # fmt: skip
    assert [o.get("default", False) for o in controls["view"]["options"]][:2] == [False, True]
    assert controls["layer+"]["label"] == "layer ▶" and not controls["layer+"].get("disabled")
    assert all(len(c["custom_id"]) <= 100 for c in controls.values())


async def test_buttons_step_the_same_message_in_place(fake, bot):
    _, message = await explore(fake, text="I am studying NLP.", layer=2)
    interaction, edited = await press(fake, message, "layer+")
    (callback,) = interaction.callbacks  # drawn at once: the press's response is the update
    assert callback.json["type"] == 7 and interaction.acknowledged_after < 1.0
    assert interaction.followups == [] and interaction.edits == []  # no new message
    assert edited["id"] == message["id"]
    assert edited["content"].startswith("**minilm · layer 3/6 · mean of 12 heads**")
    ((filename, data),) = callback.files.values()
    assert filename == "attention.png" and png_size(data)[0] > 300
    _, edited = await press(fake, edited, "head+")
    assert edited["content"].startswith("**minilm · layer 3/6 · head 1/12**")
    _, edited = await press(fake, edited, "head-")
    assert edited["content"].startswith("**minilm · layer 3/6 · head 12/12**")
    _, edited = await press(fake, edited, "layer-")
    assert edited["content"].startswith("**minilm · layer 2/6 · head 12/12**")


async def test_view_menu_switches_view_and_controls_follow(fake, bot):
    _, message = await explore(fake, text="The cat sat on the mat", model="rbt3")
    _, edited = await press(fake, message, "view", values=["heads"])
    assert edited["content"].startswith("**rbt3 · layer 3/3 · all 12 heads**")
    assert components(edited)["head+"].get("disabled") is True
    _, edited = await press(fake, edited, "view", values=["token"])
    assert {"token-", "token+"} <= set(components(edited))
    _, edited = await press(fake, edited, "token+")
    assert edited["content"].startswith("**rbt3 · token 2 ")


def message_updates(interactions) -> list[dict]:
    """Every state the shared message was put in by these presses, in time order."""
    updates = [c for i in interactions for c in i.callbacks if c.json.get("type") == 7]
    updates += [e for i in interactions for e in i.edits if e.status < 300]
    return [record.response for record in sorted(updates, key=lambda r: r.at)]


async def settled(fake, interactions, title: str, timeout: float = 60.0) -> list[dict]:
    """The message's updates once it shows `title` (the latest press's state): a pending
    redraw has landed."""

    def shows_title() -> bool:
        shown = message_updates(interactions)
        return bool(shown) and shown[-1]["content"].startswith(title)

    await fake.until(shows_title, timeout, f"the message never showed {title!r}")
    return message_updates(interactions)


async def test_a_burst_of_presses_folds_into_at_most_two_redraws(fake, bot):
    _, message = await explore(fake, text="I am studying NLP.")  # layer 6 of 6
    custom_id = components(message)["layer+"]["custom_id"]
    presses = await asyncio.gather(
        *(fake.press(message, custom_id, user_id=USER_ID + i % 10) for i in range(40))
    )
    for interaction in presses:
        await interaction.wait(lambda i: bool(i.callbacks))
        assert interaction.acknowledged_after < 3.0  # every press acknowledged in time
    # 40 steps from layer 6 of 6 wrap round to layer 4: the latest state wins.
    shown = await settled(fake, presses, "**minilm · layer 4/6 · mean of 12 heads**")
    assert 1 <= len(shown) <= 2, [m["content"][:40] for m in shown]
    assert all(m["id"] == message["id"] for m in shown)
    folded = [i for i in presses if [c.json["type"] for c in i.callbacks] == [6]]
    assert len(folded) >= 38


async def test_a_flood_of_mixed_presses_is_applied_in_order_every_press_acknowledged(fake, bot):
    _, message = await explore(fake, text="I am studying NLP.")  # layer 6 of 6, the mean
    controls = components(message)
    pressed = [("layer+", None)] + [("head+", None)] * 3 + [("view", ["heads"]), ("head+", None)]
    pressed += [("view", ["mean"])] + [("layer+", None)] * 2
    presses = await asyncio.gather(
        *(
            fake.press(message, controls[action]["custom_id"], values, user_id=USER_ID + i)
            for i, (action, values) in enumerate(pressed)
        )
    )
    for interaction in presses:
        await interaction.wait(lambda i: bool(i.answers()) or bool(i.callbacks))
        assert interaction.acknowledged_after is not None
    # In their order: three heads on, the heads view (where head ▶ does nothing: refused,
    # privately), back to the mean, and three layers on from layer 6 of 6: layer 3.
    await settled(fake, presses, "**minilm · layer 3/6 · mean of 12 heads**")
    refused = presses[5]
    await refused.wait(
        lambda i: any(
            "does nothing here" in message_data(a).get("content", "") for a in i.answers()
        )
    )
    assert all(message_data(a).get("flags", 0) & EPHEMERAL for a in refused.answers())


async def test_presses_are_acknowledged_in_time_while_other_work_runs(fake, bot):
    _, message = await explore(fake, text="I am studying NLP.")
    busy = [fake.slash("attention", text=f"Busy request {i}.", view="heads") for i in range(8)]
    presses = [fake.press(message, components(message)["layer-"]["custom_id"]) for _ in range(4)]
    fired = await asyncio.gather(*busy, *presses)
    pressed = fired[8:]
    for interaction in pressed:
        await interaction.wait(lambda i: bool(i.callbacks))
        assert interaction.acknowledged_after < 3.0
    await asyncio.gather(*(i.answer(timeout=120) for i in fired[:8]))
    # Four presses of ◀ from layer 6, however they were folded, end on layer 2.
    await settled(fake, pressed, "**minilm · layer 2/6 ·")


async def test_deferred_answers_and_presses_and_buttons_that_outlive_a_restart(tmp_path, tiny_dir):
    async with fresh_bot(tmp_path / "first.log", f"tiny={tiny_dir}", DEFER_AFTER_MS="0",
                         USER_COOLDOWN_SECONDS="0") as (server, first):  # fmt: skip
        # Acknowledging at once: "thinking…" then a followup; a press: a silent deferral,
        # then the shared message edited in place.
        interaction, message = await explore(server, text="hello world", model="tiny")
        assert [c.json["type"] for c in interaction.callbacks] == [5]
        assert len(interaction.followups) == 1
        pressed, edited = await press(server, message, "layer-")
        assert [c.json["type"] for c in pressed.callbacks] == [6]
        assert edited["content"].startswith("**tiny · layer 1/2 · mean of 4 heads**")
        assert await first.terminate() == 0

        # A new process on the same data: the message's buttons carry on where they were.
        second = BotProcess(server, tmp_path / "second.log", f"tiny={tiny_dir}")
        await second.start()
        pressed, edited = await press(server, edited, "head+")
        assert edited["content"].startswith("**tiny · layer 1/2 · head 1/4**")
        assert edited["id"] == message["id"]
        assert await second.terminate() == 0


async def test_a_press_on_an_unknown_exploration_is_answered_privately(fake, bot):
    _, message = await explore(fake, text="hello world", model="tiny")
    forged = {**message, "components": [{"type": 1, "components": [
        {**c, "custom_id": c["custom_id"].replace(c["custom_id"].split(":")[1], "nosuchkey1")}
        for c in row["components"]]} for row in message["components"]]}  # fmt: skip
    interaction = await fake.press(forged, components(forged)["layer+"]["custom_id"])
    answer = await interaction.answer()
    assert answer.json["data"]["flags"] & EPHEMERAL
    assert "This exploration is no longer kept" in answer.json["data"]["content"]


async def test_every_component_interaction_is_acknowledged_whatever_it_carries(fake, bot):
    _, message = await explore(fake, text="hello world", model="tiny")
    menu = components(message)["view"]["custom_id"]
    key = menu.split(":")[1]
    stale = {**message, "id": "1", "components": []}  # a message whose controls are gone
    odd = {
        "a menu with its choice removed": (message, menu, []),
        "a menu choice without values": (message, menu, None),
        "a view the bot does not have": (message, menu, ["sideways"]),
        "an unknown custom id": (message, "someone-elses:button", None),
        "a custom id with an unknown action": (message, f"mx:{key}:layer*", None),
        "a stale message": (stale, f"mx:{key}:layer+", None),
        "a stale message's menu": (stale, menu, ["heads"]),
    }
    for case, (on, custom_id, values) in odd.items():
        interaction = await fake.press(on, custom_id, values)
        await interaction.wait(lambda i: bool(i.callbacks), timeout=30)
        assert interaction.acknowledged_after is not None, case
        for answer in interaction.answers():
            data = message_data(answer)
            assert data.get("flags", 0) & EPHEMERAL or answer.json.get("type") == 7, case
    refused = await fake.press(message, "someone-elses:button")
    answer = await refused.answer()
    assert answer.json["data"]["content"].startswith("⚠️ This control is not one the bot knows")
    chosen = await fake.press(message, menu, ["sideways"])
    assert "Unknown view `sideways`" in (await chosen.answer()).json["data"]["content"]
    emptied = await fake.press(message, menu, [])
    await emptied.wait(lambda i: bool(i.callbacks))
    assert [c.json["type"] for c in emptied.callbacks] == [6]  # nothing to change: deferred
    # The exploration still works (the stale message's press stepped it to layer 1).
    _, edited = await press(fake, message, "view", values=["heads"])
    assert edited["content"].startswith("**tiny · layer 1/2 · all 4 heads**")


async def test_token_autocomplete_lists_the_tokens_of_the_typed_text(fake, bot):
    await (await fake.slash("tokenize", text="warm", model="minilm")).answer()
    interaction = await fake.autocomplete(
        "attention", "token", text="I am studying NLP.", model="minilm", token="st"
    )
    answer = await interaction.answer()
    assert answer.json["data"]["choices"] == [{"name": "3: studying", "value": "3"}]


async def test_markdown_and_mentions_in_user_text_are_posted_inert(fake, bot):
    hostile = "**hi** [click](https://evil.example) <@123> @everyone ||x||"
    asked = await fake.slash("attention", text=hostile, model="minilm", token="nothere")
    refused = message_data(await asked.answer())
    assert refused["allowed_mentions"] == {"parse": []}
    tokens = refused["content"].split("Tokens: ")[1]
    assert tokens.startswith(r"0:\[CLS\], 1:\*, 2:\*, 3:hi, 4:\*, 5:\*, 6:\[, 7:click, 8:\], ")
    assert r"18:\<, 19:@, 20:123, 21:\>, 22:@, 23:everyone, 24:\|, 25:\|, 26:x" in tokens
    _, shown = await explore(fake, text=hostile, model="minilm", view="token", token="1")
    assert shown["content"].startswith("**minilm · token 1 “\\*” · mean of 12 heads** · 30 tokens")
    pressed, stepped = await press(fake, shown, "token+")
    assert stepped["content"].startswith("**minilm · token 2 “\\*” · mean of 12 heads**")
    assert message_data(pressed.answers()[-1])["allowed_mentions"] == {"parse": []}
    key = "x`[click](https://evil.example)`"
    missing = message_data(await (await fake.slash("config", model="tiny", key=key)).answer())
    assert missing["content"] == "⚠️ This config has no key `xˋ[click](https://evil.example)ˋ`."
