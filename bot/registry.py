"""The model allowlist: resolving names, loading once, and keeping a bounded LRU in memory."""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from commands.context import Catalog, CatalogEntry, LoadedModel
from commands.results import UserError

from .settings import ModelSpec

log = logging.getLogger(__name__)

Runner = Callable[..., Awaitable[Any]]


def _check_local(spec: ModelSpec) -> None:
    if spec.local and not (Path(spec.source) / "config.json").is_file():
        log.error("model %s: no config.json in %s", spec.name, spec.source)
        raise UserError(
            f"The model **{spec.name}** is configured from a local directory that is missing "
            "on this server. Ask the bot's operator to check the MODELS setting."
        )


def _load_failure(spec: ModelSpec, exc: Exception) -> UserError:
    log.warning("model %s could not be loaded from %s: %s", spec.name, spec.source, exc)
    if not spec.local and isinstance(exc, OSError):
        return UserError(
            f"The model **{spec.name}** could not be fetched from the Hugging Face Hub "
            f"(`{spec.source}`): it is not in this server's cache and the Hub cannot be reached."
        )
    return UserError(f"The model **{spec.name}** could not be loaded: {type(exc).__name__}.")


def read_config(spec: ModelSpec) -> Any:
    """`AutoConfig.from_pretrained` alone: no weights are read."""
    from transformers import AutoConfig

    _check_local(spec)
    try:
        return AutoConfig.from_pretrained(spec.source, trust_remote_code=False)
    except (OSError, ValueError, KeyError) as exc:
        raise _load_failure(spec, exc) from exc


def read_model(spec: ModelSpec) -> LoadedModel:
    """`AutoTokenizer` + `AutoModel` with eager attention, so attention weights are returned."""
    from transformers import AutoModel, AutoTokenizer

    _check_local(spec)
    try:
        tokenizer = AutoTokenizer.from_pretrained(spec.source, trust_remote_code=False)
        model = AutoModel.from_pretrained(
            spec.source, attn_implementation="eager", trust_remote_code=False
        )
    except (OSError, ValueError, KeyError) as exc:
        raise _load_failure(spec, exc) from exc
    model.eval()
    return LoadedModel(name=spec.name, tokenizer=tokenizer, model=model)


class ModelRegistry:
    """Allowlisted models; each is loaded at most once at a time and kept in an LRU."""

    def __init__(self, specs: tuple[ModelSpec, ...], capacity: int, run: Runner) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._default = specs[0].name
        self._capacity = capacity
        self._run = run
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._loading: dict[str, asyncio.Future[LoadedModel]] = {}
        self._configs: dict[str, Any] = {}

    def resolve(self, name: str | None) -> ModelSpec:
        """The spec for `name` (None or blank: the default); unknown names list the allowed."""
        key = (name or "").strip() or self._default
        spec = self._specs.get(key)
        if spec is None:
            allowed = ", ".join(f"`{allowed}`" for allowed in self._specs)
            shown = key if len(key) <= 60 else key[:59] + "…"
            raise UserError(
                f"`{shown.replace('`', 'ˋ')}` is not one of this bot's models. Allowed: {allowed}."
            )
        return spec

    async def config(self, name: str | None) -> tuple[str, Any]:
        spec = self.resolve(name)
        if spec.name in self._loaded:
            return spec.name, self._loaded[spec.name].config
        if spec.name not in self._configs:
            self._configs[spec.name] = await self._run(read_config, spec)
        return spec.name, self._configs[spec.name]

    async def model(self, name: str | None) -> LoadedModel:
        spec = self.resolve(name)
        loaded = self._loaded.get(spec.name)
        if loaded is not None:
            self._loaded.move_to_end(spec.name)
            return loaded
        pending = self._loading.get(spec.name)
        if pending is None:
            pending = asyncio.ensure_future(self._load(spec))
            self._loading[spec.name] = pending
        return await asyncio.shield(pending)

    async def _load(self, spec: ModelSpec) -> LoadedModel:
        try:
            log.info("loading model %s (%s)", spec.name, spec.origin)
            loaded = await self._run(read_model, spec)
        finally:
            del self._loading[spec.name]
        self._loaded[spec.name] = loaded
        while len(self._loaded) > self._capacity:
            evicted, _ = self._loaded.popitem(last=False)
            log.info("evicted model %s (keeping %d in memory)", evicted, self._capacity)
        return loaded

    def peek(self, name: str | None) -> LoadedModel | None:
        """The model if it is loaded now (never loads; unknown names give None)."""
        try:
            return self._loaded.get(self.resolve(name).name)
        except UserError:
            return None

    def catalog(self) -> Catalog:
        return Catalog(
            tuple(
                CatalogEntry(spec.name, spec.origin, spec.name in self._loaded)
                for spec in self._specs.values()
            )
        )
