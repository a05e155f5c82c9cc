"""What a user reads when something fails: their mistake explained, or a reference to our
log for anything else. Shared by the chat and the console."""

from __future__ import annotations

import logging
import secrets

from explorer.contract import UserError

log = logging.getLogger(__name__)


def user_message(error: BaseException) -> str:
    """The text for a failure: a `UserError`'s message, or an incident reference (the
    traceback goes to the log, never to the user)."""
    if isinstance(error, UserError):
        return f"⚠️ {error}"
    reference = secrets.token_hex(4)
    log.error("unexpected error (reference %s)", reference, exc_info=error)
    return f"⚠️ Something went wrong on our side (reference `{reference}`). Please try again."


def outcome(error: BaseException | None) -> str:
    """The log's name for how a request ended."""
    return "ok" if error is None else type(error).__name__
