"""What one request may cost in memory: estimated from the model's config and the token count
before any forward pass, and the reply that says what to shorten when it is too much. Pure
functions; the worker checks each request with its real token count, the batcher forms
batches with an upper bound of it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any, Protocol, runtime_checkable

from explorer.contract import Budget, Dimensions, ForwardRequest, UserError
from explorer.i18n import phrase
from explorer.models import shapes
from explorer.text import token_count

FLOAT_BYTES = 4  # float32 activations
PIXEL_BYTES = 4  # what a drawn picture costs per pixel while it is drawn and encoded
PICTURE_PIXELS = 16 * 2**20  # the largest picture drawn (64 MiB); longer content is paged
GREEDY_DECODER_TOKENS = 13  # the decoder's start token and DEFAULT_TARGET_TOKENS
WORK_BYTES = 256 * 2**20  # what a finish's own batched passes aim to stay within


def _size(config: Any, *names: str) -> int:
    return next((int(v) for n in names if isinstance(v := getattr(config, n, None), int)), 0)


def dimensions(config: Any) -> Dimensions:
    """A model's `Dimensions` from its config (BERT, GPT-2, Llama, T5 and kin)."""
    layers, heads, decoder_layers, decoder_heads = shapes(config)
    hidden = _size(config, "hidden_size", "n_embd", "d_model")
    intermediate = _size(config, "intermediate_size", "n_inner", "d_ff") or 4 * hidden
    vocab = _size(config, "vocab_size")
    return Dimensions(layers, heads, hidden, intermediate, vocab, decoder_layers, decoder_heads)


def decoder_tokens(dims: Dimensions, target_tokens: int | None) -> int:
    """The decoder's length: its target's, or the greedy output's at most (0: no decoder)."""
    if not dims.decoder_layers:
        return 0
    return target_tokens if target_tokens is not None else GREEDY_DECODER_TOKENS


def output_bytes(dims: Dimensions, request: ForwardRequest, tokens: int, decoded: int = 0) -> int:
    """Bytes of the tensors one pass returns for one input of `tokens` tokens (`decoded`
    decoder tokens): last hidden state or logits, and hidden states and attentions if asked."""
    if request.run == "none":
        return 0
    # An encoder–decoder model's outputs follow the decoder, and it runs with its head.
    logits = request.run == "head" or bool(decoded)
    floats = (decoded or tokens) * (dims.vocab if logits else dims.hidden)
    if decoded:
        floats += tokens * dims.hidden  # the encoder's last hidden state
    if request.hidden_states:
        floats += (dims.layers + 1) * tokens * dims.hidden
        floats += (dims.decoder_layers + 1) * decoded * dims.hidden if decoded else 0
    if request.attentions:
        floats += dims.layers * dims.heads * tokens**2
        floats += dims.decoder_layers * dims.decoder_heads * decoded * (decoded + tokens)
    return floats * FLOAT_BYTES


def working_bytes(dims: Dimensions, request: ForwardRequest, tokens: int, decoded: int = 0) -> int:
    """Bytes alive inside one layer while it runs (attention scores and probabilities, the
    feed-forward block, a few copies of the hidden state), and the logits of each greedy step
    or logit-lens layer read after the pass."""
    if request.run == "none":
        return 0
    longest = max(tokens, decoded) + request.continuation
    heads = max(dims.heads, dims.decoder_heads)
    floats = 2 * heads * longest**2 + 2 * longest * dims.intermediate
    floats += 4 * longest * dims.hidden
    if request.continuation or (request.hidden_states and request.run == "head"):
        floats += 2 * longest * dims.vocab
    return floats * FLOAT_BYTES


@runtime_checkable
class Costly(Protocol):
    """A `finish` that runs the model itself after the pass (gradients, a pass per masked
    token): the bytes it takes for an input of `tokens` tokens, checked with the pass's."""

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """Estimated peak bytes of its own work."""
        ...


def pass_bytes(dims: Dimensions, tokens: int, *, gradients: bool = False) -> int:
    """Bytes of one input's pass through the stack: what one layer holds while it runs, or,
    with `gradients`, what every layer keeps for the backward pass (attention scores,
    probabilities and their gradient; the feed-forward block; the inputs of projections and
    norms). The gradient figures bound the peak RSS measured on MiniLM (1 × 512, 4 × 256 and
    8 × 128 tokens) from above, by 2 to 28 %."""
    heads, hidden, intermediate = dims.heads, dims.hidden, dims.intermediate
    if not gradients:
        return (
            2 * heads * tokens**2 + 2 * tokens * intermediate + 4 * tokens * hidden
        ) * FLOAT_BYTES
    per_layer = 3 * heads * tokens**2 + 3 * tokens * intermediate + 12 * tokens * hidden
    return dims.layers * per_layer * FLOAT_BYTES


