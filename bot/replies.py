"""Sending a handler's `Reply` to Discord, and the one error path that answers users, in the
user's language: files sized to the place they are sent to, a long text in several messages."""

from __future__ import annotations

import asyncio
import io
import logging
from dataclasses import replace

import discord
from discord import app_commands

from explorer.contract import DISCORD_MESSAGE_LIMIT, Attachment, Reply
from explorer.i18n import phrase, tell
from explorer.text import quote_inline

from .errors import user_message

log = logging.getLogger(__name__)

NO_MENTIONS = discord.AllowedMentions.none()


def language_of(interaction: discord.Interaction) -> str:
    """The language the user's Discord is set to (`zh-CN`, `en-US`…)."""
    return interaction.locale.value


def file_size(size: int) -> str:
    """A size as people read it: `2.5 MB`, `40 KB`."""
    return f"{size / 2**20:.1f} MB" if size >= 2**20 else f"{max(1, round(size / 2**10))} KB"


def fitted(reply: Reply, limit: int, language: str) -> Reply:
    """The reply with the files a message may carry where it is sent (`limit` bytes in all,
    Discord's `attachment_size_limit` there), in order; those left out are named in a note."""
    kept: list[Attachment] = []
    left_out: list[Attachment] = []
    total = 0
    for attachment in reply.attachments:
        fits = total + len(attachment.data) <= limit
        (kept if fits else left_out).append(attachment)
        total += len(attachment.data) if fits else 0
    if not left_out:
        return reply
    named = ", ".join(f"`{a.filename}` ({file_size(len(a.data))})" for a in left_out)
    note = phrase(
        "📎 Not attached, too large for this place (it takes {limit} of files per message): "
        "{files}.",
        limit=file_size(limit),
        files=named,
    )
    return replace(
        reply, content=f"{reply.content}\n{tell(note, language)}", attachments=tuple(kept)
    )


FENCE = "```"
# Room on a page for a code block's fences, closed at its end and opened again on the next.
FENCE_ROOM = 64


def _pieces(text: str, size: int) -> list[str]:
    """The text's lines, a line longer than `size` cut into pieces of `size`."""
    lines = text.split("\n")
    return [line[i : i + size] for line in lines for i in range(0, len(line) or 1, size)]


def pages(text: str, limit: int = DISCORD_MESSAGE_LIMIT) -> list[str]:
    """`text` as messages of at most `limit` characters, split between lines (within a line
    only if it is longer than a message); a code block split across two is closed at the end
    of one and opened again at the start of the next."""
    if len(text) <= limit:
        return [text]
    found: list[str] = []
    page = ""
    fence: str | None = None  # the line opening the code block the page ends in
    for line in _pieces(text, limit - min(FENCE_ROOM, limit // 2)):
        opens = line.startswith(FENCE)
        after = (None if fence else line) if opens else fence
        closing = len(FENCE) + 1 if after else 0
        if page and len(page) + 1 + len(line) + closing > limit:
            found.append(f"{page}\n{FENCE}" if fence else page)
            page = fence or ""
            if opens and fence:  # the block closed by this line was just closed
                page, after = "", None
                continue
        page = f"{page}\n{line}" if page else line
        fence = after
    found.append(page)
    return found


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


async def _send_rest(interaction: discord.Interaction, rest: list[str]) -> None:
    """The pages after the first, each a followup message."""
    for page in rest:
        await interaction.followup.send(page, allowed_mentions=NO_MENTIONS)


async def send_reply(
    interaction: discord.Interaction, reply: Reply, view: discord.ui.View | None = None
) -> int | None:
    """Answer with the reply, never pinging anyone: as the interaction's response, or as a
    followup once it has been deferred; its files and controls on the first message, a text
    too long for one continued in the next. Returns the first message's id when Discord says
    it."""
    reply = fitted(reply, interaction.filesize_limit, language_of(interaction))
    first, *rest = pages(reply.content)
    options: dict = {"files": to_files(reply), "allowed_mentions": NO_MENTIONS}
    if view is not None:
        options["view"] = view
    if interaction.response.is_done():
        message = await interaction.followup.send(first, wait=True, **options)
        message_id: int | None = message.id
    else:
        response = await interaction.response.send_message(first, **options)
        message_id = response.message_id if response is not None else None
    await _send_rest(interaction, rest)
    return message_id


async def update_message(
    interaction: discord.Interaction, reply: Reply, view: discord.ui.View
) -> None:
    """Show the reply in place of the message whose control was used: as the press's
    response, or by editing that message once the press has been deferred (a text too long
    for one message continued in new ones)."""
    reply = fitted(reply, interaction.filesize_limit, language_of(interaction))
    first, *rest = pages(reply.content)
    options: dict = {
        "content": first,
        "attachments": to_files(reply),
        "view": view,
        "allowed_mentions": NO_MENTIONS,
    }
    if interaction.response.is_done():
        await interaction.edit_original_response(**options)
    else:
        await interaction.response.edit_message(**options)
    await _send_rest(interaction, rest)


def unwrap(error: Exception) -> Exception:
    """The exception a command raised, out of discord.py's wrappers."""
    return error.original if isinstance(error, app_commands.CommandInvokeError) else error


def error_message(error: Exception, language: str) -> str:
    """What the user reads, in `language`: their mistake explained, or an incident reference
    for ours."""
    error = unwrap(error)
    if isinstance(error, app_commands.TransformerError):
        value = quote_inline(str(error.value), 60)
        invalid = phrase("{value} is not a valid value for this option.", value=value)
        return f"⚠️ {tell(invalid, language)}"
    if isinstance(error, app_commands.CheckFailure):
        return f"⚠️ {tell(phrase('You are not allowed to use this command here.'), language)}"
    return user_message(error, language)


async def answer_error(interaction: discord.Interaction, error: Exception) -> None:
    """Tell the user once, ephemerally and in their language, whatever failed; a public
    'thinking…' is removed."""
    message = error_message(error, language_of(interaction))
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
