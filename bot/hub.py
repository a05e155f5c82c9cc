"""Whether the Hugging Face Hub answers: a quick check that spares hub downloads half a minute of
retries when there is no network, and going offline (HF_HUB_OFFLINE=1) when it does not.
Standard library only, so it costs nothing to import."""

from __future__ import annotations

import logging
import os
import socket
from typing import TYPE_CHECKING
from urllib.parse import urlparse

if TYPE_CHECKING:
    from .settings import ModelSpec

log = logging.getLogger(__name__)


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


def go_offline_without_hub(specs: tuple[ModelSpec, ...]) -> bool:
    """If a hub model is allowed, HF_HUB_OFFLINE is unset and the Hub cannot be reached, set
    HF_HUB_OFFLINE=1 (before transformers is imported) so that models load from the cache
    at once instead of after half a minute of retries. True if it did."""
    if os.environ.get("HF_HUB_OFFLINE") or all(spec.local for spec in specs):
        return False
    if hub_reachable():
        return False
    os.environ["HF_HUB_OFFLINE"] = "1"
    log.warning(
        "The Hugging Face Hub cannot be reached: hub models load from the local cache only "
        "(HF_HUB_OFFLINE=1)."
    )
    return True
