"""Commands on a message's context menu (right-click → Apps): its text, on the default model."""

from __future__ import annotations

from typing import Annotated

from commands.attention import attention
from commands.tokenize import tokenize
from explorer.contract import Context, Reply, UserError
from explorer.declare import Opt, command
from explorer.i18n import phrase

MESSAGE_TEXT = Opt("The message's text")


def message_text(text: str, what: str) -> str:
    """The message's text, or a reply saying there is none (`what` would be done with it:
    a `phrase`)."""
    if not text.strip():
        raise UserError(
            phrase("This message has no text to {what} (only attachments, embeds or stickers).",
                   what=what)
        )  # fmt: skip
    return text


@command(name="Tokenize message", menu=True)
async def tokenize_message(ctx: Context, text: Annotated[str, MESSAGE_TEXT]) -> Reply:
    """Tokenize this message's text with the default model."""
    return await tokenize(ctx, message_text(text, phrase("tokenize")))


@command(name="Explore attention", menu=True)
async def explore_message(ctx: Context, text: Annotated[str, MESSAGE_TEXT]) -> Reply:
    """Explore the attention of this message's text with the default model."""
    return await attention(ctx, message_text(text, phrase("explore")))
