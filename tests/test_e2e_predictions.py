"""End to end: predictions, encoder–decoder parts, comparisons, message menus, attribution,
surprisal and the tokenizer line-up, through the real bot process and the fake Discord."""

from __future__ import annotations

import io

import numpy as np
import pytest

from tests.bot_process import BotProcess
from tests.fake_discord import GUILD_ID, message_data
from tests.pictures import assert_drawn
from tests.test_e2e_discord import components, press

EPHEMERAL = 64


@pytest.fixture(scope="module")
async def bot(fake, tmp_path_factory, tiny_dir, gpt2_dir, t5_dir, headless_dir):
    process = BotProcess(
        fake,
        tmp_path_factory.mktemp("predictions") / "bot.log",
        f"tiny={tiny_dir},gpt2={gpt2_dir},t5={t5_dir},headless={headless_dir}",
        USER_COOLDOWN_SECONDS="0",
        USER_MAX_JOBS="100",
        MAX_LOADED_MODELS="4",
    )
    await process.start()
    yield process
    await process.terminate()


async def answered(bot: BotProcess, name, **options) -> tuple[dict, dict]:
    """The single answer to a command: its message data and its files by name."""
    interaction = await bot.fake.slash(name, **options)
    answer = await interaction.answer(timeout=60)
    await bot.quiet()  # anything else the bot sent has arrived
    assert interaction.answers() == [answer]
    return message_data(answer), dict(answer.files.values())


async def test_new_commands_and_menus_are_registered(fake, bot):
    schemas = {schema["name"]: schema for schema in fake.commands[GUILD_ID]}
    assert {"fill-mask", "predict", "lens", "compare"} <= set(schemas)
    assert schemas["Tokenize message"]["type"] == 3
    assert schemas["Explore attention"]["type"] == 3
    assert (
        "description" not in schemas["Tokenize message"]
        or not schemas["Tokenize message"]["description"]
    )
    options = {o["name"]: o for o in schemas["fill-mask"]["options"]}
    assert options["top_k"]["min_value"] == 1 and options["top_k"]["max_value"] == 20
    attention = {o["name"]: o for o in schemas["attention"]["options"]}
    assert [c["value"] for c in attention["part"]["choices"]] == ["encoder", "decoder", "cross"]
    assert [c["value"] for c in attention["granularity"]["choices"]] == ["token", "word"]


async def test_fill_mask_end_to_end(fake, bot):
    data, files = await answered(bot, "fill-mask", text="hello [MASK] world", model="tiny")
    assert data["content"].startswith("**tiny** · 1 mask · best guess: `hello ")
    assert_drawn(files["fill-mask.png"], min_size=(300, 150))
    refused, _ = await answered(bot, "fill-mask", text="hello [MASK]", model="gpt2")
    assert refused["flags"] & EPHEMERAL
    assert (
        "needs a masked-language-model head (as BERT has). Models here that can: `tiny`, "
        "`headless` (try `model:tiny`)." in (refused["content"])
    )
    untrained, _ = await answered(bot, "fill-mask", text="hello [MASK]", model="headless")
    assert "ships no trained masked-LM head" in untrained["content"]


async def test_predict_and_lens_end_to_end(fake, bot):
    data, files = await answered(bot, "predict", text="The cat sat on the", model="gpt2")
    assert data["content"].startswith("**gpt2** · next token: ")
    assert "greedy continuation: `The cat sat on the` → `" in data["content"]
    assert_drawn(files["predict.png"], min_size=(300, 100))
    data, files = await answered(bot, "lens", text="The cat sat on the mat.", model="gpt2")
    assert data["content"].startswith("**gpt2 · logit lens** · 2 layers × 7 tokens")
    assert_drawn(files["lens.png"])


async def test_encoder_decoder_parts_end_to_end(fake, bot):
    data, files = await answered(bot, "attention", text="The cat sat.", model="t5")
    assert data["content"].startswith("**t5 · cross-attention · layer 3/3 · mean of 4 heads**")
    assert_drawn(files["attention.png"])
    data, _ = await answered(
        bot, "attention", text="The cat sat.", model="t5", part="decoder", target="Das Haus."
    )
    assert data["content"].startswith("**t5 · decoder self-attention · ")
    tokens, _ = await answered(bot, "tokenize", text="The cat sat.", model="t5", target="Haus")
    assert "decoder input: " in tokens["content"]


async def test_compare_end_to_end(fake, bot):
    data, files = await answered(
        bot, "compare", text="The cat sat on the mat.", model_a="tiny", model_b="gpt2"
    )
    assert data["content"].startswith("**tiny** vs **gpt2** on `The cat sat on the mat.`")
    assert "words cut differently" in data["content"]
    assert_drawn(files["compare.png"])


