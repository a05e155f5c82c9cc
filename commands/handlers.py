"""The command table shared by the Discord layer and the local console."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from commands.attention import attention
from commands.config import config
from commands.forward import forward
from commands.models import models
from commands.results import Reply
from commands.status import internals, load, status, unload
from commands.tokenize import tokenize

Handler = Callable[..., Awaitable[Reply]]

HANDLERS: dict[str, Handler] = {
    "tokenize": tokenize,
    "attention": attention,
    "config": config,
    "forward": forward,
    "models": models,
    "status": status,
    "load": load,
    "unload": unload,
    "internals": internals,
}
# Commands that change or reveal the bot's internals: Manage Server only on Discord.
MANAGEMENT = frozenset({"load", "unload", "internals"})


def describe(handler: Callable[..., Any]) -> str:
    """The first line of a handler's docstring: the command's help text."""
    return (handler.__doc__ or "").strip().splitlines()[0]
