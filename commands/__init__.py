"""Every command the bot answers, in the order `/help` lists them, and every kind of live reply
the chat steps (`explorer.live`). Each module declares its command once: the handler's
signature is the declaration (`explorer.declare`)."""

from __future__ import annotations

from commands.admin import internals, load, status, unload
from commands.attention import ATTENTION, attention
from commands.attribution.command import attribute
from commands.attribution.kind import ATTRIBUTE
from commands.comparison.compare import COMPARE, compare
from commands.config import config
from commands.forward import forward
from commands.menus import explore_message, tokenize_message
from commands.models import models
from commands.predictions.fill_mask import FILL_MASK, fill_mask
from commands.predictions.lens import LENS, lens
from commands.predictions.predict import PREDICT, predict
from commands.settings import allow, default_model, deny
from commands.surprisal.command import surprisal
from commands.surprisal.kind import SURPRISAL
from commands.tokenize import tokenize
from explorer.declare import Command
from explorer.live import Kind

COMMANDS: tuple[Command, ...] = (
    tokenize,
    attention,
    config,
    forward,
    fill_mask,
    predict,
    lens,
    attribute,
    surprisal,
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

KINDS: tuple[Kind, ...] = (ATTENTION, FILL_MASK, PREDICT, LENS, COMPARE, ATTRIBUTE, SURPRISAL)
