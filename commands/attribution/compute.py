"""Which input tokens drive one logit, computed on the worker next to the model (a `finish`).

The target is one token's logit at one position: a masked LM's at one of its masks, a causal
LM's at the last position (the next token). The model runs on the input embeddings (the
word embeddings: position and token-type embeddings stay the model's own), and only the
target position goes through the output head, so a step costs the stack, not the
vocabulary at every position. Scores per token are the sum over the embedding dimension of
gradient ⊙ input (saliency) or of Captum's integrated gradients from a baseline that keeps
the special tokens and puts the pad token (or the unknown token) everywhere else.

Integrated gradients runs its steps' matrix products in bfloat16 where the CPU computes it
natively (AVX512-BF16 or AMX; `precision="auto"`): twice as fast as float32 on two cores. Its
scores are usually within 1% of float32's, but a target whose logit barely changes from the
baseline can be several percent off: where the bfloat16 scores miss the completeness check
(their sum against the logit's change) by more than 1% of that change, the steps run again in
float32. The logits at the input and the baseline are read in float32 either way.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import torch
from captum.attr import InputXGradient, IntegratedGradients

from commands.attribution.result import Attribution, Method, Precision
from commands.predictions.predicted import output_head, shown_tokens
from explorer.contract import Forwarded, LoadedModel, UserError
from explorer.encoding import Encoding
from explorer.i18n import phrase
from explorer.text import quote_inline


def mask_positions(loaded: LoadedModel, encoding: Encoding) -> tuple[int, ...]:
    """Where the text's mask tokens are (none for a causal LM)."""
    if loaded.card.task == "causal-lm":
        return ()
    mask_id = loaded.tokenizer.mask_token_id
    return tuple(i for i, t in enumerate(encoding.input_ids) if t == mask_id)


def target_position(loaded: LoadedModel, masks: tuple[int, ...], mask: int, tokens: int) -> int:
    """Where the target logit is read: a masked LM's `mask`-th mask (from 0); a causal LM's
    last token."""
    if loaded.card.task == "causal-lm":
        return tokens - 1
    if mask < len(masks):
        return masks[mask]
    token = loaded.tokenizer.mask_token
    if masks:
        raise UserError(
            phrase("The text has {count} {token} tokens: there is no mask {mask}.",
                   count=len(masks), token=token, mask=mask + 1)
        )  # fmt: skip
    raise UserError(
        phrase(
            "Put {token} where the prediction to explain goes, e.g. `/attribute text:Paris is "
            "the {token} of France.` (the text may have been cut to fit the model, taking the "
            "mask with it).",
            token=token,
        )
    )


def named_token(loaded: LoadedModel, name: str) -> int:
    """The id of the one vocabulary token `name` is (as typed, else with a leading space, as
    byte-level vocabularies spell a word after a space)."""
    tokenizer = loaded.tokenizer
    for spelling in (name, " " + name.strip()):
        ids = tokenizer(spelling, add_special_tokens=False)["input_ids"]
        if len(ids) == 1:
            return int(ids[0])
    pieces = tokenizer.tokenize(name)
    raise UserError(
        phrase(
            "{name} is not one token of **{model}**: it reads it as {pieces}. Name a single "
            "token (`/tokenize` shows them).",
            name=quote_inline(name, 40),
            model=loaded.name,
            pieces=quote_inline(" ".join(pieces), 80),
        )
    )


def baseline_ids(loaded: LoadedModel, encoding: Encoding) -> tuple[tuple[int, ...], str]:
    """The baseline's tokens: the special ones kept, every other the pad token (the unknown
    token where there is no pad token); and the name of that token."""
    tokenizer = loaded.tokenizer
    filler, name = tokenizer.pad_token_id, tokenizer.pad_token
    if filler is None:
        filler, name = tokenizer.unk_token_id, tokenizer.unk_token
    if filler is None:
        raise UserError(
            phrase(
                "**{model}**'s tokenizer has neither a pad nor an unknown token to build the "
                "baseline of integrated gradients from: use `method:saliency`.",
                model=loaded.name,
            )
        )
    ids = tuple(
        token if special else int(filler)
        for token, special in zip(encoding.input_ids, encoding.special, strict=True)
    )
    return ids, str(name)


