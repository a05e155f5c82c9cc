"""Dynamic batching: one padded forward pass, each request's result equal to running alone."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from bot.batching import Batcher, run_batch
from commands.encoding import encode

TEXTS = [
    ("I am studying NLP.", None),
    ("Attention is all you need, they said, and then everyone wrote a paper.", None),
    ("hi", "a second segment"),
]


def single(loaded, encoding, attentions):
    return run_batch(loaded, [encoding], attentions)[0]


@pytest.mark.parametrize("name", ["minilm", "rbt3"])
async def test_batched_results_equal_unbatched(runtime, name):
    loaded = await runtime.registry.model(name)
    encodings = [encode(loaded, text, pair, 64) for text, pair in TEXTS]
    assert len({len(e.input_ids) for e in encodings}) == 3  # padding really happens
    batched = run_batch(loaded, encodings, True)
    for encoding, together in zip(encodings, batched, strict=True):
        alone = single(loaded, encoding, True)
        length = len(encoding.input_ids)
        assert together.type_name == alone.type_name
        assert together.fields.keys() == alone.fields.keys()
        hidden = together.fields["last_hidden_state"]
        assert hidden.shape == (1, length, loaded.config.hidden_size)
        torch.testing.assert_close(hidden, alone.fields["last_hidden_state"], atol=1e-5, rtol=1e-4)
        torch.testing.assert_close(
            together.fields["pooler_output"], alone.fields["pooler_output"], atol=1e-5, rtol=1e-4
        )
        for mine, reference in zip(
            together.fields["attentions"], alone.fields["attentions"], strict=True
        ):
            assert mine.shape == reference.shape == (1, loaded.config.num_attention_heads,
                                                     length, length)  # fmt: skip
            torch.testing.assert_close(mine, reference, atol=1e-6, rtol=1e-5)


async def test_concurrent_requests_share_one_forward_pass(runtime):
    loaded = await runtime.registry.model("minilm")
    batcher = Batcher(runtime.run, window_ms=20, max_batch=16)
    encodings = [encode(loaded, f"request number {i}", None, 64) for i in range(6)]
    outputs = await asyncio.gather(*(batcher.forward(loaded, e, False) for e in encodings))
    assert (batcher.batches, batcher.requests) == (1, 6)
    for encoding, output in zip(encodings, outputs, strict=True):
        alone = single(loaded, encoding, False)
        np.testing.assert_allclose(
            output.fields["last_hidden_state"].numpy(),
            alone.fields["last_hidden_state"].numpy(),
            atol=1e-5,
        )


async def test_full_batches_go_at_once_and_max_batch_one_disables(runtime):
    loaded = await runtime.registry.model("tiny")
    encodings = [encode(loaded, "hello world", None, 32) for _ in range(5)]
    capped = Batcher(runtime.run, window_ms=1000, max_batch=2)
    started = asyncio.get_running_loop().time()
    await asyncio.gather(*(capped.forward(loaded, e, False) for e in encodings[:4]))
    assert asyncio.get_running_loop().time() - started < 0.9  # full batches did not wait
    assert (capped.batches, capped.requests) == (2, 4)
    off = Batcher(runtime.run, window_ms=0, max_batch=1)
    await asyncio.gather(*(off.forward(loaded, e, False) for e in encodings))
    assert (off.batches, off.requests) == (5, 5)


async def test_requests_arriving_during_a_pass_form_the_next_batch(runtime):
    loaded = await runtime.registry.model("minilm")
    batcher = Batcher(runtime.run, window_ms=0, max_batch=16)
    first = asyncio.create_task(batcher.forward(loaded, encode(loaded, "first", None, 64), False))
    await asyncio.sleep(0.002)  # the first pass is running now
    later = [encode(loaded, f"later request {i}", None, 64) for i in range(5)]
    await asyncio.gather(first, *(batcher.forward(loaded, e, False) for e in later))
    assert (batcher.batches, batcher.requests) == (2, 6)


async def test_a_failing_batch_fails_each_request(runtime):
    loaded = await runtime.registry.model("tiny")

    async def broken(fn, *args):
        raise RuntimeError("out of memory")

    batcher = Batcher(broken, window_ms=5, max_batch=8)
    encoding = encode(loaded, "hello", None, 32)
    results = await asyncio.gather(
        *(batcher.forward(loaded, encoding, False) for _ in range(3)), return_exceptions=True
    )
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_up_to_parallel_passes_run_at_once(runtime):
    loaded = await runtime.registry.model("tiny")
    active, most = 0, 0

    async def counting(fn, *args):
        nonlocal active, most
        active += 1
        most = max(most, active)
        try:
            await asyncio.sleep(0.05)  # a pass that takes a while
            return await runtime.run(fn, *args)
        finally:
            active -= 1

    batcher = Batcher(counting, window_ms=0, max_batch=2, parallel=2)
    encodings = [encode(loaded, f"text {i}", None, 32) for i in range(8)]
    await asyncio.gather(*(batcher.forward(loaded, e, False) for e in encodings))
    assert most == 2 and batcher.requests == 8 and batcher.batches == 4
