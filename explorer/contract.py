"""The contract between the bot and the command handlers, in one place.

A handler receives a `Context` (the runtime's services for one request), returns a `Reply`
(text and files, optionally a live reply the chat keeps stepping: `explorer.live`) and raises
`UserError` for a mistake the user can fix. Model work travels as a `ForwardRequest`; its
result is made on the worker, next to the model, by the handler's `finish` from a
`Forwarded`.
"""

from __future__ import annotations

import threading
from collections.abc import Awaitable, Callable, Hashable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol, TypeVar

from explorer.i18n import SOURCE_LANGUAGE, phrase, tell
from explorer.text import token_count

T = TypeVar("T")


class Measured(Protocol):
    """Anything that knows its size in bytes."""

    @property
    def nbytes(self) -> int:
        """Its size in bytes."""
        ...


M = TypeVar("M", bound=Measured)

DISCORD_MESSAGE_LIMIT = 2000

Task = Literal["base", "masked-lm", "causal-lm", "seq2seq", "classification"]
TASK_NAMES: dict[str, str] = {
    "base": phrase("base model (no head)"),
    "masked-lm": phrase("masked language model"),
    "causal-lm": phrase("causal language model"),
    "seq2seq": phrase("encoder–decoder (sequence to sequence)"),
    "classification": phrase("sequence classifier"),
}


class UserError(Exception):
    """A problem the user can fix; its message is shown to them as is."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply."""

    filename: str
    data: bytes
    description: str = ""


# A live reply's state: JSON values only (dicts, lists, strings, numbers, booleans, None), so
# that it reads back from the store equal to what was kept.
State = Mapping[str, Any]


@dataclass(frozen=True)
class Live:
    """A reply the chat steps through: its kind's name and its state (`explorer.live`)."""

    kind: str
    state: State


@dataclass(frozen=True)
class Reply:
    """A message: text plus attachments, sized to fit one Discord message; `live` makes it a
    live reply, which the chat attaches its kind's controls to."""

    content: str
    attachments: tuple[Attachment, ...] = ()
    live: Live | None = None


def reply_with_overflow(
    header: str,
    block: str,
    filename: str,
    *,
    language: str = "",
    attachments: tuple[Attachment, ...] = (),
    limit: int = DISCORD_MESSAGE_LIMIT,
    reader: str = SOURCE_LANGUAGE,
) -> Reply:
    """`header` plus `block` in a code block, or the block as an attached file if too long
    (said in the `reader`'s language)."""
    inline = f"{header}\n```{language}\n{block}\n```"
    if len(inline) <= limit:
        return Reply(inline, attachments)
    attached = phrase("(The full output is attached as `{filename}`.)", filename=filename)
    note = f"{header}\n{tell(attached, reader)}"
    return Reply(note[:limit], (Attachment(filename, block.encode()), *attachments))


@dataclass(frozen=True)
class Limits:
    """Bounds on the work one request may ask for."""

    max_input_chars: int
    max_heatmap_tokens: int


@dataclass(frozen=True)
class ModelCard:
    """What a handler may know of a loaded model before running it: its task, shapes and
    limits. Cheap to copy; the weights stay with the runtime."""

    name: str
    architecture: str
    task: Task
    config: Any
    max_tokens: int
    layers: int
    heads: int
    decoder_layers: int = 0  # encoder–decoder models: the decoder's stack
    decoder_heads: int = 0
    untrained_head: tuple[str, ...] = ()  # head weights the checkpoint did not ship
    mask_token: str | None = None
    word_marker: str = ""  # "##" (WordPiece), "Ġ" (byte-level BPE), "▁" (SentencePiece) or ""
    nbytes: int = 0

    @property
    def encoder_decoder(self) -> bool:
        """Whether it has a decoder reading the encoder (T5, BART, Marian)."""
        return self.task == "seq2seq"


@dataclass(frozen=True, eq=False)
class LoadedModel:
    """A model with its head and its tokenizer; `lock` serialises tokenizer calls (fast
    tokenizers are not safe to reconfigure from two threads at once)."""

    card: ModelCard
    tokenizer: Any
    model: Any
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def name(self) -> str:
        """The name users type."""
        return self.card.name

    @property
    def base(self) -> Any:
        """The model without its head (shared with it: one set of weights)."""
        return self.model.base_model


@dataclass(frozen=True)
class Dimensions:
    """The sizes of a model that decide its activations' size."""

    layers: int
    heads: int
    hidden: int
    intermediate: int
    vocab: int
    decoder_layers: int = 0
    decoder_heads: int = 0


@dataclass(frozen=True)
class Budget:
    """The bytes one request (or one batch) may take, and the model's sizes to estimate with."""

    limit: int
    dimensions: Dimensions


@dataclass(frozen=True)
class Encoding:
    """The tokenizer's output for one text (or pair), as plain tuples. `offsets` are each
    token's character span in its own segment's text; `segments` say which text (0 or 1) a
    token came from, None for special tokens."""

    tokens: tuple[str, ...]
    input_ids: tuple[int, ...]
    token_type_ids: tuple[int, ...] | None
    attention_mask: tuple[int, ...]
    special: tuple[bool, ...]
    untruncated_length: int
    offsets: tuple[tuple[int, int], ...] = ()
    segments: tuple[int | None, ...] = ()
    marker: str = ""  # how the tokenizer marks words: "##" continues one, "Ġ"/"▁" start one
    unknown: tuple[str, ...] = ()  # what each unknown token stands for in the text ("" unknown)

    def __len__(self) -> int:
        return len(self.input_ids)

    @property
    def truncated(self) -> bool:
        """Whether tokens were cut to fit the model."""
        return self.untruncated_length > len(self.input_ids)

    @property
    def segment_boundary(self) -> int | None:
        """Index of the first token of the second segment, if this is a pair."""
        if self.segments:
            return next((i for i, segment in enumerate(self.segments) if segment == 1), None)
        if self.token_type_ids is None:
            return None
        first = self.token_type_ids[0]
        return next((i for i, kind in enumerate(self.token_type_ids) if kind != first), None)

    def truncation_notice(self) -> str:
        """A warning line when tokens were cut, else nothing."""
        if not self.truncated:
            return ""
        return phrase(
            "⚠️ Input truncated to {tokens} (it had {count:,}).",
            tokens=token_count(len(self.input_ids)),
            count=self.untruncated_length,
        )


