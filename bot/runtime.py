"""The runtime behind every command: a bounded worker pool, the compute backend (the models,
batching and forward passes, here or on Ray: `bot.backends` picks it), the allowlist, admission
control, the memo of computed results that buttons reuse, and statistics; `Job` is what one
request's handler sees (`explorer.contract.Context`).

Constructing it is cheap: torch and transformers are imported by `start()` on a worker, so the
bot can connect to Discord (and acknowledge commands) while they load.
"""

from __future__ import annotations

import asyncio
import functools
import gc
import logging
import os
import threading
import time
from collections.abc import Awaitable, Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import Any, TypeVar

from typing_extensions import override

from explorer.budget import Budget, dimensions
from explorer.contract import (
    Catalog,
    Context,
    Forwarded,
    ForwardRequest,
    Limits,
    Live,
    M,
    ModelCard,
    ServerSettings,
    Snapshot,
    UserError,
)
from explorer.i18n import SOURCE_LANGUAGE, phrase

from .admission import Admission
from .allocator import give_back, release_large_blocks
from .backends import compute_for
from .compute import Compute
from .hub import go_offline_without_hub
from .interrupts import block_in_this_thread
from .libraries import prepare_libraries
from .memo import Memo
from .registry import Allowlist
from .rendering import Renderers
from .settings import ModelSpec, Settings
from .stats import CommandStats
from .store import Store, StoreError

log = logging.getLogger(__name__)
T = TypeVar("T")
# Drawing arguments bigger than this are drawn on a worker thread: pickling them to a drawing
# process and back costs more than the drawing (an exploration of 250 tokens, 18 MB: 88 ms).
PROCESS_DRAWING_BYTES = 4 << 20


