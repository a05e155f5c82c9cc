"""Every command the bot answers, in the order `/help` lists them, and every kind of live reply
the chat steps (`explorer.live`). Each module declares its command once: the handler's
signature is the declaration (`explorer.declare`)."""

from __future__ import annotations

from commands.admin import internals, load, status, unload
from commands.attention import attention
from commands.compare import compare
from commands.config import config
from commands.fill_mask import fill_mask
from commands.forward import forward
from commands.lens import lens
from commands.menus import explore_message, tokenize_message
from commands.models import models
from commands.predict import predict
from commands.settings import allow, default_model, deny
from commands.tokenize import tokenize
from explorer.declare import Command
from explorer.explore import ATTENTION
from explorer.live import Kind

COMMANDS: tuple[Command, ...] = (
    tokenize,
    attention,
    config,
    forward,
    fill_mask,
    predict,
    lens,
    compare,
    models,
    status,
    load,
    unload,
    internals,
    default_model,
    allow,
    deny,
    tokenize_message,
    explore_message,
)

KINDS: tuple[Kind, ...] = (ATTENTION,)
