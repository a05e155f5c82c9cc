"""Encoder–decoder parts, and attention between words, against reference computations."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoTokenizer, T5ForConditionalGeneration

from commands.attention import attention
from commands.attention.exploration import Subject, ViewState
from commands.attention.explore import explore, reply_for
from commands.attention.views import VIEWS
from commands.forward import forward
from commands.tokenize import tokenize
from explorer.contract import UserError
from explorer.words import aggregate, words_of
from tests.conftest import loaded_model
from tests.pictures import assert_drawn

SOURCE, TARGET = "The cat sat on the mat.", "Das Haus."  # 15 and 8 tokens: not square


async def test_cross_attention_is_target_by_source_and_equals_the_models(ctx, t5_dir):
    exploration = await explore(ctx, Subject("t5", SOURCE, target=TARGET))
    tokenizer = AutoTokenizer.from_pretrained(t5_dir)
    model = T5ForConditionalGeneration.from_pretrained(t5_dir, attn_implementation="eager")
    labels = tokenizer(text_target=TARGET, return_tensors="pt").input_ids
    with torch.inference_mode():
        outputs = model(
            **tokenizer(SOURCE, return_tensors="pt"),
            decoder_input_ids=model._shift_right(labels),
            output_attentions=True,
        )
    cross = np.stack([layer[0].numpy() for layer in outputs.cross_attentions])
    assert exploration.cross_weights is not None and exploration.decoder_weights is not None
    target, source = labels.shape[1], len(exploration.encoding)
    assert (target, source) == (8, 15)
    assert exploration.cross_weights.shape == (3, 4, target, source)  # target × source
    np.testing.assert_allclose(exploration.cross_weights, cross, atol=1e-6)
    decoder = np.stack([layer[0].numpy() for layer in outputs.decoder_attentions])
    np.testing.assert_allclose(exploration.decoder_weights, decoder, atol=1e-6)
    encoder = np.stack([layer[0].numpy() for layer in outputs.encoder_attentions])
    np.testing.assert_allclose(exploration.weights, encoder, atol=1e-6)


@pytest.mark.parametrize("part", ["encoder", "decoder", "cross"])
@pytest.mark.parametrize("view", list(VIEWS))
async def test_every_view_works_on_every_part(ctx, part, view):
    exploration = await explore(ctx, Subject("t5", SOURCE, target=TARGET))
    state = VIEWS[view].enter(ViewState(view, 2, 1, 1, part, "token"))
    if view == "rollout" and part == "cross":
        with pytest.raises(UserError, match="Rollout follows attention through the layers"):
            reply_for(exploration, state)
        return
    reply = reply_for(exploration, state)
    assert_drawn(reply.attachments[0].data)
    title = {"encoder": "encoder self-attention", "decoder": "decoder self-attention",
             "cross": "cross-attention"}[part]  # fmt: skip
    assert reply.content.startswith(f"**t5 · {title} · ")


async def test_attention_on_t5_defaults_to_cross_attention_on_its_own_output(ctx):
    reply = await attention(ctx, SOURCE, model="t5")
    assert reply.content.startswith("**t5 · cross-attention · layer 3/3 · mean of 4 heads**")
    assert "13 tokens × 15 tokens" in reply.content  # start token + 12 generated, × source
    assert "the model's own greedy output" in reply.content
    with pytest.raises(UserError, match="`part` is for encoder–decoder models"):
        await attention(ctx, SOURCE, model="minilm", part="cross")
    with pytest.raises(UserError, match="`target` is for encoder–decoder models"):
        await attention(ctx, SOURCE, model="minilm", target="x")
    with pytest.raises(UserError, match="This model has 3 layers"):
        await attention(ctx, SOURCE, model="t5", part="decoder", layer=4)


@pytest.mark.parametrize(("part", "noted"), [("encoder", False), ("decoder", True)])
async def test_the_own_output_note_only_where_the_decoder_is_shown(ctx, part, noted):
    reply = await attention(ctx, SOURCE, model="t5", part=part)
    assert reply.content.startswith(f"**t5 · {part} self-attention · ")
    assert ("the model's own greedy output" in reply.content) is noted


async def test_tokenize_and_forward_show_both_sides_of_t5(ctx):
    reply = await tokenize(ctx, SOURCE, model="t5", target=TARGET)
    encoder, decoder = reply.content.split("decoder input:")
    assert "</s>*" in encoder and "▁ca" in encoder
    assert decoder.split("\n")[2].split()[1] == "<pad>*"  # the start token, then the target
    forwarded = await forward(ctx, SOURCE, model="t5", target=TARGET)
    text = forwarded.content + "".join(a.data.decode() for a in forwarded.attachments)
    assert "encoder_last_hidden_state: shape (1, 15, 32) float32" in text
    assert "decoder_hidden_states: tuple of 4 × shape (1, 8, 32) float32" in text
    assert "‖decoder_hidden_states[-1]‖ per token:" in text


def words(encoding_of, text, pair=None):
    encoding = encoding_of(text, pair)
    found = words_of(encoding, [text] + ([pair] if pair else []))
    return found, encoding


@pytest.fixture
async def encode_with(runtime):
    from explorer.encoding import encode

    async def make(name):
        loaded = await loaded_model(runtime, name)
        return lambda text, pair=None: encode(loaded, text, pair, 64)

    return make


@pytest.mark.parametrize(
    ("model", "text", "expected"),
    [
        ("minilm", "I am studying NLP.", ["[CLS]", "I", "am", "studying", "NLP", ".", "[SEP]"]),
        ("gpt2", "The cat sat on the mat.", ["The", "cat", "sat", "on", "the", "mat."]),
        ("t5", "The cat sat.", ["The", "cat", "sat.", "</s>"]),
        (
            "rbt3",
            "我在学习自然语言处理",
            ["[CLS]", "我", "在", "学习", "自然语言", "处理", "[SEP]"],
        ),
        ("rbt3", "我在学习NLP", ["[CLS]", "我", "在", "学习", "NLP", "[SEP]"]),
    ],
)
async def test_words_from_each_tokenizers_markers_and_from_jieba(
    encode_with, model, text, expected
):
    found, _ = words(await encode_with(model), text)
    assert list(found.labels) == expected


async def test_word_attention_rows_still_sum_to_one_and_match_tokens_for_one_token_words(ctx):
    exploration = await explore(ctx, Subject("rbt3", "我在学习自然语言处理"))
    tokens = exploration.attention("self", "token").weights
    by_word = exploration.attention("self", "word")
    assert by_word.weights.shape == (3, 12, 7, 7)
    np.testing.assert_allclose(by_word.weights.sum(axis=-1), 1.0, atol=1e-5)
    # 我 (token 1) and 在 (token 2) are words of one token: their rows and columns agree...
    np.testing.assert_allclose(by_word.weights[..., 1, 1], tokens[..., 1, 1], atol=1e-6)
    # ...学习 (tokens 3-4) sums what is paid to both, and averages what both pay.
    np.testing.assert_allclose(
        by_word.weights[..., 1, 3], tokens[..., 1, 3] + tokens[..., 1, 4], atol=1e-6
    )
    np.testing.assert_allclose(
        by_word.weights[..., 3, 1], (tokens[..., 3, 1] + tokens[..., 4, 1]) / 2, atol=1e-6
    )


def test_aggregating_single_token_words_changes_nothing():
    rng = np.random.default_rng(1)
    weights = rng.random((2, 3, 5, 5))
    singles = [(i,) for i in range(5)]
    np.testing.assert_array_equal(aggregate(weights, singles, singles), weights)


async def test_word_granularity_through_the_command(ctx):
    reply = await attention(ctx, "I am studying NLP.", granularity="word", view="heads")
    assert reply.content.startswith("**minilm · layer 6/6 · all 12 heads · words** · 7 words")
    assert_drawn(reply.attachments[0].data)
    pair = await attention(
        ctx, "我在学习", model="rbt3", text_pair="今天天气很好", granularity="word"
    )
    assert "words" in pair.content
    assert_drawn(pair.attachments[0].data)
