"""Where model work runs, behind one interface: in this process (`LocalCompute`: the bounded
worker pool and the model registry; the default) or on Ray Serve (`bot.ray_compute.RayCompute`,
with `COMPUTE_BACKEND=ray`); `bot.backends` picks one. Either way the bot's batcher groups
requests into passes, a request's `finish` runs next to the model and only its result comes
back; pictures are drawn in the bot."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from explorer.contract import Forwarded, ForwardRequest, ModelCard, ModelMemory

from .batching import Batcher, Runner, on_workers
from .registry import ModelRegistry
from .settings import ModelSpec, Settings

T = TypeVar("T")


class ComputeError(Exception):
    """The compute backend cannot be started; the message is one line for the operator."""


class Compute(Protocol):
    """Loads allowlisted models and runs forward passes on them."""

    batcher: Batcher  # groups this process's requests into passes

    async def start(self) -> None:
        """Get ready for model work (a remote backend connects and deploys here)."""
        ...

    async def hold(self, spec: ModelSpec) -> ModelCard:
        """The model's card, loading it if needed; kept loaded until `release`."""
        ...

    def release(self, name: str) -> None:
        """Undo one `hold`."""
        ...

    async def config(self, spec: ModelSpec) -> Any:
        """The model's `AutoConfig`, read without its weights."""
        ...

    async def unreadable(self, spec: ModelSpec, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """The pieces of text the model's tokenizer reads only with its unknown token
        (without loading its weights)."""
        ...

    async def forward(
        self, spec: ModelSpec, request: ForwardRequest, finish: Callable[[Forwarded], T]
    ) -> T:
        """`finish(forwarded)` for the request, run next to the model after a pass that may be
        shared with other requests."""
        ...

    async def unload(self, spec: ModelSpec) -> str:
        """Drop a loaded model from memory; its name."""
        ...

    def card(self, name: str) -> ModelCard | None:
        """The card of a model known to be loaded (never loads)."""
        ...

    def memory(self) -> tuple[ModelMemory, ...]:
        """The loaded models, with their bytes and holds."""
        ...

    def internals(self) -> dict[str, str]:
        """Rows for `/admin internals`."""
        ...

    async def close(self) -> None:
        """Stop using the backend."""
        ...


class LocalCompute:
    """Model work in this process: a bounded LRU of models and dynamic batching, on `run`
    (the runtime's worker pool)."""

    def __init__(self, settings: Settings, run: Runner) -> None:
        self.registry = ModelRegistry(
            settings.models,
            settings.max_loaded_models,
            run,
            memory_budget=settings.model_memory_mb * 2**20,
        )
        self.batcher = Batcher(
            on_workers(run), settings.batch_window_ms, settings.max_batch, settings.workers
        )

    async def start(self) -> None:
        """Nothing to start: the worker pool is the runtime's."""

    async def hold(self, spec: ModelSpec) -> ModelCard:
        """The model's card; it is not evicted until `release`."""
        return (await self.registry.acquire(spec.name)).card

    def release(self, name: str) -> None:
        """Let the model be evicted again."""
        self.registry.release(name)

    async def config(self, spec: ModelSpec) -> Any:
        """The config, from the loaded model or read alone."""
        return (await self.registry.config(spec.name))[1]

    async def unreadable(self, spec: ModelSpec, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """Looked up with the loaded tokenizer, or one read alone."""
        return await self.registry.unreadable(spec.name, pieces)

    async def forward(
        self, spec: ModelSpec, request: ForwardRequest, finish: Callable[[Forwarded], T]
    ) -> T:
        """The request through the batcher, the model held meanwhile."""
        loaded = await self.registry.acquire(spec.name)
        try:
            result: T = await self.batcher.forward(loaded, request, finish)
            return result
        finally:
            self.registry.release(spec.name)

    async def unload(self, spec: ModelSpec) -> str:
        """Drop the model (refused while in use)."""
        return self.registry.unload(spec.name)

    def card(self, name: str) -> ModelCard | None:
        """The card if loaded."""
        return self.registry.card(name)

    def memory(self) -> tuple[ModelMemory, ...]:
        """Loaded models, least recently used first."""
        return self.registry.memory()

    def internals(self) -> dict[str, str]:
        """How much batching there was."""
        return {"compute": "local", "batches run": self.batcher.summary()}

    async def close(self) -> None:
        """Nothing to close: the worker pool is the runtime's."""
