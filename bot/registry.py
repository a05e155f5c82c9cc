"""The model allowlist (resolving names, per server) and the registry that loads models once
and keeps a bounded LRU of them in memory."""

from __future__ import annotations

import asyncio
import gc
import logging
import re
import threading
from collections import Counter, OrderedDict
from collections.abc import Awaitable, Callable, Collection
from pathlib import Path
from typing import Any, TypeVar

from explorer.contract import (
    Catalog,
    CatalogEntry,
    LoadedModel,
    ModelCard,
    ModelMemory,
    ServerSettings,
    UserError,
)
from explorer.encoding import unreadable
from explorer.i18n import phrase, plural_phrase
from explorer.models import PickleRefused, TokenizerMissing, load, parameter_count
from explorer.text import escape_markdown, quote_inline

from .settings import ModelSpec

log = logging.getLogger(__name__)

Runner = Callable[..., Awaitable[Any]]
T = TypeVar("T")


def allowed_root(root: Path) -> Path:
    """Where a local model's files may point: its own directory, or, for a snapshot in the
    Hugging Face cache (`models--org--name/snapshots/<sha>`, whose files link into the
    repository's `blobs/`), that cached repository."""
    real = root.resolve()
    if real.parent.name == "snapshots" and real.parent.parent.name.startswith("models--"):
        return real.parent.parent
    return real


def _check_local(spec: ModelSpec) -> None:
    """A local model's directory exists, and no file in it (a symlink) points outside it
    (or outside its cached repository)."""
    if not spec.local:
        return
    root = Path(spec.source)
    if not (root / "config.json").is_file():
        log.error("model %s: no config.json in %s", spec.name, spec.source)
        raise UserError(
            phrase(
                "The model **{name}** is configured from a local directory that is missing "
                "on this server. Ask the bot's operator to check the MODELS setting.",
                name=spec.name,
            )
        )
    allowed = allowed_root(root)
    for path in root.rglob("*"):
        if not path.resolve().is_relative_to(allowed):
            log.error("model %s: %s points outside %s", spec.name, path, allowed)
            raise UserError(
                phrase(
                    "The model **{name}** was not loaded: a file in its directory points "
                    "outside it. Ask the bot's operator to check it.",
                    name=spec.name,
                )
            )


def explain(exc: Exception) -> str:
    """Why a model could not be loaded, in words an operator can act on (no local paths)."""
    message = str(exc)
    if isinstance(exc, TokenizerMissing | PickleRefused):
        return exc.args[0]  # a phrase
    if isinstance(exc, ValueError | KeyError) and (
        "model type" in message or "Unrecognized model" in message
    ):
        import transformers

        kind = re.search(r"model type `?'?([\w-]+)", message)
        named = (
            phrase("model type `{kind}`", kind=kind.group(1)) if kind else phrase("a model type")
        )
        return phrase(
            "its config.json names {named}, which transformers {version} does not know "
            "(upgrade transformers, or check the config)",
            named=named,
            version=transformers.__version__,
        )
    if isinstance(exc, OSError):
        missing = re.search(
            r"(?:named|file) ([\w.-]+\.(?:json|safetensors|bin|model|txt))", message
        )
        if missing:
            return phrase("its directory has no `{file}`", file=missing.group(1))
        return phrase("its files could not be read")
    if "tokenizer" in message.lower():
        return phrase("its tokenizer could not be built from its files")
    detail = escape_markdown(message.splitlines()[0][:120]) if message else phrase("no detail")
    return f"{type(exc).__name__}: {detail}"


def _load_failure(spec: ModelSpec, exc: Exception) -> UserError:
    log.warning("model %s could not be loaded from %s: %s", spec.name, spec.source, exc)
    if not spec.local and isinstance(exc, OSError):
        return UserError(
            phrase(
                "The model **{name}** could not be fetched from the Hugging Face Hub "
                "(`{source}`): it is not in this server's cache and the Hub cannot be reached.",
                name=spec.name,
                source=spec.source,
            )
        )
    return UserError(
        phrase("The model **{name}** could not be loaded: {why}.", name=spec.name, why=explain(exc))
    )


def _read(spec: ModelSpec, reader: Callable[[], T]) -> T:
    """`reader()` on a model's files, its failures explained to the user."""
    _check_local(spec)
    try:
        return reader()
    except (OSError, ValueError, KeyError) as exc:
        raise _load_failure(spec, exc) from exc


def read_config(spec: ModelSpec) -> Any:
    """`AutoConfig.from_pretrained` alone: no weights are read."""
    from transformers import AutoConfig

    return _read(
        spec,
        lambda: AutoConfig.from_pretrained(
            spec.source, revision=spec.revision, trust_remote_code=False
        ),
    )


