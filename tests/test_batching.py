"""Dynamic batching: one padded forward pass, each request's result equal to running alone."""

from __future__ import annotations

import asyncio

import numpy as np
import pytest
import torch

from bot.batching import Batcher, on_workers
from explorer.contract import ForwardRequest, UserError
from explorer.encoding import encode
from explorer.forward import run_batch
from tests.conftest import loaded_model

TEXTS = [
    ("I am studying NLP.", None),
    ("Attention is all you need, they said, and then everyone wrote a paper.", None),
    ("hi", "a second segment"),
]


WITH_ATTENTIONS = ForwardRequest("", attentions=True)
PLAIN = ForwardRequest("")


def single(loaded, encoding, request):
    return run_batch(loaded, [encoding], request)[0]


@pytest.mark.parametrize("name", ["minilm", "rbt3"])
async def test_batched_results_equal_unbatched(runtime, name):
    loaded = await loaded_model(runtime, name)
    encodings = [encode(loaded, text, pair, 64) for text, pair in TEXTS]
    assert len({len(e.input_ids) for e in encodings}) == 3  # padding really happens
    batched = run_batch(loaded, encodings, WITH_ATTENTIONS)
    for encoding, together in zip(encodings, batched, strict=True):
        alone = single(loaded, encoding, WITH_ATTENTIONS)
        length = len(encoding.input_ids)
        assert together.type_name == alone.type_name
        assert together.fields.keys() == alone.fields.keys()
        hidden = together.fields["last_hidden_state"]
        assert hidden.shape == (1, length, loaded.card.config.hidden_size)
        torch.testing.assert_close(hidden, alone.fields["last_hidden_state"], atol=1e-5, rtol=1e-4)
        if "pooler_output" in alone.fields:  # a base checkpoint (MiniLM) has a pooler
            torch.testing.assert_close(
                together.fields["pooler_output"],
                alone.fields["pooler_output"],
                atol=1e-5,
                rtol=1e-4,
            )
        for mine, reference in zip(
            together.fields["attentions"], alone.fields["attentions"], strict=True
        ):
            assert mine.shape == reference.shape == (1, loaded.card.config.num_attention_heads,
                                                     length, length)  # fmt: skip
            torch.testing.assert_close(mine, reference, atol=1e-6, rtol=1e-5)


def request(text: str, max_tokens: int = 64, attentions: bool = False) -> ForwardRequest:
    return ForwardRequest(text, None, max_tokens, attentions=attentions)


def both(forwarded):
    return forwarded.encoding, forwarded.output


async def test_concurrent_requests_share_one_forward_pass(runtime):
    loaded = await loaded_model(runtime, "minilm")
    batcher = Batcher(on_workers(runtime.run), window_ms=20, max_batch=16)
    texts = [f"request number {i}" for i in range(6)]
    results = await asyncio.gather(*(batcher.forward(loaded, request(t), both) for t in texts))
    assert (batcher.batches, batcher.requests) == (1, 6)
    for text, (encoding, output) in zip(texts, results, strict=True):
        assert encoding == encode(loaded, text, None, 64)  # tokenised on the worker, as alone
        alone = single(loaded, encoding, PLAIN)
        np.testing.assert_allclose(
            output.fields["last_hidden_state"].numpy(),
            alone.fields["last_hidden_state"].numpy(),
            atol=1e-5,
        )


async def test_one_requests_bad_input_fails_it_alone(runtime):
    loaded = await loaded_model(runtime, "minilm")
    batcher = Batcher(on_workers(runtime.run), window_ms=20, max_batch=16)

    def shout(forwarded):
        if "boom" in forwarded.encoding.tokens:
            raise UserError("finishing failed for this request")
        return forwarded.encoding.tokens

    results = await asyncio.gather(
        batcher.forward(loaded, request("hello world"), shout),
        batcher.forward(loaded, request("hello world", max_tokens=1), shout),
        batcher.forward(loaded, request("boom"), shout),
        batcher.forward(loaded, request("a good one"), shout),
        return_exceptions=True,
    )
    assert (batcher.batches, batcher.requests) == (1, 4)
    assert results[0] == ("[CLS]", "hello", "world", "[SEP]")
    assert isinstance(results[1], UserError) and "accepts 1" in str(results[1])
    assert isinstance(results[2], UserError) and "finishing failed" in str(results[2])
    assert results[3] == ("[CLS]", "a", "good", "one", "[SEP]")


async def test_full_batches_go_at_once_and_max_batch_one_disables(runtime):
    loaded = await loaded_model(runtime, "tiny")
    # A window of ten minutes: a full batch that waited for it would not finish in a minute.
    capped = Batcher(on_workers(runtime.run), window_ms=600_000, max_batch=2)
    async with asyncio.timeout(60):
        await asyncio.gather(
            *(capped.forward(loaded, request("hello world"), both) for _ in range(4))
        )
    assert (capped.batches, capped.requests) == (2, 4)
    off = Batcher(on_workers(runtime.run), window_ms=0, max_batch=1)
    await asyncio.gather(*(off.forward(loaded, request("hello world"), both) for _ in range(5)))
    assert (off.batches, off.requests) == (5, 5)
    with pytest.raises(UserError):  # unbatched, a request's error is still its own
        await off.forward(loaded, request("hello world", max_tokens=1), both)


