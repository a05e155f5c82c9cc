"""The runtime behind every command: a bounded executor, the model registry, batching,
admission control and statistics; `Job` is what one command's handler sees."""

from __future__ import annotations

import asyncio
import functools
import gc
import os
import threading
import time
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from commands.context import (
    Catalog,
    ForwardOutput,
    ForwardRequest,
    Limits,
    LoadedModel,
    Snapshot,
)
from commands.encoding import Encoding

from .admission import Admission
from .batching import Batcher
from .registry import ModelRegistry
from .settings import Settings
from .stats import CommandStats

T = TypeVar("T")


def quiet_transformers() -> None:
    """No progress bars or advisory warnings from model loading in the bot's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


class Runtime:
    """Shared services; all blocking work runs in one bounded thread pool."""

    def __init__(self, settings: Settings) -> None:
        import torch

        quiet_transformers()
        # Each worker gets its share of the cores: oversubscribed torch threads run slower.
        self.torch_threads = max(1, (os.cpu_count() or 1) // settings.workers)
        torch.set_num_threads(self.torch_threads)
        self.settings = settings
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="explorer-worker"
        )
        self.registry = ModelRegistry(
            settings.models,
            settings.max_loaded_models,
            self.run,
            memory_budget=settings.model_memory_mb * 2**20,
        )
        self.batcher = Batcher(
            self.run, settings.batch_window_ms, settings.max_batch, parallel=settings.workers
        )
        self.admission = Admission(settings.capacity)
        self.stats = CommandStats()
        self.gateway_latency: Callable[[], float | None] = lambda: None

    @property
    def limits(self) -> Limits:
        return self.settings.limits

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    def snapshot(self) -> Snapshot:
        latency = self.gateway_latency()
        internals = {
            "worker threads": str(self.settings.workers),
            "torch threads per worker": str(self.torch_threads),
            "python threads": str(threading.active_count()),
            "batches run": f"{self.batcher.batches} ({self.batcher.requests} requests)",
            "gc frozen objects": f"{gc.get_freeze_count():,}",
            "gc collections": ", ".join(str(s["collections"]) for s in gc.get_stats()),
            "resident memory": _rss(),
        }
        return Snapshot(
            uptime_s=self.stats.uptime,
            gateway_latency_ms=None if latency is None else latency * 1000,
            models=self.registry.memory(),
            memory_budget=self.settings.model_memory_mb * 2**20,
            running=self.admission.running,
            waiting=self.admission.waiting,
            latencies=self.stats.latencies(),
            internals=internals,
        )

    def close(self) -> None:
        """Finish running work and stop the pool; queued work is dropped."""
        self._executor.shutdown(wait=True, cancel_futures=True)


def _rss() -> str:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return f"{int(line.split()[1]) / 1024:.0f} MiB"
    except OSError:
        pass
    return "unknown"


class Job:
    """One command's view of the runtime (`commands.context.Context`): it times compute and
    rendering, collects log fields, and holds the models it uses until `close`."""

    def __init__(self, runtime: Runtime) -> None:
        self._runtime = runtime
        self._held: list[LoadedModel] = []
        self.compute_s = 0.0
        self.render_s = 0.0
        self.fields: dict[str, Any] = {}

    @property
    def limits(self) -> Limits:
        return self._runtime.limits

    async def model(self, name: str | None) -> LoadedModel:
        loaded = await self._runtime.registry.acquire(name)
        self._held.append(loaded)
        self.fields["model"] = loaded.name
        return loaded

    async def config(self, name: str | None) -> tuple[str, Any]:
        resolved, config = await self._runtime.registry.config(name)
        self.fields["model"] = resolved
        return resolved, config

    async def _timed(self, stage: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await work
        finally:
            setattr(self, stage, getattr(self, stage) + time.perf_counter() - started)

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return await self._timed("compute_s", self._runtime.run(fn, *args))

    async def render(self, fn: Callable[..., T], /, *args: Any) -> T:
        return await self._timed("render_s", self._runtime.run(fn, *args))

    async def forward(
        self,
        loaded: LoadedModel,
        request: ForwardRequest,
        finish: Callable[[Encoding, ForwardOutput], T],
    ) -> T:
        forwarded = self._runtime.batcher.forward(loaded, request, finish)
        return await self._timed("compute_s", forwarded)

    def record(self, **fields: Any) -> None:
        self.fields.update(fields)

    def catalog(self) -> Catalog:
        return self._runtime.registry.catalog()

    def snapshot(self) -> Snapshot:
        return self._runtime.snapshot()

    async def load(self, name: str | None) -> LoadedModel:
        return await self._runtime.registry.model(name)

    def unload(self, name: str | None) -> str:
        return self._runtime.registry.unload(name)

    def close(self) -> None:
        """Release the models this job held."""
        for loaded in self._held:
            self._runtime.registry.release(loaded)
        self._held.clear()
