"""Sending a handler's `Reply` to Discord, and the one error path that answers users."""

from __future__ import annotations

import asyncio
import io
import logging

import discord
from discord import app_commands

from explorer.contract import Reply
from explorer.text import quote_inline

from .errors import user_message

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def to_files(reply: Reply) -> list[discord.File]:
    """The reply's attachments as discord.py files."""
    return [
        discord.File(io.BytesIO(a.data), filename=a.filename, description=a.description or None)
        for a in reply.attachments
    ]


# A reply uploading more than this is never a first response: on a slow link its upload could
# outlast Discord's 3 s acknowledgement deadline, so the interaction is deferred first.
DIRECT_UPLOAD_LIMIT = 2**20


class Acknowledgement:
    """Defers an interaction once `delay` seconds pass without a reply, so that a quick reply
    is the response itself (one message, one request) and a slow one shows "thinking…" in
    time; with no delay, it defers before any work. `thinking=False` defers a component
    press silently instead. Used as an async context manager: on leaving, whatever happened,
    no deferral is left to fire."""

    def __init__(self, interaction: discord.Interaction, delay: float, *, thinking: bool) -> None:
        self._interaction = interaction
        self._thinking = thinking
        self._delay = delay
        self._deferring: asyncio.Task[object] | None = None
        self._timer = asyncio.get_running_loop().call_later(delay, self._defer)

    def _defer(self) -> None:
        if self._interaction.response.is_done():  # a folded press, acknowledged already
            return
        self._deferring = asyncio.ensure_future(
            self._interaction.response.defer(thinking=self._thinking)
        )

    async def ready(self, reply: Reply) -> None:
        """The reply is ready: stop the timer, defer if its files are large, and wait for a
        deferral in flight (its failure is raised)."""
        self._timer.cancel()
        uploads = sum(len(attachment.data) for attachment in reply.attachments)
        if self._deferring is None and uploads > DIRECT_UPLOAD_LIMIT:
            self._defer()
        if self._deferring is not None:
            await self._deferring

    async def __aenter__(self) -> Acknowledgement:
        if self._delay <= 0:
            self._timer.cancel()
            self._defer()
            if self._deferring is not None:
                await self._deferring
        return self

    async def __aexit__(self, *exc_info: object) -> None:
        """Stop the timer and let a deferral in flight land, so that the error path knows
        whether the interaction was acknowledged."""
        self._timer.cancel()
        if self._deferring is not None:
            await asyncio.gather(self._deferring, return_exceptions=True)


async def send_reply(
    interaction: discord.Interaction, reply: Reply, view: discord.ui.View | None = None
) -> int | None:
    """Answer with the reply, never pinging anyone: as the interaction's response, or as a
    followup once it has been deferred. Returns the message's id when Discord says it."""
    options: dict = {"files": to_files(reply), "allowed_mentions": NO_MENTIONS}
    if view is not None:
        options["view"] = view
    if interaction.response.is_done():
        message = await interaction.followup.send(reply.content, wait=True, **options)
        return message.id
    response = await interaction.response.send_message(reply.content, **options)
    return response.message_id if response is not None else None


async def update_message(
    interaction: discord.Interaction, reply: Reply, view: discord.ui.View
) -> None:
    """Show the reply in place of the message whose control was used: as the press's
    response, or by editing that message once the press has been deferred."""
    options: dict = {
        "content": reply.content,
        "attachments": to_files(reply),
        "view": view,
        "allowed_mentions": NO_MENTIONS,
    }
    if interaction.response.is_done():
        await interaction.edit_original_response(**options)
    else:
        await interaction.response.edit_message(**options)


def unwrap(error: Exception) -> Exception:
    """The exception a command raised, out of discord.py's wrappers."""
    return error.original if isinstance(error, app_commands.CommandInvokeError) else error


def error_message(error: Exception) -> str:
    """What the user reads: their mistake explained, or an incident reference for ours."""
    error = unwrap(error)
    if isinstance(error, app_commands.TransformerError):
        return f"⚠️ {quote_inline(str(error.value), 60)} is not a valid value for this option."
    if isinstance(error, app_commands.CheckFailure):
        return "⚠️ You are not allowed to use this command here."
    return user_message(error)


async def answer_error(interaction: discord.Interaction, error: Exception) -> None:
    """Tell the user once, ephemerally, whatever failed; a public 'thinking…' is removed."""
    message = error_message(error)
    try:
        if not interaction.response.is_done():
            await interaction.response.send_message(
                message, ephemeral=True, allowed_mentions=NO_MENTIONS
            )
            return
        if interaction.type is discord.InteractionType.application_command:
            # The first followup after a public defer would inherit its visibility.
            await interaction.delete_original_response()
        await interaction.followup.send(message, ephemeral=True, allowed_mentions=NO_MENTIONS)
    except discord.HTTPException:
        log.warning("could not deliver an error reply for interaction %s", interaction.id)
