"""What a model predicts: the tokens for its mask tokens, the next token, and what each layer
would predict through the model's own output head (the logit lens). Each `*_of` function is a
`finish`: it runs on the worker, next to the model's outputs."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from explorer.contract import Forwarded, LoadedModel, UserError
from explorer.encoding import Encoding
from explorer.i18n import phrase
from explorer.text import join_wide

# Modules after the base model that are not part of the output head.
_NOT_HEAD = ("Loss", "Dropout")
# Where decoder-only models keep the norm applied after their last layer.
_FINAL_NORMS = ("ln_f", "norm", "final_layer_norm", "final_layernorm", "norm_f")
LENS_TOLERANCE = 1e-4
# What a small Python object (a token's text, a guess) is counted as when an answer is kept
# (`Context.remember`): an estimate, generous for short strings.
OBJECT_BYTES = 200


# How whitespace in a decoded token is shown, so that ` the` and `the` read differently.
_VISIBLE = {" ": "␣", "\n": "↵", "\t": "⇥"}


def shown_tokens(tokenizer: Any, ids: Sequence[int]) -> tuple[str, ...]:
    """Predicted ids as the tokenizer decodes each alone, whitespace made visible (`␣the`,
    not GPT-2's `Ġthe`); the vocabulary's own piece where that decodes to nothing or to part
    of a character; `[id N]` for an id the vocabulary has no token for (a vocabulary file
    with duplicate lines, as Google's Chinese BERT has, leaves ids without one)."""
    pieces = tokenizer.convert_ids_to_tokens(list(ids))
    texts = tokenizer.batch_decode([[token_id] for token_id in ids])
    shown = []
    for token_id, piece, text in zip(ids, pieces, texts, strict=True):
        if piece is None:
            shown.append(f"[id {token_id}]")
        elif not text or "\ufffd" in text:
            shown.append(str(piece))
        else:
            shown.append("".join(_VISIBLE.get(char, char) for char in text))
    return tuple(shown)


@dataclass(frozen=True)
class Guess:
    """One predicted token: as shown (`shown_tokens`), its id and probability."""

    token: str
    token_id: int
    probability: float


def _guesses(loaded: LoadedModel, probabilities: Any, top_k: int) -> tuple[Guess, ...]:
    values, ids = probabilities.topk(min(top_k, probabilities.shape[-1]))
    shown = shown_tokens(loaded.tokenizer, ids.tolist())
    return tuple(
        Guess(token, i, float(p))
        for token, i, p in zip(shown, ids.tolist(), values.tolist(), strict=True)
    )


@dataclass(frozen=True)
class MaskGuesses:
    """The guesses for one mask token, at its position in the tokens."""

    position: int
    guesses: tuple[Guess, ...]


@dataclass(frozen=True)
class Filled:
    """`/fill-mask`'s answer: the guesses for each mask, and the text with the best ones."""

    encoding: Encoding
    masks: tuple[MaskGuesses, ...]
    filled: str

    @property
    def nbytes(self) -> int:
        """Its size, estimated."""
        guesses = sum(len(mask.guesses) for mask in self.masks)
        return OBJECT_BYTES * (len(self.encoding) + guesses)


def filled_masks(top_k: int, forwarded: Forwarded) -> Filled:
    """Top-k tokens for each mask token, with probabilities (softmax over the vocabulary, as
    transformers' fill-mask pipeline computes them), and the text filled with the best."""
    loaded, encoding = forwarded.model, forwarded.encoding
    assert forwarded.output is not None
    logits = forwarded.output.fields["logits"][0]
    mask_id = loaded.tokenizer.mask_token_id
    positions = [i for i, token_id in enumerate(encoding.input_ids) if token_id == mask_id]
    masks = tuple(
        MaskGuesses(position, _guesses(loaded, logits[position].softmax(-1), top_k))
        for position in positions
    )
    return Filled(encoding, masks, filled_text(loaded.tokenizer, encoding, masks))


def filled_text(tokenizer: Any, encoding: Encoding, masks: tuple[MaskGuesses, ...]) -> str:
    """The text with each mask's best guess in place, decoded by the tokenizer without the
    special tokens it added ([CLS], [SEP]) but with any [UNK], and without the spaces its
    decoder puts between Chinese characters. A best guess with no token of its own is
    written `[id N]`."""
    best = {mask.position: mask.guesses[0] for mask in masks}
    tokenless = {
        position for position, guess in best.items()
        if tokenizer.convert_ids_to_tokens(guess.token_id) is None
    }  # fmt: skip
    ids = []
    for position, token_id in enumerate(encoding.input_ids):
        if position in tokenless:
            ids.append(tokenizer.mask_token_id)  # a stand-in the decoder keeps, replaced below
        elif position in best:
            ids.append(best[position].token_id)
        elif not encoding.special[position]:
            ids.append(token_id)
    text = tokenizer.decode(ids)
    for position in sorted(tokenless):
        text = text.replace(tokenizer.mask_token, best[position].token, 1)
    return join_wide(text)


@dataclass(frozen=True)
class Taken:
    """The token the text has next at a position: as shown, how likely the model found it,
    and its rank among the model's guesses (1: its best)."""

    guess: Guess
    rank: int


@dataclass(frozen=True)
class NextTokens:
    """`/predict`'s answer: after each position of the text, the most likely next tokens and
    the token the text really has there; after the whole text, a greedy continuation."""

    encoding: Encoding
    steps: tuple[tuple[Guess, ...], ...]  # the guesses after each position
    taken: tuple[Taken, ...]  # the text's own next token, after each position but the last
    continuation: str

    @property
    def guesses(self) -> tuple[Guess, ...]:
        """The most likely next tokens after the whole text."""
        return self.steps[-1]

    @property
    def nbytes(self) -> int:
        """Its size, estimated."""
        return OBJECT_BYTES * (sum(map(len, self.steps)) + len(self.taken) + len(self.encoding))


def next_tokens(top_k: int, forwarded: Forwarded) -> NextTokens:
    """Top-k next tokens after each position (softmax of its logits), the probability and
    rank of the token the text has next, and the greedy continuation the forward pass
    decoded after the text."""
    loaded, encoding = forwarded.model, forwarded.encoding
    assert forwarded.output is not None
    probabilities = forwarded.output.fields["logits"][0].softmax(-1)  # (positions, vocabulary)
    values, ids = probabilities.topk(min(top_k, probabilities.shape[-1]))
    shown = shown_tokens(loaded.tokenizer, ids.flatten().tolist())
    steps = tuple(
        tuple(
            Guess(shown[row * ids.shape[1] + column], int(token_id), float(value))
            for column, (token_id, value) in enumerate(zip(row_ids, row_values, strict=True))
        )
        for row, (row_ids, row_values) in enumerate(zip(ids.tolist(), values.tolist(), strict=True))
    )
    following = list(encoding.input_ids[1:])
    chances = probabilities[range(len(following)), following]
    ranks = (probabilities[: len(following)] > chances[:, None]).sum(-1) + 1
    taken = tuple(
        Taken(Guess(token, token_id, float(chance)), int(rank))
        for token, token_id, chance, rank in zip(
            shown_tokens(loaded.tokenizer, following), following, chances.tolist(),
            ranks.tolist(), strict=True,
        )
    )  # fmt: skip
    continuation = join_wide(loaded.tokenizer.decode(list(forwarded.continuation)))
    return NextTokens(encoding, steps, taken, continuation)


def output_head(model: Any) -> list[Any]:
    """The modules after the base model, in order: the output head (`cls` for BERT,
    `lm_head` for GPT-2 and Llama)."""
    base = model.base_model
    return [
        module
        for module in model.children()
        if module is not base and not type(module).__name__.endswith(_NOT_HEAD)
    ]


def final_norm(model: Any) -> Any | None:
    """The norm a decoder-only model applies after its last layer, if it has one."""
    for name, module in model.base_model.named_modules():
        if name.split(".")[-1] in _FINAL_NORMS and name.count(".") <= 1:
            return module
    return None


def _reproduces(computed: Any, logits: Any) -> bool:
    return bool(
        computed.shape == logits.shape and float((computed - logits).abs().max()) <= LENS_TOLERANCE
    )


def _through(modules: list[Any], hidden: Any) -> Any:
    for module in modules:
        hidden = module(hidden)
    return hidden


@dataclass(frozen=True, eq=False)
class Lens:
    """The logit lens: for the embeddings and each layer, the top token the model's own
    head reads from every position, and its probability."""

    encoding: Encoding
    tokens: tuple[tuple[str, ...], ...]  # (layers + 1) × positions, as `shown_tokens`
    ids: np.ndarray  # (layers + 1, positions)
    probabilities: np.ndarray  # (layers + 1, positions)
    normed: bool  # whether the final norm was applied to the layers before the last

    @property
    def nbytes(self) -> int:
        """Its size, estimated."""
        tokens = sum(map(len, self.tokens)) + len(self.encoding)
        return int(self.ids.nbytes + self.probabilities.nbytes) + OBJECT_BYTES * tokens


def lens_of(forwarded: Forwarded) -> Lens:
    """Each layer's hidden states through the output head (with the final norm, where the
    model has one), checked against the model's own output at the last layer: an
    architecture whose head cannot be read this way is refused rather than shown wrong."""
    loaded = forwarded.model
    assert forwarded.output is not None
    fields = forwarded.output.fields
    hidden, logits = fields["hidden_states"], fields["logits"]
    head, norm = output_head(loaded.model), final_norm(loaded.model)
    candidates = [hidden[-1]] + ([norm(hidden[-1])] if norm is not None else [])
    if not any(_reproduces(_through(head, state), logits) for state in candidates):
        raise UserError(
            phrase(
                "The logit lens cannot be read for **{model}** ({architecture}): its output "
                "head does not reproduce the model's own output from the last hidden state.",
                model=loaded.name,
                architecture=loaded.card.architecture,
            )
        )
    tokens, ids, probabilities = [], [], []
    for index, state in enumerate(hidden):
        if index == len(hidden) - 1:
            layer_logits = logits  # the model's own output, exactly
        else:
            layer_logits = _through(head, state if norm is None else norm(state))
        best = layer_logits[0].softmax(-1).max(dim=-1)
        ids.append(best.indices.numpy())
        tokens.append(shown_tokens(loaded.tokenizer, best.indices.tolist()))
        probabilities.append(best.values.float().numpy())
    return Lens(
        forwarded.encoding, tuple(tokens), np.stack(ids), np.stack(probabilities), norm is not None
    )