GAP_TOLERANCE = 0.01  # of the logit's change: a bfloat16 sum further off is done again in float32


def resolved(precision: Precision, method: Method) -> Precision:
    """The precision the gradient passes run in: `auto` is bfloat16 for integrated gradients
    on a CPU that computes bfloat16 natively, float32 otherwise (saliency is one pass)."""
    if precision != "auto":
        return precision
    native = torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported()
    return "bfloat16" if method == "integrated-gradients" and native else "float32"


def head_at(loaded: LoadedModel, position: int) -> Callable[[torch.Tensor], torch.Tensor]:
    """The logits at `position` (batch, vocabulary) as a function of the word embeddings
    (batch, tokens, hidden): the base model over them, then the output head there only."""
    model, head = loaded.model, output_head(loaded.model)

    def logits(embeds: torch.Tensor) -> torch.Tensor:
        state = model.base_model(inputs_embeds=embeds, use_cache=False)[0][:, position]
        for module in head:
            state = module(state)
        return state

    return logits


def attribution(
    forwarded: Forwarded,
    method: Method,
    steps: int,
    token: str | None,
    mask: int,
    rows: int,
    precision: Precision = "auto",
) -> Attribution:
    """The scores of `method` for the target logit at the forwarded text's `mask`-th mask
    (or its next token): `token`'s, or the top prediction's; integrated gradients in `steps`
    steps run `rows` at a time, their matrix products in `precision`."""
    loaded, encoding = forwarded.model, forwarded.encoding
    masks = mask_positions(loaded, encoding)
    position = target_position(loaded, masks, mask, len(encoding))
    embeddings = loaded.model.get_input_embeddings()
    logits = head_at(loaded, position)
    with torch.inference_mode(False), torch.enable_grad():
        inputs = embeddings(torch.tensor([encoding.input_ids])).detach()
        with torch.no_grad():
            read = logits(inputs)[0]
        probabilities = read.softmax(-1)
        target = int(probabilities.argmax()) if token is None else named_token(loaded, token)

        def logit(embeds: torch.Tensor) -> torch.Tensor:
            return logits(embeds)[:, target]

        common: dict[str, Any] = {
            "encoding": encoding,
            "position": position,
            "mask": mask,
            "masks": len(masks),
            "target_id": target,
            "target": shown_tokens(loaded.tokenizer, [target])[0],
            "probability": float(probabilities[target]),
            "logit": float(read[target]),
        }
        chosen = resolved(precision, method)
        if method == "saliency":
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=chosen == "bfloat16"):
                scores = InputXGradient(logit).attribute(inputs.clone().requires_grad_())
            return Attribution(
                scores=per_token(scores), method="saliency", steps=1, precision=chosen, **common
            )
        base, filler = baseline_ids(loaded, encoding)
        baseline = embeddings(torch.tensor([base])).detach()
        with torch.no_grad():
            at_baseline = float(logit(baseline)[0])

        def integrated(precision: Precision) -> np.ndarray:
            with torch.autocast("cpu", dtype=torch.bfloat16, enabled=precision == "bfloat16"):
                return per_token(
                    IntegratedGradients(logit).attribute(
                        inputs, baselines=baseline, n_steps=steps, internal_batch_size=rows
                    )
                )

        scores = integrated(chosen)
        if precision == "auto" and not complete(scores, common["logit"] - at_baseline):
            chosen, scores = "float32", integrated("float32")
        return Attribution(
            scores=scores,
            method="integrated-gradients",
            steps=steps,
            baseline_logit=at_baseline,
            baseline=filler,
            precision=chosen,
            **common,
        )


def complete(scores: np.ndarray, change: float) -> bool:
    """Whether scores from bfloat16 add up to the logit's change within GAP_TOLERANCE of it
    (else they are computed again in float32)."""
    return abs(float(scores.sum(dtype=np.float64)) - change) <= GAP_TOLERANCE * abs(change)


def per_token(attributions: torch.Tensor) -> np.ndarray:
    """Attributions (1, tokens, hidden) summed over the embedding dimension, float32."""
    return attributions.detach()[0].double().sum(-1).numpy().astype(np.float32)
