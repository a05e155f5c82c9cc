"""Users in the log: a keyed hash (HMAC-SHA256) of the Discord id, never the id itself. The key
is `LOG_HASH_KEY`, or one generated once and kept under `DATA_DIR` (readable by the bot's user
only), so that tags stay the same across restarts yet cannot be computed from an id by anyone
without the key. The key itself is never logged."""

from __future__ import annotations

import contextlib
import functools
import hashlib
import hmac
import os
import secrets
import tempfile
from pathlib import Path

KEY_FILE = "log-hash-key"


def tag_key(configured: str | None, data_dir: Path) -> bytes:
    """The key for user tags: the configured one, else the one kept in `data_dir` (made on
    first use)."""
    if configured:
        return configured.encode()
    path = data_dir / KEY_FILE
    if not path.exists():
        data_dir.mkdir(parents=True, exist_ok=True)
        # Written whole under another name, then linked into place: of two processes starting
        # together one key wins, and neither ever reads a half-written file.
        with tempfile.NamedTemporaryFile("w", dir=data_dir, prefix=f".{KEY_FILE}-") as draft:
            draft.write(secrets.token_hex(32))
            draft.flush()
            with contextlib.suppress(FileExistsError):
                os.link(draft.name, path)
    return path.read_text().strip().encode()


@functools.lru_cache(maxsize=4096)  # every interaction is logged: a flood of presses too
def user_tag(key: bytes, user_id: int) -> str:
    """A stable tag for a user in the log, which only the key's holder can link to an id."""
    return hmac.new(key, str(user_id).encode(), hashlib.sha256).hexdigest()[:10]
