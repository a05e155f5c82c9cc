"""Forward passes on the worker: tokenise a batch of requests, run one right-padded pass, give
each request exactly its own rows back, and finish each next to the model.

Worker-side only (it imports torch); the runtime loads it once torch is wanted.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from explorer.budget import Costly, check_request
from explorer.contract import Forwarded, ForwardOutput, ForwardRequest, Item, LoadedModel, Outcome
from explorer.encoding import Encoding, decoder_encoding, encode, target_ids

# The decoder's text when none is given: the model's own greedy output, this many tokens.
DEFAULT_TARGET_TOKENS = 12


def _cut(name: str, tensor: torch.Tensor, source: int, target: int | None) -> torch.Tensor:
    """One input's rows of a padded output, padding removed. Encoder–decoder outputs are
    cut by the decoder's length (`target`), encoder fields by the source's."""
    rows = source if target is None or name.startswith("encoder_") else target
    if name.endswith("attentions"):  # (batch, heads, query, key)
        keys = source if name == "cross_attentions" or target is None else rows
        return tensor[:, :, :rows, :keys]
    if tensor.dim() >= 3:  # (batch, sequence, features): hidden states, token logits
        return tensor[:, :rows]
    return tensor  # (batch, features): pooled outputs, sequence-classification logits


def split_outputs(
    outputs: Any, sources: Sequence[int], targets: Sequence[int | None]
) -> list[ForwardOutput]:
    """Each input's own rows of a padded batch's outputs."""
    results = []
    for index, (source, target) in enumerate(zip(sources, targets, strict=True)):
        fields: dict[str, Any] = {}
        for name, value in outputs.items():
            if isinstance(value, torch.Tensor):
                fields[name] = _cut(name, value[index : index + 1], source, target)
            elif isinstance(value, tuple) and value and isinstance(value[0], torch.Tensor):
                fields[name] = tuple(
                    _cut(name, v[index : index + 1], source, target) for v in value
                )
        results.append(ForwardOutput(type(outputs).__name__, fields))
    return results


def stop_tokens(config: Any) -> set[int]:
    """The end-of-sequence token ids (some configs list several)."""
    eos = config.eos_token_id
    return set(eos) if isinstance(eos, list) else {eos}


def _padded(rows: Sequence[Sequence[int]], value: int) -> torch.Tensor:
    longest = max(len(row) for row in rows)
    return torch.tensor([list(row) + [value] * (longest - len(row)) for row in rows])


def _inputs(loaded: LoadedModel, encodings: Sequence[Encoding]) -> dict[str, torch.Tensor]:
    pad = loaded.tokenizer.pad_token_id or 0
    inputs = {
        "input_ids": _padded([e.input_ids for e in encodings], pad),
        "attention_mask": _padded([e.attention_mask for e in encodings], 0),
    }
    if all(e.token_type_ids is not None for e in encodings):
        inputs["token_type_ids"] = _padded([e.token_type_ids or () for e in encodings], 0)
    return inputs


@torch.inference_mode()
def greedy_targets(loaded: LoadedModel, encodings: Sequence[Encoding]) -> list[tuple[int, ...]]:
    """The decoder's input for the model's own greedy output: the start token, then up to
    DEFAULT_TARGET_TOKENS tokens, each the most likely next one (the end-of-sequence token
    left out). Decoded step by step without a cache: a few short passes, and no dependence
    on generation settings a checkpoint may carry."""
    inputs = _inputs(loaded, encodings)
    inputs.pop("token_type_ids", None)
    model, config = loaded.model, loaded.model.config
    encoded = model.get_encoder()(**inputs)
    stops = stop_tokens(config) | {config.pad_token_id}
    bodies: list[list[int]] = [[] for _ in encodings]
    finished = [False] * len(encodings)
    decoded = torch.full((len(encodings), 1), int(config.decoder_start_token_id))
    for _ in range(DEFAULT_TARGET_TOKENS):
        logits = model(
            encoder_outputs=encoded,
            attention_mask=inputs["attention_mask"],
            decoder_input_ids=decoded,
            use_cache=False,
        ).logits[:, -1]
        chosen = logits.argmax(dim=-1)
        for index, token in enumerate(chosen.tolist()):
            finished[index] = finished[index] or token in stops
            if not finished[index]:
                bodies[index].append(token)
        if all(finished):
            break
        decoded = torch.cat([decoded, chosen[:, None]], dim=1)
    start = int(config.decoder_start_token_id)
    return [(start, *body) for body in bodies]


@torch.inference_mode()
def greedy_continuation(loaded: LoadedModel, encoding: Encoding, count: int) -> tuple[int, ...]:
    """Up to `count` tokens after the text, each the most likely next one (deterministic),
    stopping at the end-of-sequence token."""
    ids = list(encoding.input_ids)
    stops = stop_tokens(loaded.model.config)
    added: list[int] = []
    for _ in range(count):
        logits = loaded.model(input_ids=torch.tensor([ids]), use_cache=False).logits
        token = int(logits[0, -1].argmax())
        if token in stops:
            break
        ids.append(token)
        added.append(token)
    return tuple(added)


@torch.inference_mode()
def run_batch(
    loaded: LoadedModel,
    encodings: Sequence[Encoding],
    request: ForwardRequest,
    targets: Sequence[Sequence[int]] | None = None,
) -> list[ForwardOutput]:
    """One forward pass over right-padded inputs (padding masked out): the base model, or the
    model with its head, as `request.run` asks. `targets` are the decoder inputs of an
    encoder–decoder model."""
    inputs = _inputs(loaded, encodings)
    options = {
        "output_attentions": request.attentions,
        "output_hidden_states": request.hidden_states,
        "use_cache": False,
    }
    if targets is not None:
        inputs.pop("token_type_ids", None)
        pad = loaded.model.config.pad_token_id or 0
        inputs["decoder_input_ids"] = _padded(targets, pad)
        inputs["decoder_attention_mask"] = _padded([[1] * len(t) for t in targets], 0)
    module = loaded.model if request.run == "head" else loaded.base
    outputs = module(**inputs, **options)
    lengths = [len(t) for t in targets] if targets is not None else [None] * len(encodings)
    return split_outputs(outputs, [len(e) for e in encodings], lengths)


def serve_batch(
    loaded: LoadedModel, request: ForwardRequest, items: Sequence[Item]
) -> list[Outcome]:
    """Tokenise each request, run one pass over those that tokenised (all share `request`'s
    batch key), and finish each with its own output, all on one worker; one request's bad
    input fails that request alone."""
    outcomes: list[Outcome] = [(None, None)] * len(items)
    encoded: list[tuple[int, Encoding]] = []
    for index, (item, finish) in enumerate(items):
        try:
            encoding = encode(loaded, item.text, item.text_pair, item.max_tokens)
            if item.budget is not None:  # before any pass: a request over it is refused
                work = finish if isinstance(finish, Costly) else None
                check_request(item.budget, item, len(encoding), work)
        except Exception as error:
            outcomes[index] = (None, error)
        else:
            encoded.append((index, encoding))
    if not encoded:
        return outcomes
    encodings = [encoding for _, encoding in encoded]
    with torch.inference_mode():
        targets = _targets(loaded, request, [items[i][0] for i, _ in encoded], encodings)
        if request.run == "none":
            outputs: list[ForwardOutput | None] = [None] * len(encoded)
        else:
            decoded = None if targets is None else [t or () for t in targets]
            outputs = list(run_batch(loaded, encodings, request, decoded))
        for position, ((index, encoding), output) in enumerate(zip(encoded, outputs, strict=True)):
            ids = targets[position] if targets is not None else None
            target = decoder_encoding(loaded, ids) if ids is not None else None
            try:
                continued = greedy_continuation(loaded, encoding, items[index][0].continuation)
                forwarded = Forwarded(loaded, encoding, output, target, continued)
                finished = items[index][1](forwarded)
                outcomes[index] = (finished, None)
            except Exception as error:
                outcomes[index] = (None, error)
    return outcomes


def _targets(
    loaded: LoadedModel,
    request: ForwardRequest,
    requests: Sequence[ForwardRequest],
    encodings: Sequence[Encoding],
) -> list[tuple[int, ...] | None] | None:
    """The decoder inputs of an encoder–decoder model's requests: each request's target text,
    or, when the model runs, its greedy output for those without one (None when only
    tokenising)."""
    if not loaded.card.encoder_decoder:
        return None
    targets: list[tuple[int, ...] | None] = [
        None if r.target is None else target_ids(loaded, r.target, r.max_tokens) for r in requests
    ]
    missing = [i for i, target in enumerate(targets) if target is None]
    if missing and request.run != "none":
        generated = greedy_targets(loaded, [encodings[i] for i in missing])
        for index, target in zip(missing, generated, strict=True):
            targets[index] = target
    return targets