def rows_within(dims: Dimensions, tokens: int, most: int, *, gradients: bool = False) -> int:
    """How many inputs of `tokens` tokens one pass of a finish's own work takes: up to
    `most`, fewer when together they would take more than WORK_BYTES, at least one."""
    return max(1, min(most, WORK_BYTES // pass_bytes(dims, tokens, gradients=gradients)))


def request_bytes(
    dims: Dimensions, request: ForwardRequest, tokens: int, work: Costly | None = None
) -> int:
    """Estimated peak bytes of one request of `tokens` tokens (with its finish's `work`)."""
    decoded = decoder_tokens(dims, None if request.target is None else tokens)
    own = work.memory(dims, tokens) if work is not None else 0
    return (
        own
        + output_bytes(dims, request, tokens, decoded)
        + working_bytes(dims, request, tokens, decoded)
    )


def likely_tokens(request: ForwardRequest) -> int:
    """An upper bound of a request's tokens before tokenising: no tokenizer makes more than
    two tokens of a byte of text (a word marker and the byte), plus the special tokens."""
    size = sum(len(text.encode()) for text in (request.text, request.text_pair or "") if text)
    return min(request.max_tokens, 2 * size + 4)


def batch_bytes(dims: Dimensions, requests: Sequence[ForwardRequest]) -> int:
    """Estimated peak bytes of one padded pass over `requests`, each as long as the longest
    (from the upper bound of their tokens)."""
    longest = max(likely_tokens(request) for request in requests)
    return sum(request_bytes(dims, request, longest) for request in requests)


def shown_bytes(count: int) -> str:
    """Bytes as a reader takes them in: 1.2 GiB, 512 MiB."""
    if count >= 2**30:
        return f"{count / 2**30:.1f} GiB"
    return f"{max(1, round(count / 2**20))} MiB"


def _fitting_tokens(
    dims: Dimensions, request: ForwardRequest, limit: int, work: Costly | None
) -> int:
    low, high = 0, request.max_tokens  # the most tokens within the limit, by bisection
    while low < high:
        middle = (low + high + 1) // 2
        if request_bytes(dims, request, middle, work) <= limit:
            low = middle
        else:
            high = middle - 1
    return low


def check_request(
    budget: Budget, request: ForwardRequest, tokens: int, work: Costly | None = None
) -> None:
    """Refuse a request whose estimate (with its finish's `work`) exceeds the budget, saying
    how far to shorten it."""
    dims, limit = budget.dimensions, budget.limit
    needed = request_bytes(dims, request, tokens, work)
    if needed <= limit:
        return
    if request.attentions and request.hidden_states:
        extras: str = phrase(" with attentions and hidden states")
    elif request.attentions or request.hidden_states:
        asked = phrase("attentions") if request.attentions else phrase("hidden states")
        extras = phrase(" with {asked}", asked=asked)
    else:
        extras = ""
    fitting = _fitting_tokens(dims, request, limit, work)
    advice: str = phrase("this model is too large for one request here")
    if fitting:
        advice = phrase(
            "please shorten the text to at most {tokens} (`/tokenize` counts them)",
            tokens=token_count(fitting),
        )
    plain = replace(request, attentions=False)
    if request.attentions and request_bytes(dims, plain, tokens, work) <= limit:
        advice = phrase("{advice}, or leave out attentions", advice=advice)
    raise UserError(
        phrase(
            "This needs about {needed} of memory for {tokens}{extras}; the limit per request "
            "is {limit}: {advice}.",
            needed=shown_bytes(needed),
            tokens=token_count(tokens),
            extras=extras,
            limit=shown_bytes(limit),
            advice=advice,
        )
    )


def check_picture(width: float, height: float) -> None:
    """Refuse a picture larger than `PICTURE_PIXELS` before it is drawn."""
    if width * height > PICTURE_PIXELS:
        raise UserError(
            phrase(
                "This picture would be {width:,} × {height:,} pixels ({size}); the limit is "
                "{limit}: please ask for less at once.",
                width=int(width),
                height=int(height),
                size=shown_bytes(int(width * height) * PIXEL_BYTES),
                limit=shown_bytes(PICTURE_PIXELS * PIXEL_BYTES),
            )
        )


def fitting(budget: Budget | None, requests: Sequence[ForwardRequest]) -> int:
    """How many of `requests`, from the first, one pass can take within the budget (at least
    the first: over the budget alone, it is refused on the worker with its real length)."""
    if budget is None:
        return len(requests)
    count = 1
    while count < len(requests) and (
        batch_bytes(budget.dimensions, requests[: count + 1]) <= budget.limit
    ):
        count += 1
    return count
