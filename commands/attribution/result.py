"""What `/attribute` computes: plain data, drawn and exported on the bot's side."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from commands.predictions.predicted import OBJECT_BYTES
from explorer.encoding import Encoding

Method = Literal["saliency", "integrated-gradients"]
METHODS: tuple[Method, ...] = ("saliency", "integrated-gradients")
# The matrix products of the gradient passes: `auto` is bfloat16 for integrated gradients where
# the CPU computes it natively (about twice as fast; float32 again where its scores miss the
# completeness check by over 1%), else float32; sums, softmax and norms stay float32 (autocast).
Precision = Literal["auto", "float32", "bfloat16"]


@dataclass(frozen=True)
class Attribution:
    """Scores per input token for one target logit, in token order, unnormalised; for
    integrated gradients the logit at the input and at the baseline (their difference is
    what the scores should sum to)."""

    encoding: Encoding
    scores: np.ndarray  # float32, one per token
    method: Method
    steps: int
    position: int  # where the target logit is read
    target_id: int
    target: str  # as shown_tokens shows it
    probability: float  # of the target at that position, for the input
    logit: float
    baseline_logit: float | None = None
    baseline: str = ""  # the token that replaced the others in the baseline
    mask: int = 0  # which mask the target is read at (from 0)
    masks: int = 0  # how many masks the text has (0 for a causal LM)
    precision: Precision = "float32"  # of the gradient passes' matrix products

    @property
    def nbytes(self) -> int:
        """Its size, estimated (kept by `Context.remember`)."""
        return int(self.scores.nbytes) + OBJECT_BYTES * len(self.encoding)

    @property
    def gap(self) -> float | None:
        """Integrated gradients' completeness gap: sum of scores − (logit − baseline logit)."""
        if self.baseline_logit is None:
            return None
        return float(self.scores.sum()) - (self.logit - self.baseline_logit)
