"""What `/attribute` asks of the worker and what comes back: plain data, and a `finish` that
declares its memory; the work itself (torch, Captum) is imported on the worker, when run."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import numpy as np

from explorer.budget import Dimensions, dimensions, pass_bytes, rows_within
from explorer.contract import Forwarded
from explorer.encoding import Encoding

Method = Literal["saliency", "integrated-gradients"]
METHODS: tuple[Method, ...] = ("saliency", "integrated-gradients")
STEP_ROWS = 16  # the most integration steps run as one batch


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

    @property
    def gap(self) -> float | None:
        """Integrated gradients' completeness gap: sum of scores − (logit − baseline logit)."""
        if self.baseline_logit is None:
            return None
        return float(self.scores.sum()) - (self.logit - self.baseline_logit)


@dataclass(frozen=True)
class Attribute:
    """The `finish` of `/attribute`: which method, how many steps, which token (None: the
    model's top prediction). It declares its memory: the batches of gradients it runs."""

    method: Method
    steps: int
    token: str | None = None

    def rows(self, dims: Dimensions, tokens: int) -> int:
        """Inputs per pass with gradients: a batch of integration steps, or saliency's one."""
        most = 1 if self.method == "saliency" else min(self.steps, STEP_ROWS)
        return rows_within(dims, tokens, most, gradients=True)

    def memory(self, dims: Dimensions, tokens: int) -> int:
        """Peak bytes of one pass with gradients over `rows` inputs, and their logits at the
        target position."""
        rows = self.rows(dims, tokens)
        return rows * pass_bytes(dims, tokens, gradients=True) + 4 * dims.vocab * rows

    def __call__(self, forwarded: Forwarded) -> Attribution:
        """The scores for the target logit of the forwarded text (on the worker)."""
        from commands.attribution.compute import attribution

        dims = dimensions(forwarded.model.card.config)
        rows = self.rows(dims, len(forwarded.encoding))
        return attribution(forwarded, self.method, self.steps, self.token, rows)
