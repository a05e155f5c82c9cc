"""/attention: the heatmap shows the model's real weights, and bad layers/heads are explained."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from transformers import AutoModel, AutoTokenizer

from commands.attention import attention
from commands.attention.exploration import Subject, check_layer_head, exploration_for
from explorer.contract import Forwarded, ForwardRequest, UserError
from explorer.encoding import encode
from explorer.forward import run_batch
from tests.conftest import loaded_model
from tests.pictures import assert_drawn


async def test_attention_reply_is_a_readable_png(ctx):
    reply = await attention(ctx, "I am studying NLP.", layer=2)
    assert reply.content.startswith("**minilm · layer 2/6 · mean of 12 heads** · 8 tokens")
    (png,) = reply.attachments
    assert png.filename == "attention.png"
    height, width = assert_drawn(png.data)
    assert 500 <= width <= 1600 and 450 <= height <= 1400


async def test_weights_match_the_model_called_directly(runtime, minilm_dir):
    loaded = await loaded_model(runtime, "minilm")
    encoding = encode(loaded, "I am studying NLP.", None, 512)
    request = ForwardRequest("I am studying NLP.", attentions=True)
    output = run_batch(loaded, [encoding], request)[0]
    ours = exploration_for(Subject("minilm", "x"), Forwarded(loaded, encoding, output)).weights

    tokenizer = AutoTokenizer.from_pretrained(minilm_dir)
    model = AutoModel.from_pretrained(minilm_dir, attn_implementation="eager")
    with torch.inference_mode():
        outputs = model(
            **tokenizer("I am studying NLP.", return_tensors="pt"), output_attentions=True
        )
    assert ours.shape == (6, 12, 8, 8)
    np.testing.assert_allclose(ours[3, 5], outputs.attentions[3][0, 5].numpy(), atol=1e-6)
    np.testing.assert_allclose(ours.sum(axis=-1), 1.0, atol=1e-5)  # rows are distributions


@pytest.mark.parametrize(
    ("layer", "head", "expected"),
    [(None, None, (3, 0)), (1, 12, (1, 12)), (3, 1, (3, 1))],
)
def test_layer_and_head_defaults_and_bounds(layer, head, expected):
    assert check_layer_head(3, 12, layer, head) == expected


@pytest.mark.parametrize(
    ("layer", "head", "message"),
    [
        (4, None, "This model has 3 layers: choose a layer from 1 to 3."),
        (0, None, "choose a layer from 1 to 3"),
        (1, 13, "This model has 12 heads per layer: choose a head from 1 to 12"),
    ],
)
async def test_out_of_range_layer_or_head_gives_valid_ranges(ctx, layer, head, message):
    with pytest.raises(UserError, match=message):
        await attention(ctx, "我在学习", model="rbt3", layer=layer, head=head)


@pytest.mark.parametrize(
    ("option", "typed", "values"),
    [
        ("head", {"model": "minilm"}, [str(n) for n in range(1, 13)]),
        ("layer", {"model": "minilm"}, [str(n) for n in range(1, 7)]),
        ("layer", {"model": "t5"}, ["1", "2", "3"]),  # cross-attention: the decoder's 3
        ("layer", {"model": "t5", "part": "encoder"}, ["1", "2"]),
        ("layer", {"model": "t5", "weighting": "norm"}, ["1", "2"]),  # the encoder's only
        ("head", {}, [str(n) for n in range(1, 13)]),  # the default model, minilm
    ],
)
async def test_layer_and_head_autocomplete_offer_the_models_own_range(ctx, option, typed, values):
    """Never a fixed 1–128: the choices are the chosen model's layers or heads."""
    declared = attention.option(option)
    assert declared.complete is not None and declared.high is None
    choices = await declared.complete(ctx, typed, "")
    assert [value for _, value in choices] == values
    assert choices[-1][0] == f"{option} {values[-1]} of {values[-1]}"
    narrowed = await declared.complete(ctx, typed, "1")
    assert [value for _, value in narrowed] == [v for v in values if v.startswith("1")]


async def test_chinese_on_minilm_warns_under_the_picture_and_names_models_that_read_it(ctx):
    reply = await attention(ctx, "我在学习")
    caption, warning = reply.content.splitlines()
    assert caption.startswith("**minilm · layer 6/6 · mean of 12 heads**")
    assert warning.startswith("⚠️ 2 of 6 tokens are unknown to **minilm**: its vocabulary lacks")
    assert warning.endswith(
        "Models here that can: `tiny`, `rbt3`, `gpt2` and 3 more (try `model:tiny`)."
    )
    assert (
        reply.attachments
        and "unknown to" not in (await attention(ctx, "我在学习", model="rbt3")).content
    )


async def test_rbt3_shaped_chinese_pair_with_segment_boundary(runtime, ctx):
    reply = await attention(
        ctx, "我在学习自然语言处理", model="rbt3", head=3, text_pair="今天天气很好"
    )
    assert "rbt3 · layer 3/3 · head 3/12" in reply.content
    assert "19 tokens" in reply.content
    assert_drawn(reply.attachments[0].data)
    loaded = await loaded_model(runtime, "rbt3")
    encoding = encode(loaded, "我在学习自然语言处理", "今天天气很好", 512)
    assert encoding.segment_boundary == 12


async def test_heatmap_is_capped_at_the_configured_token_limit(ctx):
    reply = await attention(ctx, "hi you " * 280, model="minilm")  # 1,960 characters
    assert "Only the first 512 of 562 tokens are shown" in reply.content  # MAX_HEATMAP_TOKENS
    assert "window 1/8" in reply.content  # shown 64 at a time
    height, width = assert_drawn(reply.attachments[0].data)
    assert width <= 1200 and height <= 1200
