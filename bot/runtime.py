"""The runtime behind every command: a bounded executor and the model registry."""

from __future__ import annotations

import asyncio
import functools
import os
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from commands.context import Catalog, Limits, LoadedModel

from .registry import ModelRegistry
from .settings import Settings

T = TypeVar("T")


def quiet_transformers() -> None:
    """No progress bars or advisory warnings from model loading in the bot's output."""
    from transformers.utils import logging as hf_logging

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()


class Runtime:
    """Implements `commands.context.Context`: all blocking work runs in a bounded pool."""

    def __init__(self, settings: Settings) -> None:
        import torch

        quiet_transformers()
        # Each worker gets its share of the cores: oversubscribed torch threads run slower.
        torch.set_num_threads(max(1, (os.cpu_count() or 1) // settings.workers))
        self._limits = settings.limits
        self._executor = ThreadPoolExecutor(
            max_workers=settings.workers, thread_name_prefix="explorer-worker"
        )
        self.registry = ModelRegistry(settings.models, settings.max_loaded_models, self.run)

    @property
    def limits(self) -> Limits:
        return self._limits

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, functools.partial(fn, *args))

    async def model(self, name: str | None) -> LoadedModel:
        return await self.registry.model(name)

    async def config(self, name: str | None) -> tuple[str, Any]:
        return await self.registry.config(name)

    def catalog(self) -> Catalog:
        return self.registry.catalog()

    def close(self) -> None:
        """Finish running work and stop the pool; queued work is dropped."""
        self._executor.shutdown(wait=True, cancel_futures=True)
