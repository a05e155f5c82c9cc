"""The memory budget per request: the estimate against the tensors models really return, the
refusal that says what to shorten, batches formed within it, pictures capped."""

from __future__ import annotations

import asyncio
import io
from dataclasses import replace

import pytest
import torch
from PIL import Image

from bot.batching import Batcher, on_workers
from bot.console import Console
from explorer.budget import (
    PICTURE_PIXELS,
    Budget,
    Dimensions,
    check_picture,
    check_request,
    dimensions,
    likely_tokens,
    output_bytes,
    request_bytes,
)
from explorer.contract import ForwardRequest, UserError
from explorer.drawing.canvas import Canvas
from explorer.encoding import encode
from explorer.forward import run_batch
from tests.conftest import loaded_model, make_settings, running

TEXT = "The quick brown fox jumps over the lazy dog, twice."
REQUESTS = {
    "base": ForwardRequest(TEXT),
    "head": ForwardRequest(TEXT, run="head"),
    "attentions": ForwardRequest(TEXT, attentions=True),
    "everything": ForwardRequest(TEXT, run="head", attentions=True, hidden_states=True),
}
BERT_BASE = Dimensions(layers=12, heads=12, hidden=768, intermediate=3072, vocab=30522)


def tensor_bytes(value) -> int:
    if isinstance(value, torch.Tensor):
        return value.numel() * value.element_size()
    return sum(tensor_bytes(v) for v in value)


@pytest.mark.parametrize("kind", REQUESTS)
@pytest.mark.parametrize("name", ["tiny", "gpt2", "t5"])
async def test_the_estimate_is_the_bytes_a_pass_returns(runtime, name, kind):
    loaded = await loaded_model(runtime, name)
    request = REQUESTS[kind]
    encoding = encode(loaded, TEXT, None, 32)
    decoded = 5 if loaded.card.encoder_decoder else 0
    targets = [[0] * decoded] if decoded else None
    with torch.inference_mode():
        (output,) = run_batch(loaded, [encoding], request, targets)
    actual = sum(tensor_bytes(value) for value in output.fields.values())
    dims = dimensions(loaded.model.config)
    estimate = output_bytes(dims, request, len(encoding), decoded)
    # Within one vector of the hidden size: BERT's pooled output is not counted.
    assert actual - 4 * dims.hidden <= estimate <= actual


@pytest.mark.parametrize(
    ("request_", "tokens", "message"),
    [
        (
            ForwardRequest(TEXT, attentions=True),
            512,
            "This needs about 188 MiB of memory for 512 tokens with attentions; the limit per "
            "request is 128 MiB: please shorten the text to at most 418 tokens (`/tokenize` "
            "counts them), or leave out attentions.",
        ),
        (
            ForwardRequest(TEXT, run="head", hidden_states=True),
            512,
            "This needs about 240 MiB of memory for 512 tokens with hidden states; the limit "
            "per request is 128 MiB: please shorten the text to at most 285 tokens (`/tokenize` "
            "counts them).",
        ),
    ],
)
def test_a_request_over_the_budget_is_told_what_to_shorten(request_, tokens, message):
    budget = Budget(128 * 2**20, BERT_BASE)
    with pytest.raises(UserError) as refused:
        check_request(budget, request_, tokens)
    assert str(refused.value).startswith(message)
    fitting = int(str(refused.value).split("at most ")[1].split()[0])
    check_request(budget, request_, fitting)  # the advice is right: that many fit
    assert request_bytes(BERT_BASE, request_, fitting + 1) > budget.limit


async def test_batches_are_formed_within_the_budget(runtime):
    loaded = await loaded_model(runtime, "rbt3")
    sizes: list[int] = []
    run = on_workers(runtime.run)

    async def execute(model, request, items):
        sizes.append(len(items))
        return await run(model, request, items)

    text = "word " * 100  # 102 tokens
    dims = dimensions(loaded.model.config)
    request = ForwardRequest(text, None, 512, attentions=True)
    budget = Budget(3 * request_bytes(dims, request, likely_tokens(request)), dims)
    request = replace(request, budget=budget)
    batcher = Batcher(execute, window_ms=50, max_batch=16)
    results = await asyncio.gather(
        *(batcher.forward(loaded, request, lambda f: len(f.encoding)) for _ in range(7))
    )
    assert results == [102] * 7
    assert sizes == [3, 3, 1]  # sixteen would fit MAX_BATCH, not the budget


def test_pictures_past_the_pixel_cap_are_refused_before_drawing():
    Canvas(4096, PICTURE_PIXELS // 4096)  # at the cap: drawn
    with pytest.raises(UserError, match=r"^This picture would be 1,000 × 172,827 pixels"):
        check_picture(1000, 172_827)


@pytest.fixture(scope="module")
async def frugal(rbt3_dir, tmp_path_factory):
    """A runtime whose requests may take 16 MiB, long explorations allowed."""
    settings = make_settings(f"rbt3={rbt3_dir},minilm", REQUEST_MEMORY_MB="16",
                             MAX_HEATMAP_TOKENS="512",
                             CONSOLE_OUTPUT_DIR=str(tmp_path_factory.mktemp("frugal")))  # fmt: skip
    async with running(settings) as runtime:
        yield runtime


async def test_the_budget_refuses_before_the_pass_and_says_what_to_shorten(frugal, tmp_path):
    out = io.StringIO()
    console = Console(frugal, tmp_path, out)
    assert not await console.execute("/forward text:" + "word " * 400 + "attentions:true")
    assert await console.execute("/forward text:" + "word " * 10 + "attentions:true")
    printed = out.getvalue()
    assert (
        "⚠️ This needs about 52 MiB of memory for 402 tokens with attentions; the limit per "
        "request is 16 MiB: please shorten the text to at most 193 tokens"
    ) in printed
    assert "**rbt3** · `model(**inputs, output_attentions=True)` on 12 tokens" in printed


async def test_fill_mask_charts_the_first_masks_and_lists_them_all(runtime, tmp_path):
    out = io.StringIO()
    assert await Console(runtime, tmp_path, out).execute(
        "/fill-mask text:" + "[MASK]" * 300 + " model:rbt3 top_k:20"
    )
    assert "The chart shows the first 5 of the 300 masks; the list has them all." in out.getvalue()
    (chart,) = tmp_path.glob("*fill-mask.png")
    (table,) = tmp_path.glob("*fill-mask.txt")
    assert "mask 300 (token 300)" in table.read_text()
    width, height = Image.open(chart).size
    assert height < 4000 and width * height < PICTURE_PIXELS


async def test_compare_charts_the_first_words_of_a_long_text(frugal, tmp_path):
    out = io.StringIO()
    line = "/compare model_a:rbt3 model_b:minilm text:" + "the " * 150
    assert await Console(frugal, tmp_path, out).execute(line)
    assert "The picture shows the first 128 of the 150 words both read." in out.getvalue()
    (chart,) = tmp_path.glob("*compare.png")
    width, height = Image.open(chart).size
    assert width * height < PICTURE_PIXELS
