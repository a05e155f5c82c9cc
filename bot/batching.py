"""Dynamic batching: forward passes for one model that arrive within a few milliseconds of each
other run as one padded batch, and each request gets exactly its own slice back."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

import torch

from commands.context import ForwardOutput, LoadedModel
from commands.encoding import Encoding

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


@dataclass(eq=False)
class _Queue:
    """Requests for one model waiting for the next pass, and how many passes are running."""

    loaded: LoadedModel
    attentions: bool
    items: list[tuple[Encoding, asyncio.Future[ForwardOutput]]] = field(default_factory=list)
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

    async def forward(
        self, loaded: LoadedModel, encoding: Encoding, attentions: bool
    ) -> ForwardOutput:
        if self._max <= 1:
            self.batches += 1
            self.requests += 1
            return (await self._run(run_batch, loaded, [encoding], attentions))[0]
        loop = asyncio.get_running_loop()
        key = (id(loaded), attentions)
        queue = self._queues.setdefault(key, _Queue(loaded, attentions))
        future: asyncio.Future[ForwardOutput] = loop.create_future()
        queue.items.append((encoding, future))
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
        encodings = [encoding for encoding, _ in batch]
        self.batches += 1
        self.requests += len(encodings)
        try:
            outputs = await self._run(run_batch, queue.loaded, encodings, queue.attentions)
        except Exception as error:  # every waiter sees the failure
            for _, future in batch:
                if not future.done():
                    future.set_exception(error)
        else:
            for (_, future), output in zip(batch, outputs, strict=True):
                if not future.done():  # a waiter that timed out is gone
                    future.set_result(output)
        finally:
            queue.running -= 1
            while queue.items and queue.running < self._parallel:
                self._start(key)  # what arrived during this pass goes next, at once
            self._forget_if_idle(key, queue)