class Gate:
    """Runs each pass on the workers once the test releases it, noting which texts it took
    (a pass is "running" until then)."""

    def __init__(self, runtime) -> None:
        self.run = on_workers(runtime.run)
        self.passes: list[list[str]] = []
        self.started, self.release = asyncio.Event(), asyncio.Event()

    async def execute(self, loaded, key, items):
        self.passes.append([item.text for item, _ in items])
        self.started.set()
        await self.release.wait()
        return await self.run(loaded, key, items)


async def busy_with_first(runtime):
    """MiniLM, a gate, a batcher running through it, and a pass for "first" running."""
    loaded = await loaded_model(runtime, "minilm")
    gate = Gate(runtime)
    batcher = Batcher(gate.execute, window_ms=0, max_batch=16)
    first = asyncio.create_task(batcher.forward(loaded, request("first"), both))
    await gate.started.wait()
    return loaded, gate, batcher, first


async def test_requests_arriving_during_a_pass_form_the_next_batch(runtime):
    """A pass takes exactly the requests waiting when it starts; later ones wait for the
    next pass (merging them into a running pass would mix up results)."""
    loaded, gate, batcher, first = await busy_with_first(runtime)
    passes, release = gate.passes, gate.release
    later = [
        asyncio.create_task(batcher.forward(loaded, request(f"later request {i}"), both))
        for i in range(5)
    ]
    # The pass is released after the later requests' first steps, which queue them: the loop
    # runs ready callbacks in the order they were scheduled.
    asyncio.get_running_loop().call_soon(release.set)
    results = await asyncio.gather(first, *later)
    assert passes == [["first"], [f"later request {i}" for i in range(5)]]
    assert (batcher.batches, batcher.requests) == (2, 6)
    assert [r[0] for r in results] == [
        encode(loaded, text, None, 64) for text in ["first", *passes[1]]
    ]


async def test_a_failing_batch_fails_each_request(runtime):
    loaded = await loaded_model(runtime, "tiny")

    async def broken(*batch):
        raise RuntimeError("out of memory")

    batcher = Batcher(broken, window_ms=5, max_batch=8)
    results = await asyncio.gather(
        *(batcher.forward(loaded, request("hello"), both) for _ in range(3)),
        return_exceptions=True,
    )
    assert all(isinstance(r, RuntimeError) for r in results)


async def test_up_to_parallel_passes_run_at_once(runtime):
    loaded = await loaded_model(runtime, "tiny")
    active, most = 0, 0
    overlapped = asyncio.Event()  # two passes ran at once

    async def counting(*batch):
        nonlocal active, most
        active += 1
        most = max(most, active)
        if active == 2:
            overlapped.set()
        try:
            # The first pass lasts until a second runs beside it (a hang, were there none).
            await asyncio.wait_for(overlapped.wait(), 60)
            return await on_workers(runtime.run)(*batch)
        finally:
            active -= 1

    batcher = Batcher(counting, window_ms=0, max_batch=2, parallel=2)
    await asyncio.gather(*(batcher.forward(loaded, request(f"text {i}"), both) for i in range(8)))
    assert most == 2 and batcher.requests == 8 and batcher.batches == 4


async def test_a_request_whose_caller_has_gone_is_dropped_before_its_pass(runtime):
    """Requests that time out (or whose interaction is abandoned) while waiting for a busy
    model are taken out of the next batch; a batch left with nobody runs no pass at all."""
    loaded, gate, batcher, first = await busy_with_first(runtime)
    passes, started, release = gate.passes, gate.started, gate.release
    kept = asyncio.create_task(batcher.forward(loaded, request("still wanted"), both))
    for text in ("timed out", "also timed out"):
        with pytest.raises(TimeoutError):  # as the pipeline's time limit does
            await asyncio.wait_for(batcher.forward(loaded, request(text), both), 0.01)
    release.set()
    await asyncio.gather(first, kept)
    assert passes == [["first"], ["still wanted"]]
    assert (batcher.batches, batcher.requests) == (2, 2)

    started.clear()
    release.clear()
    busy = asyncio.create_task(batcher.forward(loaded, request("busy"), both))
    await started.wait()
    with pytest.raises(TimeoutError):
        await asyncio.wait_for(batcher.forward(loaded, request("gone"), both), 0.01)
    release.set()
    await busy  # the freed slot would start the next pass at once: there is none
    assert batcher.batches == 3 and passes[2:] == [["busy"]]
