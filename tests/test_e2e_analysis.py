"""End to end: /attribute, /surprisal and the tokenizer line-up through the real bot process
and the fake Discord, files included."""

from __future__ import annotations

import asyncio
import io

import numpy as np
import pytest

from tests.bot_process import BotProcess
from tests.fake_discord import GUILD_ID, message_data
from tests.pictures import assert_drawn

EPHEMERAL = 64


@pytest.fixture(scope="module")
async def bot(fake, tmp_path_factory, tiny_dir, gpt2_dir):
    process = BotProcess(
        fake,
        tmp_path_factory.mktemp("analysis") / "bot.log",
        f"tiny={tiny_dir},gpt2={gpt2_dir},minilm",
        USER_COOLDOWN_SECONDS="0",
        USER_MAX_JOBS="100",
        MAX_LOADED_MODELS="3",
    )
    await process.start()
    yield process
    await process.terminate()


async def answered(fake, name, **options) -> tuple[dict, dict]:
    """The single answer to a command: its message data and its files by name."""
    interaction = await fake.slash(name, **options)
    answer = await interaction.answer(timeout=60)
    await asyncio.sleep(0.1)
    assert interaction.answers() == [answer]
    return message_data(answer), dict(answer.files.values())


async def test_the_commands_are_registered_with_their_choices(fake, bot):
    schemas = {schema["name"]: schema for schema in fake.commands[GUILD_ID]}
    attribute = {o["name"]: o for o in schemas["attribute"]["options"]}
    assert [c["value"] for c in attribute["method"]["choices"]] == [
        "saliency", "integrated-gradients"
    ]  # fmt: skip
    assert attribute["steps"]["min_value"] == 2 and attribute["steps"]["max_value"] == 256
    assert "export" in {o["name"] for o in schemas["surprisal"]["options"]}
    assert "compare" in {o["name"] for o in schemas["tokenize"]["options"]}


async def test_attribute_end_to_end_with_its_files_and_its_refusal(fake, bot):
    data, files = await answered(
        fake, "attribute", text="The cat sat on the", model="gpt2", export=True
    )
    assert data["content"].startswith("**gpt2** · 5 tokens · target: the logit of `")
    assert "completeness: sum of scores" in data["content"]
    assert_drawn(files["attribution.png"], min_size=(300, 120))
    scores = np.load(io.BytesIO(files["attribution.npy"]))
    assert scores.dtype == np.float32 and scores.shape == (5,)
    assert files["attribution.csv"].decode().splitlines()[0] == "token,score"
    refused, _ = await answered(fake, "attribute", text="I am studying NLP.", model="minilm")
    assert refused["flags"] & EPHEMERAL
    assert "`/attribute` needs a language-model head" in refused["content"]


async def test_surprisal_and_the_line_up_end_to_end(fake, bot):
    data, files = await answered(fake, "surprisal", text="the cat sat .", model="tiny")
    assert data["content"].startswith("**tiny** · surprisal of 4 tokens: ")
    assert_drawn(files["surprisal.png"], min_size=(300, 120))
    data, _ = await answered(
        fake, "tokenize", text="I am studying NLP.", model="tiny", compare="gpt2,minilm"
    )
    assert data["content"].startswith("**line-up** · `I am studying NLP.`")
    assert "text │ tiny  │ gpt2  │ minilm" in data["content"]