def read_tokenizer(spec: ModelSpec) -> Any:
    """`AutoTokenizer.from_pretrained` alone: no weights are read."""
    from transformers import AutoTokenizer

    return _read(
        spec,
        lambda: AutoTokenizer.from_pretrained(
            spec.source, revision=spec.revision, trust_remote_code=False
        ),
    )


def read_model(spec: ModelSpec) -> LoadedModel:
    """The model with its head and its tokenizer, loaded under the bot's rules."""
    return _read(spec, lambda: load(spec.name, spec.source, spec.revision, spec.allow_pickle))


def _unreadable(tokenizer: Any, lock: threading.Lock, pieces: tuple[str, ...]) -> tuple[str, ...]:
    with lock:  # a tokenizer call may reconfigure it: one call at a time
        return unreadable(tokenizer, pieces)


def size(nbytes: float) -> str:
    """`147 MiB`, `27.9 GiB`."""
    return f"{nbytes / 2**30:.1f} GiB" if nbytes >= 2**30 else f"{nbytes / 2**20:.0f} MiB"


class Allowlist:
    """The operator's models (the first is the default), and each server's narrower choice."""

    def __init__(self, specs: tuple[ModelSpec, ...]) -> None:
        self._specs = {spec.name: spec for spec in specs}
        self._default = specs[0].name

    def allowed(self, server: ServerSettings | None = None) -> tuple[str, ...]:
        """The models a server may use, default first: the operator's allowlist, narrowed by
        the server's own (never widened)."""
        names = [
            name
            for name in self._specs
            if server is None or server.allowed is None or name in server.allowed
        ]
        default = server.default_model if server is not None else None
        if default in names:
            names.remove(default)
            names.insert(0, default)
        return tuple(names) or (self._default,)

    def resolve(self, name: str | None, server: ServerSettings | None = None) -> ModelSpec:
        """The spec for `name` (None: the default) among the models a server may use; an
        empty name, or any other, gets a reply listing those."""
        allowed = self.allowed(server)
        key = allowed[0] if name is None else name.strip()
        if key not in allowed:
            narrowed = server is not None and server.allowed is not None
            whose = phrase("this server's") if narrowed else phrase("this bot's")
            names = ", ".join(f"`{name}`" for name in allowed)
            if not key:
                raise UserError(
                    phrase(
                        "The model name is empty: choose one of {whose} models ({names}), "
                        "or leave the option out for the default.",
                        whose=whose,
                        names=names,
                    )
                )
            base, at, _ = key.partition("@")
            pinned = (
                phrase(
                    " A revision is pinned by the bot's operator (in `MODELS`), not typed: "
                    "use `{base}`.",
                    base=base,
                )
                if at and base in allowed
                else ""
            )
            raise UserError(
                phrase(
                    "{name} is not one of {whose} models. Allowed: {names}.{pinned}",
                    name=quote_inline(key, 60),
                    whose=whose,
                    names=names,
                    pinned=pinned,
                )
            )
        return self._specs[key]

    def catalog(self, server: ServerSettings | None, loaded: Collection[str]) -> Catalog:
        """The models a server may use (default first), with which are `loaded` now."""
        return Catalog(
            tuple(
                CatalogEntry(name, self._specs[name].origin, name in loaded)
                for name in self.allowed(server)
            )
        )


