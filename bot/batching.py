"""Dynamic batching: forward passes for one model that arrive within a few milliseconds of each
other run as one padded batch, and each request gets exactly its own slice back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from commands.context import ForwardOutput, ForwardRequest, LoadedModel
from commands.encoding import Encoding, encode

log = logging.getLogger(__name__)

Runner = Callable[..., Awaitable[Any]]
# Output fields whose axes after the batch axis are (heads, query, key): cut both to length.
_PAIRWISE = {"attentions", "cross_attentions"}


def _cut(name: str, tensor: torch.Tensor, length: int) -> torch.Tensor:
    if name in _PAIRWISE:
        return tensor[:, :, :length, :length]
    if tensor.dim() >= 3:  # (batch, sequence, features): hidden states
        return tensor[:, :length]
    return tensor  # (batch, features): pooled outputs


def split_outputs(outputs: Any, lengths: list[int]) -> list[ForwardOutput]:
    """Each input's own rows of a padded batch's outputs, padding removed."""
    results = []
    for index, length in enumerate(lengths):
        fields: dict[str, Any] = {}
        for name, value in outputs.items():
            if isinstance(value, torch.Tensor):
                fields[name] = _cut(name, value[index : index + 1], length)
            elif isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor):
                fields[name] = tuple(_cut(name, v[index : index + 1], length) for v in value)
        results.append(ForwardOutput(type(outputs).__name__, fields))
    return results


def run_batch(
    loaded: LoadedModel, encodings: list[Encoding], attentions: bool
) -> list[ForwardOutput]:
    """One forward pass over right-padded inputs (padding masked out)."""
    lengths = [len(encoding.input_ids) for encoding in encodings]
    longest = max(lengths)
    pad = loaded.tokenizer.pad_token_id or 0

    def padded(rows: list[tuple[int, ...]], value: int) -> torch.Tensor:
        return torch.tensor([list(row) + [value] * (longest - len(row)) for row in rows])

    inputs = {
        "input_ids": padded([e.input_ids for e in encodings], pad),
        "attention_mask": padded([e.attention_mask for e in encodings], 0),
    }
    if all(e.token_type_ids is not None for e in encodings):
        inputs["token_type_ids"] = padded([e.token_type_ids for e in encodings], 0)
    with torch.inference_mode():
        outputs = loaded.model(**inputs, output_attentions=attentions)
    return split_outputs(outputs, lengths)


Finish = Callable[[Encoding, ForwardOutput], Any]
# What one request of a pass came to: its finished result, or the error that stopped it.
Outcome = tuple[Any, Exception | None]


def serve_batch(
    loaded: LoadedModel, attentions: bool, requests: list[tuple[ForwardRequest, Finish]]
) -> list[Outcome]:
    """Tokenise each request, run one pass over those that tokenised, and finish each with its
    own output, all on one worker; one request's bad input fails that request alone."""
    outcomes: list[Outcome] = [(None, None)] * len(requests)
    encoded: list[tuple[int, Encoding]] = []
    for index, (request, _) in enumerate(requests):
        try:
            encoding = encode(loaded, request.text, request.text_pair, request.max_tokens)
        except Exception as error:
            outcomes[index] = (None, error)
        else:
            encoded.append((index, encoding))
    if encoded:
        outputs = run_batch(loaded, [encoding for _, encoding in encoded], attentions)
        for (index, encoding), output in zip(encoded, outputs, strict=True):
            try:
                outcomes[index] = (requests[index][1](encoding, output), None)
            except Exception as error:
                outcomes[index] = (None, error)
    return outcomes


@dataclass(eq=False)
class _Queue:
    """Requests for one model waiting for the next pass, and how many passes are running."""

    loaded: LoadedModel
    attentions: bool
    items: list[tuple[ForwardRequest, Finish, asyncio.Future[Any]]] = field(default_factory=list)
    running: int = 0
    scheduled: bool = False


class Batcher:
    """Runs forward passes per model, at most `parallel` at once (one per worker thread),
    batching the requests that arrive while they run or within `window_ms` of a free slot's
    first request. A lone request waits at most the window; under load, batches fill by
    themselves. `max_batch=1` turns batching off."""

    def __init__(self, run: Runner, window_ms: int, max_batch: int, parallel: int = 1) -> None:
        self._run = run
        self._window = window_ms / 1000
        self._max = max_batch
        self._parallel = parallel
        self._queues: dict[tuple[int, bool], _Queue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.batches = 0
        self.requests = 0

    async def forward(self, loaded: LoadedModel, request: ForwardRequest, finish: Finish) -> Any:
        """`finish(encoding, output)` for the request, from a pass shared with others."""
        loop = asyncio.get_running_loop()
        key = (id(loaded), request.attentions)
        queue = self._queues.setdefault(key, _Queue(loaded, request.attentions))
        future: asyncio.Future[Any] = loop.create_future()
        queue.items.append((request, finish, future))
        free = queue.running < self._parallel
        if free and len(queue.items) >= self._max:
            self._start(key)  # a full batch does not wait for the window
        elif free and not queue.scheduled:
            queue.scheduled = True
            loop.call_later(self._window, self._on_timer, key)
        return await future

    def _on_timer(self, key: tuple[int, bool]) -> None:
        queue = self._queues[key]
        queue.scheduled = False
        self._start(key)
        self._forget_if_idle(key, queue)

    def _forget_if_idle(self, key: tuple[int, bool], queue: _Queue) -> None:
        if not queue.items and not queue.running and not queue.scheduled:
            del self._queues[key]

    def _start(self, key: tuple[int, bool]) -> None:
        queue = self._queues[key]
        if queue.running >= self._parallel or not queue.items:
            return
        batch, queue.items = queue.items[: self._max], queue.items[self._max :]
        queue.running += 1
        task = asyncio.ensure_future(self._execute(key, queue, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, key: tuple[int, bool], queue: _Queue, batch: list) -> None:
        requests = [(request, finish) for request, finish, _ in batch]
        self.batches += 1
        self.requests += len(requests)
        try:
            outcomes = await self._run(serve_batch, queue.loaded, queue.attentions, requests)
        except Exception as error:  # every waiter sees the failure
            outcomes = [(None, error)] * len(batch)
        try:
            for (_, _, future), (result, error) in zip(batch, outcomes, strict=True):
                if future.done():  # a waiter that timed out is gone
                    continue
                if error is not None:
                    future.set_exception(error)
                else:
                    future.set_result(result)
        finally:
            queue.running -= 1
            while queue.items and queue.running < self._parallel:
                self._start(key)  # what arrived during this pass goes next, at once
            self._forget_if_idle(key, queue)
