"""The operator's endpoints, on the bot's own event loop: `GET /healthz` (200 when the gateway
is connected and the models are ready, else 503, with the same JSON either way) and
`GET /metrics` (the Prometheus text format, written by `prometheus_client`). Served on
HTTP_HOST:HTTP_PORT in bot mode only, from before the gateway connects."""

from __future__ import annotations

import contextlib
import logging
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .settings import SettingsError

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Health:
    """Whether the bot can serve commands now, and why not."""

    gateway: bool  # every gateway shard of this process is connected
    models_ready: bool  # libraries loaded, and the default model if it is preloaded
    models: tuple[str, ...]  # the models in memory now
    default_model: str
    uptime_s: float

    @property
    def ready(self) -> bool:
        """Connected, with the models ready."""
        return self.gateway and self.models_ready

    def as_json(self) -> dict[str, Any]:
        """The body of `/healthz`."""
        return {
            "ready": self.ready,
            "gateway": self.gateway,
            "models": list(self.models),
            "models_ready": self.models_ready,
            "default_model": self.default_model,
            "uptime_s": round(self.uptime_s, 1),
        }


def endpoints(health: Callable[[], Health], registry: CollectorRegistry) -> web.Application:
    """The aiohttp application serving `/healthz` and `/metrics`."""

    async def healthz(_: web.Request) -> web.Response:
        now = health()
        return web.json_response(now.as_json(), status=200 if now.ready else 503)

    async def metrics(_: web.Request) -> web.Response:
        response = web.Response(body=generate_latest(registry))
        response.headers["Content-Type"] = CONTENT_TYPE_LATEST
        return response

    app = web.Application()
    app.router.add_get("/healthz", healthz)
    app.router.add_get("/metrics", metrics)
    return app


@contextlib.asynccontextmanager
async def serving(
    host: str, port: int, health: Callable[[], Health], registry: CollectorRegistry
) -> AsyncIterator[None]:
    """Serve the endpoints on host:port while the block runs (nothing when `port` is 0). An
    address that cannot be listened on is a `SettingsError`."""
    if not port:
        yield
        return
    runner = web.AppRunner(endpoints(health, registry), access_log=None)
    await runner.setup()
    try:
        try:
            await web.TCPSite(runner, host, port).start()
        except OSError as error:
            raise SettingsError(
                f"HTTP_HOST:HTTP_PORT {host}:{port} cannot be listened on: "
                f"{error.strerror or error}"
            ) from None
        log.info("serving /healthz and /metrics on http://%s:%d", host, port)
        yield
    finally:
        await runner.cleanup()
