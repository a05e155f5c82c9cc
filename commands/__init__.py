"""Every command the bot answers, in the order `/help` lists them. Each module declares its
command once: the handler's signature is the declaration (`explorer.declare`)."""

from __future__ import annotations

from commands.admin import internals, load, status, unload
from commands.attention import attention
from commands.config import config
from commands.forward import forward
from commands.models import models
from commands.tokenize import tokenize
from explorer.declare import Command

COMMANDS: tuple[Command, ...] = (
    tokenize,
    attention,
    config,
    forward,
    models,
    status,
    load,
    unload,
    internals,
)