async def test_message_menus_tokenize_and_explore_a_message(fake, bot):
    message = fake.user_message("hello world")
    tokenized = await (await fake.message_command("Tokenize message", message)).answer()
    assert message_data(tokenized)["content"].startswith("**tiny** · 11 characters → ")
    explored = await (await fake.message_command("Explore attention", message)).answer()
    data = message_data(explored)
    assert data["content"].startswith("**tiny · layer 2/2 · mean of 4 heads**")
    assert data["components"]  # the controls, as for /attention
    empty = await (await fake.message_command("Tokenize message", fake.user_message(""))).answer()
    assert message_data(empty)["flags"] & EPHEMERAL
    assert "This message has no text to tokenize" in message_data(empty)["content"]


@pytest.mark.parametrize(
    ("name", "options", "first", "action", "then"),
    [
        ("fill-mask", {"text": "hello [MASK] big [MASK] world", "model": "tiny"},
         "**tiny** · 2 masks", "next", "The chart shows mask 1 of 2"),
        ("predict", {"text": "The cat sat on the", "model": "gpt2"},
         "**gpt2** · next token: ", "next", "**gpt2** · after token 0 `The`: expected "),
        ("lens", {"text": "The cat sat on the mat.", "model": "gpt2"},
         "**gpt2 · logit lens** · 2 layers × 7 tokens", "previous", "· layer 2"),
        ("compare", {"text": "The cat sat on the mat.", "model_a": "tiny", "model_b": "gpt2"},
         "**tiny** vs **gpt2**", "next", "**tiny** vs **gpt2**"),
    ],
)  # fmt: skip
async def test_a_press_steps_each_live_reply_in_place(
    fake, bot, name, options, first, action, then
):
    answer = await (await fake.slash(name, **options)).answer(timeout=60)
    message = answer.response
    assert message["content"].startswith(first)
    assert set(components(message)) == {"previous", "next"}
    _, edited = await press(fake, message, action)
    assert edited is not None and edited["id"] == message["id"]
    assert then in edited["content"]
    assert set(components(edited)) == {"previous", "next"}


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
        bot, "attribute", text="The cat sat on the", model="gpt2", export=True
    )
    assert data["content"].startswith("**gpt2** · 5 tokens · target: the logit of `")
    assert "completeness: sum of scores" in data["content"]
    assert_drawn(files["attribution.png"], min_size=(300, 120))
    scores = np.load(io.BytesIO(files["attribution.npy"]))
    assert scores.dtype == np.float32 and scores.shape == (5,)
    assert files["attribution.csv"].decode().splitlines()[0] == "token,score"
    refused, _ = await answered(bot, "attribute", text="I am studying NLP.", model="t5")
    assert refused["flags"] & EPHEMERAL
    assert "`/attribute` needs a language-model head" in refused["content"]


async def test_surprisal_and_the_line_up_end_to_end(fake, bot):
    data, files = await answered(bot, "surprisal", text="the cat sat .", model="tiny")
    assert data["content"].startswith("**tiny** · surprisal of 4 tokens: ")
    assert_drawn(files["surprisal.png"], min_size=(300, 120))
    data, _ = await answered(
        bot, "tokenize", text="I am studying NLP.", model="tiny", compare="gpt2,t5"
    )
    assert data["content"].startswith("**line-up** · `I am studying NLP.`")
    assert "text │ tiny  │ gpt2  │ t5" in data["content"]


async def test_attribute_and_surprisal_step_in_place_with_their_files(fake, bot):
    interaction = await fake.slash("attribute", text="the [MASK] sat on the [MASK] .",
                                   model="tiny", method="saliency", export=True)  # fmt: skip
    message = (await interaction.answer(timeout=60)).response
    assert "as mask 1 of 2, token 2" in message["content"]
    assert set(components(message)) == {"method", "previous", "next"}
    _, edited = await press(fake, message, "method", ["integrated-gradients"])
    assert edited is not None and edited["id"] == message["id"]
    assert "integrated gradients, 32 steps" in edited["content"]
    assert set(components(edited)) == {"method", "steps", "previous", "next"}
    names = ["attribution.png", "attribution.npy", "attribution.csv"]
    assert [a["filename"] for a in edited["attachments"]] == names  # exported for this state
    _, edited = await press(fake, edited, "next")
    assert edited is not None and "as mask 2 of 2, token 6" in edited["content"]
    interaction = await fake.slash("surprisal", text="The cat sat on the mat.", model="gpt2")
    message = (await interaction.answer(timeout=60)).response
    assert set(components(message)) == {"measure"}  # a short text: no pages
    _, edited = await press(fake, message, "measure", ["entropy"])
    assert edited is not None and "The picture shows the entropy: −Σ p log₂ p" in edited["content"]
    assert [a["filename"] for a in edited["attachments"]] == ["surprisal.png"]