@dataclass(frozen=True)
class ForwardRequest:
    """One input for the model: a text (or pair), tokenised on the worker and capped at
    `max_tokens`. `run` says what runs: nothing (tokenise only), the base model, or the model
    with its head. An encoder–decoder model's decoder reads `target`, or its own greedy
    output when there is none; a causal model can continue the text greedily by
    `continuation` tokens."""

    text: str
    text_pair: str | None = None
    max_tokens: int = 512
    run: Literal["none", "base", "head"] = "base"
    attentions: bool = False
    hidden_states: bool = False
    target: str | None = None
    continuation: int = 0
    budget: Budget | None = None  # the memory it may take (set by the runtime; None: any)

    @property
    def batch_key(self) -> tuple[str, bool, bool]:
        """Requests with equal keys can share one padded pass."""
        return (self.run, self.attentions, self.hidden_states)


@dataclass(frozen=True)
class ForwardOutput:
    """One input's share of the model's outputs: the output class name and its fields."""

    type_name: str
    fields: dict[str, Any]


@dataclass(frozen=True)
class Forwarded:
    """What a `finish` works from, on the worker: the model, the input's encoding, its
    outputs (None when only tokenised), for encoder–decoder models the decoder's input, and
    the greedy continuation asked for."""

    model: LoadedModel
    encoding: Encoding
    output: ForwardOutput | None
    target: Encoding | None = None
    continuation: tuple[int, ...] = ()  # greedily decoded tokens after the text


# What a request's `finish` turns its forward pass into, next to the model.
Finish = Callable[[Forwarded], Any]
# One request of a batch: its input and how it is finished.
Item = tuple[ForwardRequest, Finish]
# What one request of a pass came to: its finished result, or the error that stopped it.
Outcome = tuple[Any, Exception | None]


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
        """The default model's name."""
        return self.entries[0].name

    @property
    def names(self) -> tuple[str, ...]:
        """Every allowed name, default first."""
        return tuple(entry.name for entry in self.entries)


@dataclass(frozen=True)
class ServerSettings:
    """What a server's managers chose: a default model and a narrower allowlist (None: the
    operator's default and every model the operator allows)."""

    guild_id: int
    default_model: str | None = None
    allowed: tuple[str, ...] | None = None


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
    store: str | None = None  # the database and how its writes go; None: nothing is kept


class Context(Protocol):
    """The runtime services a handler uses for one request, and the language its reader's
    Discord (or the console) is set to."""

    language: str = SOURCE_LANGUAGE  # as Discord spells it: `zh-CN`, `en-US`

    def tell(self, text: str) -> str:
        """`text` (a `phrase`, or a text the catalogue has) in the reader's language."""
        return tell(text, self.language)

    @property
    def limits(self) -> Limits:
        """Bounds on inputs."""
        ...

    async def model(self, name: str | None) -> ModelCard:
        """The model called `name` (None: the default), loaded and held for this request."""
        ...

    def peek(self, name: str | None) -> ModelCard | None:
        """The model called `name` if it is loaded now (never loads; unknown names: None)."""
        ...

    async def config(self, name: str | None) -> tuple[str, Any]:
        """The resolved model name and its `AutoConfig`, without loading weights."""
        ...

    async def unreadable(self, name: str | None, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """The pieces of text the model's tokenizer reads only with its unknown token (its
        tokenizer alone is read, not its weights)."""
        ...

    async def forward(
        self, card: ModelCard, request: ForwardRequest, finish: Callable[[Forwarded], T]
    ) -> T:
        """Tokenise the request and run the model, batched with concurrent requests, then
        `finish(forwarded)`, all in one trip to a worker."""
        ...

    async def run(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run blocking work off the event loop."""
        ...

    async def render(self, fn: Callable[..., T], /, *args: Any) -> T:
        """Run drawing work off the event loop (timed apart from computing)."""
        ...

    def announce(self, live: Live) -> None:
        """Say, before drawing it, which live reply a command answers with: the chat starts
        keeping it (and making its controls) while the picture is drawn, instead of after.
        A live reply not announced, or drawn otherwise, is kept when it is sent."""

    async def remember(self, key: Hashable, compute: Callable[[], Awaitable[M]]) -> M:
        """`compute()`'s result, kept under `key` within the runtime's byte budget (the result
        has `nbytes`); computed again once dropped."""
        ...

    def record(self, **fields: Any) -> None:
        """Note facts about this request (e.g. its token count) for its log line."""
        ...

    def catalog(self, everything: bool = False) -> Catalog:
        """The models this request may use (with `everything`: all the operator allows,
        whatever the server chose)."""
        ...

    async def server_settings(self) -> ServerSettings:
        """The choices of the server the request came from (UserError outside a server)."""
        ...

    async def save_server_settings(self, settings: ServerSettings) -> None:
        """Keep the server's new choices (committed when this returns)."""
        ...

    def snapshot(self) -> Snapshot:
        """The runtime's state now."""
        ...

    async def load(self, name: str | None) -> ModelCard:
        """Load a model now (management)."""
        ...

    async def unload(self, name: str | None) -> str:
        """Drop a loaded model (management); returns its name."""
        ...
