"""What a model predicts, checked against reference computations on each family."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer, pipeline

from bot.runtime import Runtime
from commands.predictions.fill_mask import fill_mask
from commands.predictions.lens import lens
from commands.predictions.predict import predict
from commands.predictions.predicted import (
    Guess,
    MaskGuesses,
    filled_masks,
    filled_text,
    lens_of,
    next_tokens,
    shown_tokens,
)
from explorer.contract import ForwardRequest, UserError
from explorer.encoding import encode
from explorer.text import in_code
from tests.conftest import loaded_model, make_settings
from tests.model_factory import SPECIALS, save_vocabulary_models
from tests.pictures import assert_drawn


def rows(content: str) -> list[tuple[str, float]]:
    """(token, probability) from the ranked lines of a reply's table."""
    found = re.findall(r"^\s*\d+\. (\S+|\[id \d+\])\s+([\d.]+)%$", content, re.MULTILINE)
    return [(token, float(percent) / 100) for token, percent in found]


@pytest.mark.parametrize(
    ("name", "text"),
    [
        ("tiny", "hello [MASK] world ."),
        ("tiny", "hello [MASK] [MASK] ."),  # two masks: each gets its own guesses
        ("rbt3", "我在[MASK]习自然语言处理"),
    ],
)
async def test_fill_mask_equals_transformers_pipeline(ctx, settings, name, text):
    source = next(spec.source for spec in settings.models if spec.name == name)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        reference = pipeline("fill-mask", model=source, tokenizer=source, top_k=5)(text)
    if isinstance(reference[0], dict):
        reference = [reference]
    card = await ctx.model(name)
    ours = await ctx.forward(
        card, ForwardRequest(text, run="head"), lambda forwarded: filled_masks(5, forwarded)
    )
    assert len(ours.masks) == len(reference)
    for mask, expected in zip(ours.masks, reference, strict=True):
        assert [g.token_id for g in mask.guesses] == [e["token"] for e in expected]
        np.testing.assert_allclose(
            [g.probability for g in mask.guesses], [e["score"] for e in expected], atol=1e-5
        )
    reply = await fill_mask(ctx, text, model=name)
    assert [token for token, _ in rows(reply.content)][:5] == [
        g.token for g in ours.masks[0].guesses
    ]
    assert f"{len(reference)} mask" in reply.content
    assert_drawn(reply.attachments[0].data, min_size=(300, 150))


async def test_fill_mask_fills_the_sentence_with_the_best_guesses(ctx):
    reply = await fill_mask(ctx, "hello [MASK] world .", model="tiny", top_k=3)
    best = rows(reply.content)[0][0]
    assert f"best guess: `hello {best} world.`" in reply.content
    assert len(rows(reply.content)) == 3


@pytest.mark.parametrize(
    ("text", "model", "message"),
    [
        ("hello world", "tiny", "Put [MASK] where a word is missing"),
        ("hello [MASK]", "gpt2", "**gpt2** (GPT2LMHeadModel) is a causal language model; "
         "`/fill-mask` needs a masked-language-model head (as BERT has). Models here that can: "
         "`tiny`, `rbt3`, `headless` and 1 more (try `model:tiny`)."),
        ("hello [MASK]", "minilm", "**minilm** (BertModel) is a base model (no head); "
         "`/fill-mask` needs a masked-language-model head (as BERT has). Models here that can: "
         "`tiny`, `rbt3`, `headless` and 1 more (try `model:tiny`)."),
    ],
)  # fmt: skip
async def test_fill_mask_explains_what_it_needs(ctx, text, model, message):
    with pytest.raises(UserError, match=re.escape(message)):
        await fill_mask(ctx, text, model=model)


@pytest.mark.parametrize(
    ("command", "text", "needs", "fetch"),
    [
        (fill_mask, "Paris is the [MASK] of France.", "a masked-language-model head (as BERT has)",
         "hfl/rbt3"),
        (predict, "The cat sat on the", "a causal-language-model head (as GPT-2 has)", "gpt2"),
        (lens, "The cat sat on the", "a language-model head (masked or causal)", "hfl/rbt3"),
    ],
)  # fmt: skip
async def test_with_no_model_that_can_the_reply_says_how_to_add_one(
    minilm_dir, command, text, needs, fetch
):
    """The bundled MiniLM alone, as a fresh install has it: no head for any prediction."""
    runtime = Runtime(make_settings(f"minilm={minilm_dir}"))
    job = runtime.job()
    try:
        with pytest.raises(UserError) as caught:
            await command(job, text)
    finally:
        job.close()
        await runtime.close()
    entry = "gpt2" if fetch == "gpt2" else "rbt3=hfl/rbt3"
    assert str(caught.value).startswith("**minilm** (BertModel) is a base model (no head); ")
    assert str(caught.value).endswith(
        f"needs {needs}. No model here can; the bot's operator can add one: "
        f"`./dev fetch {fetch}`, then `MODELS=…,{entry}`."
    )


