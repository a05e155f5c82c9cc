"""What a value-weighted exploration (`weighting:norm`) asks of the worker: a `finish` that
declares its memory and computes the norms next to the model (the request itself only
tokenises); the work itself (torch) is imported on the worker, when it runs."""

from __future__ import annotations

from dataclasses import dataclass

from commands.attention.exploration import Exploration, Subject
from explorer.budget import FLOAT_BYTES, pass_bytes
from explorer.contract import Dimensions, Forwarded


@dataclass(frozen=True)
class ValueWeighted:
    """The `finish` of a value-weighted exploration: its own pass over the tokenised input,
    with hooks on the value projections (see `value_norms`)."""

    subject: Subject

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """One layer's working memory, every layer's attention weights (kept by the pass),
        the norms made of them and their stacked copy, the captured values of every layer,
        and one layer's values through the output projection, head by head."""
        square = dims.layers * dims.heads * tokens**2
        vectors = (dims.layers + 1) * tokens * dims.hidden + 2 * dims.heads * tokens * dims.hidden
        return pass_bytes(dims, tokens) + (3 * square + vectors) * FLOAT_BYTES

    def __call__(self, forwarded: Forwarded) -> Exploration:
        """The exploration whose values are the norms (on the worker)."""
        import torch

        from commands.attention.value_norms import value_norms

        encoding = forwarded.encoding
        inputs = {
            "input_ids": torch.tensor([encoding.input_ids]),
            "attention_mask": torch.tensor([encoding.attention_mask]),
        }
        if encoding.token_type_ids is not None:
            inputs["token_type_ids"] = torch.tensor([encoding.token_type_ids])
        norms = value_norms(forwarded.model.model, inputs)
        encoder_only = forwarded.model.card.encoder_decoder
        return Exploration(self.subject, encoding, norms, encoder_only=encoder_only)
