"""`/attention` and everything it explores: the exploration computed from a forward pass, its
views (one per module in `views/`), and the live kind whose controls step it."""

from commands.attention.command import attention
from commands.attention.kind import ATTENTION

__all__ = ["ATTENTION", "attention"]