async def test_an_untrained_head_is_said_so(ctx):
    reply = await fill_mask(ctx, "hello [MASK] world", model="headless")
    assert "ships no trained masked-LM head" in reply.content
    assert "randomly initialised" in reply.content


@pytest.mark.parametrize("name", ["gpt2", "llama"])
async def test_next_token_probabilities_equal_the_softmax_of_the_last_logits(ctx, settings, name):
    source = next(spec.source for spec in settings.models if spec.name == name)
    text = "The cat sat on the"
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = AutoModelForCausalLM.from_pretrained(source, attn_implementation="eager").eval()
    with torch.inference_mode():
        logits = model(**tokenizer(text, return_tensors="pt")).logits[0, -1]
    expected = logits.softmax(-1).topk(5)
    card = await ctx.model(name)
    ours = await ctx.forward(
        card, ForwardRequest(text, run="head"), lambda forwarded: next_tokens(5, forwarded)
    )
    assert [g.token_id for g in ours.guesses] == expected.indices.tolist()
    np.testing.assert_allclose(
        [g.probability for g in ours.guesses], expected.values.tolist(), atol=1e-6
    )
    reply = await predict(ctx, text, model=name)
    assert [token for token, _ in rows(reply.content)] == [g.token for g in ours.guesses]
    # The greedy continuation is the argmax, step by step.
    ids = tokenizer(text)["input_ids"]
    with torch.inference_mode():
        for _ in range(3):
            ids.append(int(model(input_ids=torch.tensor([ids])).logits[0, -1].argmax()))
    start = tokenizer.decode(ids[len(tokenizer(text)["input_ids"]) :])
    assert f"→ `{start}" in reply.content


async def test_predict_needs_a_causal_model(ctx):
    with pytest.raises(
        UserError,
        match=r"needs a causal-language-model head \(as GPT-2 has\)\. "
        r"Models here that can: `gpt2`, `llama` \(try `model:gpt2`\)\.$",
    ):
        await predict(ctx, "hello", model="tiny")


@pytest.mark.parametrize("name", ["gpt2", "llama", "tiny", "rbt3"])
async def test_lens_last_layer_is_the_models_own_prediction(ctx, settings, name):
    source = next(spec.source for spec in settings.models if spec.name == name)
    text = "The cat sat on the mat."
    card = await ctx.model(name)
    auto = AutoModelForCausalLM if card.task == "causal-lm" else AutoModelForMaskedLM
    tokenizer = AutoTokenizer.from_pretrained(source)
    model = auto.from_pretrained(source, attn_implementation="eager").eval()
    with torch.inference_mode():
        outputs = model(**tokenizer(text, return_tensors="pt"), output_hidden_states=True)
    read = await ctx.forward(card, ForwardRequest(text, run="head", hidden_states=True), lens_of)
    final = outputs.logits[0].softmax(-1).max(dim=-1)
    assert read.ids[-1].tolist() == final.indices.tolist()
    assert read.tokens[-1] == shown_tokens(tokenizer, final.indices.tolist())
    np.testing.assert_allclose(read.probabilities[-1], final.values.numpy(), atol=1e-6)
    assert len(read.tokens) == card.layers + 1  # the embeddings, then every layer
    if name == "gpt2":  # an earlier layer: the final norm, then the head
        with torch.inference_mode():
            first = model.lm_head(model.transformer.ln_f(outputs.hidden_states[1]))[0]
        best = first.softmax(-1).max(dim=-1)
        assert read.ids[1].tolist() == best.indices.tolist()
        np.testing.assert_allclose(read.probabilities[1], best.values.numpy(), atol=1e-6)
        assert read.normed


async def test_lens_reply_has_a_picture_and_refuses_other_models(ctx):
    reply = await lens(ctx, "The cat sat on the mat.", model="gpt2")
    assert reply.content.startswith("**gpt2 · logit lens** · 2 layers × 7 tokens")
    assert_drawn(reply.attachments[0].data)
    with pytest.raises(UserError, match=re.escape(
        "`/lens` needs a language-model head (masked or causal). Models here that can: `tiny`, "
        "`rbt3`, `gpt2` and 3 more (try `model:tiny`).")):  # fmt: skip
        await lens(ctx, "hello", model="minilm")


