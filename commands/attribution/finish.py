"""What `/attribute` asks of the worker: a `finish` that declares its memory; the work itself
(torch, Captum) is imported on the worker, when it runs."""

from __future__ import annotations

from dataclasses import dataclass

from commands.attribution.result import Attribution, Method, Precision
from explorer.budget import Dimensions, dimensions, pass_bytes, rows_within
from explorer.contract import Forwarded

STEP_ROWS = 16  # the most integration steps run as one batch


@dataclass(frozen=True)
class Attribute:
    """The `finish` of `/attribute`: which method, how many steps, which token (None: the
    model's top prediction). It declares its memory: the batches of gradients it runs."""

    method: Method
    steps: int
    token: str | None = None
    mask: int = 0  # which of a masked LM's masks (from 0)
    precision: Precision = "auto"

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
        return attribution(
            forwarded, self.method, self.steps, self.token, self.mask, rows, self.precision
        )
