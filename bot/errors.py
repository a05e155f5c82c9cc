"""What a user reads when something fails: their mistake explained, or a reference to our
log for anything else. Shared by the chat and the console."""

from __future__ import annotations

import logging
import secrets

from explorer.contract import UserError
from explorer.i18n import SOURCE_LANGUAGE, phrase, tell

log = logging.getLogger(__name__)


def user_message(error: BaseException, language: str = SOURCE_LANGUAGE) -> str:
    """The text for a failure in `language`: a `UserError`'s message, or an incident
    reference (the traceback goes to the log, never to the user)."""
    if isinstance(error, UserError):
        given = error.args[0] if error.args and isinstance(error.args[0], str) else str(error)
        return f"⚠️ {tell(given, language)}"
    reference = secrets.token_hex(4)
    log.error("unexpected error (reference %s)", reference, exc_info=error)
    failed = phrase(
        "Something went wrong on our side (reference `{reference}`). Please try again.",
        reference=reference,
    )
    return f"⚠️ {tell(failed, language)}"


def outcome(error: BaseException | None) -> str:
    """The log's name for how a request ended."""
    return "ok" if error is None else type(error).__name__