# Google's Chinese BERT vocabulary (hfl/rbt3's) has duplicate lines; so does this one. Read
# as a mapping, the ids of 我, 在, 学, 习 and 处's first lines have no token of their own.
DUPLICATED = [*SPECIALS, *"我在学习自然语言处理", *"我在学习处"]
TOKENLESS = (5, 6, 7, 8, 13)


@pytest.fixture(scope="module")
async def duplicated(tmp_path_factory):
    """A runtime with a masked and a causal LM on that vocabulary; the masked one predicts
    a tokenless id (学's first line) first."""
    masked, causal = save_vocabulary_models(tmp_path_factory.mktemp("dup"), DUPLICATED, 7)
    runtime = Runtime(make_settings(f"masked={masked},causal={causal}"))
    await runtime.start(preload=False)
    yield runtime
    await runtime.close()


async def test_every_predicted_id_is_shown_even_without_a_token_of_its_own(duplicated):
    job = duplicated.job()
    filled = await fill_mask(job, "我在[MASK]习", model="masked", top_k=20)
    shown = [token for token, _ in rows(filled.content)]
    assert len(shown) == 20 == len(DUPLICATED)  # every id the model can predict
    assert {f"[id {i}]" for i in TOKENLESS} <= set(shown)
    assert shown[0] == "[id 7]" and "[UNK]" in shown
    assert "best guess: `我在 [id 7] 习`" in filled.content
    assert_drawn(filled.attachments[0].data, min_size=(300, 400))
    predicted = await predict(job, "我在学", model="causal", top_k=20)
    assert {f"[id {i}]" for i in TOKENLESS} <= {t for t, _ in rows(predicted.content)}
    assert_drawn(predicted.attachments[0].data)
    read = await lens(job, "我在学习", model="masked")
    assert read.content.startswith("**masked · logit lens** · 2 layers × 6 tokens")
    assert_drawn(read.attachments[0].data)
    job.close()


async def test_fill_mask_shows_unk_and_writes_chinese_without_spaces(runtime):
    loaded = await loaded_model(runtime, "tiny")  # a character-level Chinese vocabulary
    tokenizer = loaded.tokenizer

    def filled(text: str, best: str) -> str:
        encoding = encode(loaded, text, None, 32)
        position = encoding.input_ids.index(tokenizer.mask_token_id)
        token_id = tokenizer.convert_tokens_to_ids(best)
        guess = Guess(shown_tokens(tokenizer, [token_id])[0], token_id, 1.0)
        return filled_text(tokenizer, encoding, (MaskGuesses(position, (guess,)),))

    assert filled("我在[MASK]习自然语言处理。", "学") == "我在学习自然语言处理。"
    assert filled("我在[MASK]习 NLP", "学") == "我在学习 nlp"
    assert filled("我在[MASK]习", "[UNK]") == "我在 [UNK] 习"  # predicted: shown
    assert filled("☃[MASK]习", "学") == "[UNK] 学习"  # typed and unknown: shown too
    assert filled("hello [MASK] world .", "cat") == "hello cat world."
    assert shown_tokens(tokenizer, [tokenizer.unk_token_id]) == ("[UNK]",)


async def test_predict_shows_what_the_tokenizer_decodes_not_byte_level_pieces(ctx, settings):
    source = next(spec.source for spec in settings.models if spec.name == "gpt2")
    tokenizer = AutoTokenizer.from_pretrained(source)
    reply = await predict(ctx, "The cat sat on the", model="gpt2", top_k=20)
    shown = rows(reply.content)
    assert "Ġ" not in reply.content
    card = await ctx.model("gpt2")
    ours = await ctx.forward(
        card, ForwardRequest("The cat sat on the", run="head"), lambda f: next_tokens(20, f)
    )
    pieces = tokenizer.convert_ids_to_tokens([g.token_id for g in ours.guesses])
    decoded = [tokenizer.decode([g.token_id]) for g in ours.guesses]
    expected = [
        text.replace(" ", "␣") if "\ufffd" not in text else piece  # part of a character
        for text, piece in zip(decoded, pieces, strict=True)
    ]
    assert [g.token for g in ours.guesses] == expected
    assert [token for token, _ in shown] == [in_code(token) for token in expected]
    assert any(token.startswith("␣") for token in expected)  # a leading space, made visible
