"""Dynamic batching: forward passes for one model that arrive while it is busy (or within a
few milliseconds of each other) run as one padded batch, and each request gets exactly its
own result back. The batch runs wherever `execute` sends it: on a worker thread of this
process (`on_workers`), or on a Ray Serve replica."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Awaitable, Callable, Hashable
from dataclasses import dataclass, field
from typing import Any

from explorer.budget import fitting
from explorer.contract import Finish, ForwardRequest, Item, LoadedModel, Outcome

log = logging.getLogger(__name__)

Runner = Callable[..., Awaitable[Any]]
# Runs one batch: (the model as the executor knows it, the batch's first request, the items).
Execute = Callable[[Any, ForwardRequest, list[Item]], Awaitable[list[Outcome]]]


def serve(loaded: LoadedModel, request: ForwardRequest, items: list[Item]) -> list[Outcome]:
    """`explorer.forward.serve_batch`, imported on the worker with the first pass: the bot
    connects to Discord before torch is loaded."""
    from explorer.forward import serve_batch

    return serve_batch(loaded, request, items)


def on_workers(run: Runner) -> Execute:
    """Batches run by `serve` on the worker threads `run` uses."""

    async def execute(loaded: Any, request: ForwardRequest, items: list[Item]) -> list[Outcome]:
        outcomes: list[Outcome] = await run(serve, loaded, request, items)
        return outcomes

    return execute


@dataclass(eq=False)
class _Queue:
    """Requests for one model waiting for the next pass, and how many passes are running."""

    model: Any  # a loaded model, or its name: what `execute` takes
    request: ForwardRequest  # the first request: its batch key is every request's
    items: list[tuple[ForwardRequest, Finish, asyncio.Future[Any]]] = field(default_factory=list)
    running: int = 0
    scheduled: bool = False


class Batcher:
    """Runs forward passes per model, at most `parallel` at once (one per worker thread),
    batching the requests that arrive while they run or within `window_ms` of a free slot's
    first request. A lone request waits at most the window; under load, batches fill by
    themselves. `max_batch=1` turns batching off."""

    def __init__(self, execute: Execute, window_ms: int, max_batch: int, parallel: int = 1) -> None:
        self._execute_batch = execute
        self._window = window_ms / 1000
        self._max = max_batch
        self._parallel = parallel
        self._queues: dict[Hashable, _Queue] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.sizes: Counter[int] = Counter()  # batches run, by the requests in them

    @property
    def batches(self) -> int:
        """Batches run."""
        return self.sizes.total()

    @property
    def requests(self) -> int:
        """Requests served in them."""
        return sum(size * count for size, count in self.sizes.items())

    def summary(self) -> str:
        """How much batching there was, for `/admin internals`."""
        return f"{self.batches} ({self.requests} requests)"

    async def forward(self, model: Any, request: ForwardRequest, finish: Finish) -> Any:
        """`finish(forwarded)` for the request, from a pass shared with others on `model` (a
        loaded model, or a name: what `execute` takes)."""
        loop = asyncio.get_running_loop()
        key = (model if isinstance(model, str) else id(model), request.batch_key)
        queue = self._queues.setdefault(key, _Queue(model, request))
        future: asyncio.Future[Any] = loop.create_future()
        queue.items.append((request, finish, future))
        free = queue.running < self._parallel
        if free and len(queue.items) >= self._max:
            self._start(key)  # a full batch does not wait for the window
        elif free and not queue.scheduled:
            queue.scheduled = True
            loop.call_later(self._window, self._on_timer, key)
        return await future

    def _on_timer(self, key: Hashable) -> None:
        queue = self._queues[key]
        queue.scheduled = False
        self._start(key)
        self._forget_if_idle(key, queue)

    def _forget_if_idle(self, key: Hashable, queue: _Queue) -> None:
        if not queue.items and not queue.running and not queue.scheduled:
            del self._queues[key]

    def _start(self, key: Hashable) -> None:
        queue = self._queues[key]
        # A request whose caller has gone (timed out, or the interaction was abandoned) is
        # dropped before its pass: nobody would read the result.
        queue.items = [item for item in queue.items if not item[2].done()]
        if queue.running >= self._parallel or not queue.items:
            return
        waiting = queue.items[: self._max]
        size = fitting(queue.request.budget, [request for request, _, _ in waiting])
        batch, queue.items = queue.items[:size], queue.items[size:]
        queue.running += 1
        self.sizes[len(batch)] += 1
        task = asyncio.ensure_future(self._execute(key, queue, batch))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _execute(self, key: Hashable, queue: _Queue, batch: list) -> None:
        requests = [(request, finish) for request, finish, _ in batch]
        try:
            outcomes = await self._execute_batch(queue.model, queue.request, requests)
        except Exception as error:  # every waiter sees the failure
            outcomes = [(None, error)] * len(batch)
        try:
            for (_, _, future), (result, failure) in zip(batch, outcomes, strict=True):
                if future.done():  # a waiter that timed out is gone
                    continue
                if failure is not None:
                    future.set_exception(failure)
                else:
                    future.set_result(result)
        finally:
            queue.running -= 1
            while queue.items and queue.running < self._parallel:
                self._start(key)  # what arrived during this pass goes next, at once
            self._forget_if_idle(key, queue)
