"""Whether the Hugging Face Hub answers: a quick check that spares hub downloads half a minute of
retries when there is no network. Standard library only, so it costs nothing to import."""

from __future__ import annotations

import os
import socket
from urllib.parse import urlparse


def hub_endpoint() -> str:
    """The Hub's address: HF_ENDPOINT (a mirror) or huggingface.co."""
    return os.environ.get("HF_ENDPOINT") or "https://huggingface.co"


def hub_reachable(timeout: float = 2.0) -> bool:
    """Whether the Hugging Face Hub (or HF_ENDPOINT) answers a connection, within `timeout`."""
    endpoint = urlparse(hub_endpoint())
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((endpoint.hostname or "", port), timeout=timeout).close()
    except OSError:
        return False
    return True
