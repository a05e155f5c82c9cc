"""What `/surprisal` computes: plain data, drawn and exported on the bot's side."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

import numpy as np

from commands.predictions.predicted import OBJECT_BYTES
from explorer.contract import UserError
from explorer.encoding import Encoding
from explorer.i18n import phrase

Kind = Literal["causal", "pseudo"]
Measure = Literal["surprisal", "entropy"]
MEASURE_NAMES: tuple[Measure, ...] = ("surprisal", "entropy")


def measure_named(name: str | None) -> Measure:
    """The measure called `name`; a `UserError` naming the measures otherwise."""
    for measure in MEASURE_NAMES:
        if name == measure:
            return measure
    raise UserError(phrase("Choose a measure: {measures}.", measures=", ".join(MEASURE_NAMES)))


@dataclass(frozen=True)
class Surprisal:
    """Per scored token (`positions` in the encoding): its surprisal and the entropy of the
    distribution it was drawn from, in bits; `kind` says how they were read."""

    encoding: Encoding
    positions: tuple[int, ...]
    bits: np.ndarray  # float32
    entropy: np.ndarray  # float32
    kind: Kind

    @property
    def nbytes(self) -> int:
        """Its size, estimated (kept by `Context.remember`)."""
        arrays = int(self.bits.nbytes + self.entropy.nbytes)
        return arrays + OBJECT_BYTES * len(self.encoding)

    @property
    def total(self) -> float:
        """The summed surprisal: −log₂ of the text's (pseudo-)likelihood, in bits."""
        return float(self.bits.astype(np.float64).sum())

    @property
    def perplexity(self) -> float:
        """2 to the mean surprisal (NaN with nothing scored)."""
        return 2.0 ** (self.total / len(self.positions)) if self.positions else math.nan