class Runtime:
    """Shared services; all blocking work runs in one bounded thread pool."""

    def __init__(self, settings: Settings) -> None:
        release_large_blocks()  # before torch allocates anything
        self.settings = settings
        # Each worker gets its share of the cores: oversubscribed torch threads run slower.
        self.torch_threads = max(1, (os.cpu_count() or 1) // settings.workers)
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers,
            thread_name_prefix="explorer-worker",
            initializer=block_in_this_thread,
        )
        processes = settings.render_processes  # drawing in processes of its own (0: threads)
        self._renderers = Renderers(processes) if processes else None
        self.allowlist = Allowlist(settings.models)
        self.compute: Compute = compute_for(settings, self.run)
        self._compute_started = False
        self.admission = Admission(settings.capacity)
        self.stats = CommandStats()
        self.memo = Memo(settings.exploration_memory_mb * 2**20)
        self.gateway_latency: Callable[[], float | None] = lambda: None
        self.warm = False
        # Libraries loaded, and the default model if it is preloaded (stays set if it is evicted).
        self.models_ready = False
        self.store: Store | None = None  # set by the Discord bot; the console keeps nothing

    @property
    def limits(self) -> Limits:
        """Bounds on inputs, from the settings."""
        return self.settings.limits

    async def start(self, preload: bool = True) -> None:
        """Load the libraries on a worker, then the default model (if `preload` and the
        settings say so); commands that arrive meanwhile are acknowledged at once and
        answered when it is ready."""
        started = time.perf_counter()
        await self.run(go_offline_without_hub, self.settings.models)
        await self.start_compute()
        drawing = asyncio.ensure_future(self._start_renderers())
        await self.run(prepare_libraries, self.torch_threads)
        await drawing
        self.warm = True
        log.info("libraries ready in %.1f s", time.perf_counter() - started)
        preloaded = True
        if preload and self.settings.preload_default_model:
            log.info("preloading the default model %s", self.settings.default_model.name)
            try:
                await self.job().load(None)
            except UserError as error:
                log.warning("could not preload the default model: %s", error)
                preloaded = False
        self.models_ready = preloaded
        log.info("ready for model work after %.1f s", time.perf_counter() - started)

    async def start_compute(self) -> None:
        """Start the compute backend (once); one that cannot be used raises `ComputeError`."""
        if not self._compute_started:
            await self.compute.start()
            self._compute_started = True

    @property
    def defer_after(self) -> float:
        """Seconds a reply may take before "thinking…" is shown: none while warming up."""
        return self.settings.defer_after_ms / 1000 if self.warm else 0.0

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run `fn(*args)` on a worker thread, then give the memory it freed back to the
        system (`bot.allocator`: its buffers were reused while it ran)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(
            self._executor, functools.partial(_then_give_back, fn, *args)
        )

    async def _start_renderers(self) -> None:
        if self._renderers is not None:
            await self._renderers.start()

    async def render(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run drawing work `fn(*args)` in a drawing process; without them, or for arguments
        too big to be worth pickling there, as `run`."""
        if self._renderers is None or carried(args) > PROCESS_DRAWING_BYTES:
            return await self.run(fn, *args)
        try:
            return await self._renderers.run(fn, *args)
        finally:  # the arguments pickled for it were freed here: given back on a worker
            self._executor.submit(give_back)

    def job(
        self,
        server: ServerSettings | None = None,
        user_id: int | None = None,
        language: str = SOURCE_LANGUAGE,
    ) -> Job:
        """A fresh context for one request (made in a server: that server's choices), told
        in `language`."""
        return Job(self, server, user_id, language)

    def snapshot(self) -> Snapshot:
        """What `/status` and `/admin internals` show."""
        latency = self.gateway_latency()
        memo = self.memo
        internals = {
            "worker threads": str(self.settings.workers),
            "torch threads per worker": str(self.torch_threads),
            "drawing processes": str(self.settings.render_processes),
            "python threads": str(threading.active_count()),
            **self.compute.internals(),
            "kept explorations": (
                f"{len(memo)} ({memo.used / 2**20:.0f} of {memo.budget / 2**20:.0f} MiB; "
                f"{memo.hits} reused, {memo.misses} computed)"
            ),
            "gc frozen objects": f"{gc.get_freeze_count():,}",
            "gc collections": ", ".join(str(s["collections"]) for s in gc.get_stats()),
            "resident memory": _rss(),
        }
        return Snapshot(
            uptime_s=self.stats.uptime,
            gateway_latency_ms=None if latency is None else latency * 1000,
            models=self.compute.memory(),
            memory_budget=self.settings.model_memory_mb * 2**20,
            running=self.admission.running,
            waiting=self.admission.waiting,
            latencies=self.stats.latencies(),
            internals=internals,
            store=None if self.store is None else self.store.health(),
        )

    async def close(self) -> None:
        """Stop using the compute backend, finish running work and stop the pool; queued work
        is dropped."""
        await self.compute.close()
        await asyncio.to_thread(self._executor.shutdown, wait=True, cancel_futures=True)
        if self._renderers is not None:
            await self._renderers.close()


def carried(args: tuple[Any, ...]) -> int:
    """About how many bytes drawing arguments take pickled: their `nbytes` (arrays, kept
    results such as an exploration's attentions); nothing for the rest, which is small."""
    return sum(int(getattr(arg, "nbytes", 0)) for arg in args)


def _then_give_back(fn: Callable[..., T], /, *args: Any) -> T:
    try:
        return fn(*args)
    finally:
        give_back()


def _rss() -> str:
    try:
        with open("/proc/self/status") as status:
            for line in status:
                if line.startswith("VmRSS:"):
                    return f"{int(line.split()[1]) / 1024:.0f} MiB"
    except OSError:
        pass
    return "unknown"


class Job(Context):
    """One request's view of the runtime (`explorer.contract.Context`): it times compute and
    rendering, collects log fields, and holds the models it uses until `close`."""

    def __init__(
        self,
        runtime: Runtime,
        server: ServerSettings | None = None,
        user_id: int | None = None,
        language: str = SOURCE_LANGUAGE,
    ) -> None:
        self.language = language
        self._runtime = runtime
        self._server = server
        self._user_id = user_id
        self._held: dict[str, ModelCard] = {}
        self.compute_s = 0.0
        self.render_s = 0.0
        self.fields: dict[str, Any] = {}
        # Where an announced live reply goes (the chat's, for a command's answer).
        self.announced: Callable[[Live], None] | None = None

    @property
    @override
    def limits(self) -> Limits:
        return self._runtime.limits

    def _resolve(self, name: str | None) -> ModelSpec:
        return self._runtime.allowlist.resolve(name, self._server)

    @override
    async def model(self, name: str | None) -> ModelCard:
        spec = self._resolve(name)
        if spec.name not in self._held:
            self._held[spec.name] = await self._runtime.compute.hold(spec)
        self.fields["model"] = spec.name
        return self._held[spec.name]

    @override
    def peek(self, name: str | None) -> ModelCard | None:
        try:
            resolved = self._resolve(name).name
        except UserError:
            return None
        return self._runtime.compute.card(resolved)

    @override
    async def config(self, name: str | None) -> tuple[str, Any]:
        spec = self._resolve(name)
        config = await self._runtime.compute.config(spec)
        self.fields["model"] = spec.name
        return spec.name, config

    @override
    async def unreadable(self, name: str | None, pieces: tuple[str, ...]) -> tuple[str, ...]:
        return await self._runtime.compute.unreadable(self._resolve(name), pieces)

    async def _timed(self, stage: str, work: Awaitable[T]) -> T:
        started = time.perf_counter()
        try:
            return await work
        finally:
            setattr(self, stage, getattr(self, stage) + time.perf_counter() - started)

    @override
    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        return await self._timed("compute_s", self._runtime.run(fn, *args))

    @override
    async def render(self, fn: Callable[..., T], /, *args: Any) -> T:
        return await self._timed("render_s", self._runtime.render(fn, *args))

    @override
    def announce(self, live: Live) -> None:
        if self.announced is not None:  # once the drawing is sent off, which it would delay
            asyncio.get_running_loop().call_soon(self.announced, live)

    @override
    async def forward(
        self, card: ModelCard, request: ForwardRequest, finish: Callable[[Forwarded], T]
    ) -> T:
        await self.model(card.name)
        limit = self._runtime.settings.request_memory_mb * 2**20
        budgeted = replace(request, budget=Budget(limit, dimensions(card.config)))
        forwarded = self._runtime.compute.forward(self._resolve(card.name), budgeted, finish)
        return await self._timed("compute_s", forwarded)

    @override
    async def remember(self, key: Hashable, compute: Callable[[], Awaitable[M]]) -> M:
        return await self._runtime.memo.get(key, compute)

    @override
    def record(self, **fields: Any) -> None:
        self.fields.update(fields)

    @override
    def catalog(self, everything: bool = False) -> Catalog:
        compute = self._runtime.compute
        loaded = {model.name for model in compute.memory()}
        return self._runtime.allowlist.catalog(None if everything else self._server, loaded)

    @override
    async def server_settings(self) -> ServerSettings:
        if self._server is None:
            raise UserError(phrase("Server settings can be changed in a server only."))
        return self._server

    @override
    async def save_server_settings(self, settings: ServerSettings) -> None:
        store = self._runtime.store
        if store is None:
            raise UserError(phrase("This bot keeps no settings (it runs without a database)."))
        try:
            await store.save_server_settings(settings, self._user_id)
        except StoreError as error:
            raise UserError(
                phrase(
                    "The bot cannot reach its database right now; the settings were not changed."
                )
            ) from error
        self._server = settings

    @override
    def snapshot(self) -> Snapshot:
        return self._runtime.snapshot()

    @override
    async def load(self, name: str | None) -> ModelCard:
        spec = self._resolve(name)
        card = await self._runtime.compute.hold(spec)
        self._runtime.compute.release(spec.name)  # loaded, not held: unloading stays possible
        return card

    @override
    async def unload(self, name: str | None) -> str:
        return await self._runtime.compute.unload(self._runtime.allowlist.resolve(name))

    def close(self) -> None:
        """Release the models this job held."""
        for name in self._held:
            self._runtime.compute.release(name)
        self._held.clear()
