"""Sending a handler's `Reply` to Discord, and the one error path that answers users."""

from __future__ import annotations

import io
import logging
import secrets

import discord
from discord import app_commands

from commands.results import Reply, UserError

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def to_files(reply: Reply) -> list[discord.File]:
    return [
        discord.File(io.BytesIO(a.data), filename=a.filename, description=a.description or None)
        for a in reply.attachments
    ]


async def send_followup(
    interaction: discord.Interaction, reply: Reply, view: discord.ui.View | None = None
) -> None:
    """Answer a deferred interaction with the reply, never pinging anyone."""
    await interaction.followup.send(
        reply.content,
        files=to_files(reply),
        allowed_mentions=NO_MENTIONS,
        **({"view": view} if view is not None else {}),
    )


def unwrap(error: Exception) -> Exception:
    """The exception a command raised, out of discord.py's wrappers."""
    return error.original if isinstance(error, app_commands.CommandInvokeError) else error


def error_message(error: Exception) -> str:
    """What the user reads: their mistake explained, or an incident reference for ours."""
    error = unwrap(error)
    if isinstance(error, UserError):
        return f"⚠️ {error}"
    if isinstance(error, app_commands.TransformerError):
        return f"⚠️ `{error.value}` is not a valid value for this option."
    if isinstance(error, app_commands.MissingPermissions):
        return "⚠️ This command needs the Manage Server permission."
    if isinstance(error, app_commands.CheckFailure):
        return "⚠️ You are not allowed to use this command here."
    reference = secrets.token_hex(4)
    log.error("unexpected error (reference %s)", reference, exc_info=error)
    return f"⚠️ Something went wrong on our side (reference `{reference}`). Please try again."


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