class ModelRegistry:
    """Allowlisted models: loaded one at a time, each at most once, kept in memory within a
    count and a byte budget, least recently used evicted first, never while a job holds it."""

    def __init__(
        self,
        specs: tuple[ModelSpec, ...],
        capacity: int,
        run: Runner,
        memory_budget: int = 4 * 2**30,
    ) -> None:
        self._allowlist = Allowlist(specs)
        self._capacity = capacity
        self._budget = memory_budget
        self._run = run
        self._loaded: OrderedDict[str, LoadedModel] = OrderedDict()
        self._loading: dict[str, asyncio.Future[LoadedModel]] = {}
        self._load_lock = asyncio.Lock()
        self._holds: Counter[str] = Counter()
        self._configs: dict[str, Any] = {}
        self._tokenizers: dict[str, tuple[Any, threading.Lock]] = {}  # read without a model
        self._parameters: dict[str, int | None] = {}

    def resolve(self, name: str | None) -> ModelSpec:
        """The spec for `name` (None or blank: the default)."""
        return self._allowlist.resolve(name)

    async def config(self, name: str | None) -> tuple[str, Any]:
        """The resolved name and the model's config (read without its weights)."""
        spec = self.resolve(name)
        if spec.name in self._loaded:
            return spec.name, self._loaded[spec.name].card.config
        if spec.name not in self._configs:
            self._configs[spec.name] = await self._run(read_config, spec)
        return spec.name, self._configs[spec.name]

    async def unreadable(self, name: str | None, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """The pieces of text the model's tokenizer reads only with its unknown token (the
        tokenizer alone is read when the model is not loaded)."""
        spec = self.resolve(name)
        loaded = self._loaded.get(spec.name)
        if loaded is not None:
            return await self._run(_unreadable, loaded.tokenizer, loaded.lock, pieces)
        if spec.name not in self._tokenizers:
            tokenizer = await self._run(read_tokenizer, spec)
            self._tokenizers.setdefault(spec.name, (tokenizer, threading.Lock()))
        return await self._run(_unreadable, *self._tokenizers[spec.name], pieces)

    async def model(self, name: str | None) -> LoadedModel:
        """The loaded model, loading it first if needed (waiting for a load in progress)."""
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

    async def acquire(self, name: str | None) -> LoadedModel:
        """Like `model`, and the model cannot be evicted until `release`."""
        loaded = await self.model(name)
        self._holds[loaded.name] += 1
        return loaded

    def release(self, name: str) -> None:
        """Let a held model be evicted again (once no job holds it)."""
        self._holds[name] -= 1
        if self._holds[name] <= 0:
            del self._holds[name]
            self._evict()

    async def _check_fits(self, spec: ModelSpec) -> None:
        if spec.name not in self._parameters:  # a model evicted and loaded again is not recounted
            _, config = await self.config(spec.name)
            self._parameters[spec.name] = await self._run(parameter_count, config)
        parameters = self._parameters[spec.name]
        if parameters is not None and parameters * 4 > self._budget:
            raise UserError(
                phrase(
                    "The model **{name}** needs about {needs}, more than this bot's model "
                    "memory ({budget}).",
                    name=spec.name,
                    needs=size(parameters * 4),
                    budget=size(self._budget),
                )
            )

    async def _load(self, spec: ModelSpec) -> LoadedModel:
        try:
            async with self._load_lock:  # one load at a time: loads are memory spikes
                await self._check_fits(spec)
                log.info("loading model %s (%s)", spec.name, spec.origin)
                loaded = await self._run(read_model, spec)
                self._loaded[spec.name] = loaded
                self._evict()
                # Models add ~10^5 long-lived objects; freezing them keeps later full garbage
                # collections (which pause every thread, the event loop too) short.
                gc.collect()
                gc.freeze()
        finally:
            del self._loading[spec.name]
        log.info("loaded model %s as %s (%s)", spec.name, loaded.card.architecture,
                 size(loaded.card.nbytes))  # fmt: skip
        return loaded

    def _over_budget(self) -> bool:
        used = sum(model.card.nbytes for model in self._loaded.values())
        return len(self._loaded) > self._capacity or used > self._budget

    def _evict(self) -> None:
        """Drop the least recently used models that no job holds until within the count and
        byte budget; the most recently used model always stays."""
        while len(self._loaded) > 1 and self._over_budget():
            newest = next(reversed(self._loaded))
            victim = next(
                (name for name in self._loaded if name != newest and not self._holds[name]), None
            )
            if victim is None:
                log.warning("over the model budget while models are in use; evicting later")
                return
            del self._loaded[victim]
            log.info("evicted model %s", victim)

    def unload(self, name: str | None) -> str:
        """Drop a loaded model from memory; refused while a command uses it."""
        spec = self.resolve(name)
        if spec.name not in self._loaded:
            raise UserError(phrase("The model **{name}** is not loaded.", name=spec.name))
        if self._holds[spec.name]:
            raise UserError(
                plural_phrase(
                    "The model **{name}** is in use by {count} running command; try again "
                    "when it finishes.",
                    "The model **{name}** is in use by {count} running commands; try again "
                    "when they finish.",
                    self._holds[spec.name],
                    name=spec.name,
                )
            )
        del self._loaded[spec.name]
        gc.collect()
        return spec.name

    def peek(self, name: str | None) -> LoadedModel | None:
        """The model if it is loaded now (never loads; unknown names give None)."""
        try:
            return self._loaded.get(self.resolve(name).name)
        except UserError:
            return None

    def memory(self) -> tuple[ModelMemory, ...]:
        """Loaded models, most recently used last, with their bytes and current holds."""
        return tuple(
            ModelMemory(name, model.card.nbytes, self._holds[name])
            for name, model in self._loaded.items()
        )

    def card(self, name: str | None) -> ModelCard | None:
        """The card of a loaded model (never loads; unknown names give None)."""
        loaded = self.peek(name)
        return None if loaded is None else loaded.card
