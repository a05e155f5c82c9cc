"""What a model predicts, checked against reference computations on each family."""

from __future__ import annotations

import re
import warnings

import numpy as np
import pytest
import torch
from transformers import AutoModelForCausalLM, AutoModelForMaskedLM, AutoTokenizer, pipeline

from bot.runtime import Runtime
from commands.fill_mask import fill_mask
from commands.lens import lens
from commands.predict import predict
from explorer.contract import ForwardRequest, UserError
from explorer.predictions import filled_masks, lens_of, next_tokens
from tests.conftest import make_settings
from tests.pictures import assert_drawn


def rows(content: str) -> list[tuple[str, float]]:
    """(token, probability) from the ranked lines of a reply's table."""
    found = re.findall(r"^\s*\d+\. (\S+)\s+([\d.]+)%$", content, re.MULTILINE)
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
    assert read.tokens[-1] == tuple(tokenizer.convert_ids_to_tokens(final.indices.tolist()))
    np.testing.assert_allclose(read.probabilities[-1], final.values.numpy(), atol=1e-6)
    assert len(read.tokens) == card.layers + 1  # the embeddings, then every layer
    if name == "gpt2":  # an earlier layer: the final norm, then the head
        with torch.inference_mode():
            first = model.lm_head(model.transformer.ln_f(outputs.hidden_states[1]))[0]
        best = first.softmax(-1).max(dim=-1)
        assert read.tokens[1] == tuple(tokenizer.convert_ids_to_tokens(best.indices.tolist()))
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
