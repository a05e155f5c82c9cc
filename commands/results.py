"""What a handler returns and how it reports a problem to the user."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DISCORD_MESSAGE_LIMIT = 2000


class UserError(Exception):
    """A problem the user can fix; its message is shown to them as is."""


@dataclass(frozen=True)
class Attachment:
    """A file sent with a reply."""

    filename: str
    data: bytes
    description: str = ""


@dataclass(frozen=True)
class Reply:
    """A message: text plus attachments, sized to fit one Discord message."""

    content: str
    attachments: tuple[Attachment, ...] = ()
    # State the chat layer can attach controls to (an attention `Session`); the console ignores it.
    session: Any = None


def reply_with_overflow(
    header: str,
    block: str,
    filename: str,
    *,
    language: str = "",
    attachments: tuple[Attachment, ...] = (),
    limit: int = DISCORD_MESSAGE_LIMIT,
) -> Reply:
    """`header` plus `block` in a code block, or the block as an attached file if too long."""
    inline = f"{header}\n```{language}\n{block}\n```"
    if len(inline) <= limit:
        return Reply(inline, attachments)
    note = f"{header}\n(The full output is attached as `{filename}`.)"
    return Reply(note[:limit], (Attachment(filename, block.encode()), *attachments))
