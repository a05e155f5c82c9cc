"""What handlers need from the runtime: loaded models, an executor and limits."""

from __future__ import annotations

import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

if TYPE_CHECKING:
    from commands.encoding import Encoding

T = TypeVar("T")

# Tokenizers whose model_max_length is unset report a huge sentinel instead.
_UNSET_MAX_LENGTH = 1_000_000


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one request may ask for."""

    max_input_chars: int = 2000
    max_heatmap_tokens: int = 64


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A tokenizer and model pair; `lock` serialises tokenizer calls (fast tokenizers are not
    safe to reconfigure from two threads at once)."""

    name: str
    tokenizer: Any
    model: Any
    nbytes: int = 0  # parameters and buffers
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def config(self) -> Any:
        return self.model.config

    @property
    def max_tokens(self) -> int:
        """The longest input the model accepts, special tokens included."""
        limits = [getattr(self.config, "max_position_embeddings", None)]
        tokenizer_max = getattr(self.tokenizer, "model_max_length", None)
        if tokenizer_max and tokenizer_max < _UNSET_MAX_LENGTH:
            limits.append(tokenizer_max)
        known = [int(limit) for limit in limits if limit]
        return min(known) if known else 512


@dataclass(frozen=True)
class CatalogEntry:
    """One allowlisted model as `/models` shows it."""

    name: str
    origin: str
    loaded: bool


@dataclass(frozen=True)
class Catalog:
    """The allowlist, default first."""

    entries: tuple[CatalogEntry, ...]

    @property
    def default(self) -> str:
        return self.entries[0].name


@dataclass(frozen=True)
class ModelMemory:
    """A loaded model's size and how many running commands hold it."""

    name: str
    nbytes: int
    holds: int


@dataclass(frozen=True)
class CommandLatency:
    """End-to-end latency of one command since start."""

    command: str
    count: int
    failed: int
    p50_ms: float
    p95_ms: float


@dataclass(frozen=True)
class Snapshot:
    """The runtime's state, as `/status` shows it."""

    uptime_s: float
    gateway_latency_ms: float | None
    models: tuple[ModelMemory, ...]
    memory_budget: int
    running: int
    waiting: int
    latencies: tuple[CommandLatency, ...]
    internals: dict[str, str]


@dataclass(frozen=True)
class ForwardRequest:
    """One input for `model(**inputs)`: a text (or pair), tokenised on the worker and capped
    at `max_tokens`, run with or without attention weights."""

    text: str
    text_pair: str | None
    max_tokens: int
    attentions: bool


@dataclass(frozen=True)
class ForwardOutput:
    """One input's share of `model(**inputs)`: the output class name and its fields."""

    type_name: str
    fields: dict[str, Any]


class Context(Protocol):
    """The runtime services a handler uses."""

    @property
    def limits(self) -> Limits: ...

    async def model(self, name: str | None) -> LoadedModel:
        """The loaded model called `name` (None: the default)."""
        ...

    async def config(self, name: str | None) -> tuple[str, Any]:
        """The resolved model name and its `AutoConfig`, without loading weights."""
        ...

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run blocking work off the event loop."""
        ...

    async def render(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run drawing work off the event loop (timed apart from computing)."""
        ...

    async def forward(
        self,
        loaded: LoadedModel,
        request: ForwardRequest,
        finish: Callable[[Encoding, ForwardOutput], T],
    ) -> T:
        """Tokenise the request and run `model(**inputs)`, batched with concurrent requests,
        then `finish(encoding, output)`, all in one trip to a worker."""
        ...

    def record(self, **fields: Any) -> None:
        """Note facts about this request (e.g. its token count) for the command's log line."""
        ...

    def catalog(self) -> Catalog: ...

    def snapshot(self) -> Snapshot: ...

    async def load(self, name: str | None) -> LoadedModel:
        """Load a model now (management)."""
        ...

    def unload(self, name: str | None) -> str:
        """Drop a loaded model (management); returns its name."""
        ...
