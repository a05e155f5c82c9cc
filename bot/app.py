"""The Discord client: endpoints, command sync, health, a calm start and a clean shutdown on
SIGTERM."""

from __future__ import annotations

import asyncio
import gc
import logging
import math
import signal
from datetime import UTC, datetime, timedelta
from typing import Any

import aiohttp
import discord
import yarl
from discord import app_commands
from discord.gateway import DiscordWebSocket
from discord.http import Route
from typing_extensions import override

from commands import COMMANDS, KINDS
from explorer.live import kinds_by_name

from .connection import OneLineNetworkErrors, connect
from .controls import MEMORY_EXPLORATIONS, Explorer
from .discord_commands import Translations, register
from .metrics import registry_for
from .operations import Health, serving
from .pipeline import Pipeline
from .replies import NO_MENTIONS
from .runtime import Runtime
from .settings import Settings
from .store import Store, StoreError
from .user_tags import tag_key

log = logging.getLogger(__name__)

# Connections to Discord's REST API held open at once (discord.py sets no limit).
HTTP_CONNECTIONS = 32
# Allocations between two collections of the youngest generation (Python's default: 700).
# Every interaction leaves reference cycles behind (discord.py's interaction and its response
# point at each other): at 700, a flood of 400 presses ran about 40 young and 3 middle
# collections, 14-21 ms of the event loop; at this, one of 5-8 ms.
YOUNG_COLLECTION_OBJECTS = 20_000


def use_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Point discord.py at another REST base and gateway (an HTTP proxy, or a test server)."""
    if api_base:
        Route.BASE = api_base
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


def yield_after_each_event() -> None:
    """Let the work a gateway event starts begin before the next event is read. discord.py
    reads every event already received in one go, and the handlers it schedules run only
    after: a burst of 400 presses would be parsed whole before the first is acknowledged."""
    received = DiscordWebSocket.received_message
    if getattr(received, "yields", False):
        return

    async def received_then_yield(self: DiscordWebSocket, msg: Any, /) -> None:
        await received(self, msg)
        await asyncio.sleep(0)

    received_then_yield.yields = True  # type: ignore[attr-defined]
    DiscordWebSocket.received_message = received_then_yield  # type: ignore[method-assign]


class ExplorerBot(discord.AutoShardedClient):
    """A client with the declared commands and the live replies' controls, on the gateway shards
    the settings give this process (all of one, unsharded); the process with shard 0 syncs
    the commands when it starts."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
        # The bot has no voice: discord.py's warnings that voice libraries are missing are noise.
        discord.VoiceClient.warn_nacl = discord.VoiceClient.warn_dave = False
        # discord.py opens a new connection for every concurrent request (no limit): a burst
        # of presses would open hundreds. A bounded pool reuses kept-alive connections.
        shards: dict[str, Any] = {"shard_count": settings.shards.count or 1}
        if settings.shards.ids:
            shards["shard_ids"] = list(settings.shards.ids)
        super().__init__(
            **shards,
            intents=discord.Intents(guilds=True),
            allowed_mentions=NO_MENTIONS,
            connector=aiohttp.TCPConnector(limit=HTTP_CONNECTIONS),
        )
        self.settings = settings
        self.tree = app_commands.CommandTree(self)
        self.pipeline = Pipeline(runtime, tag_key(settings.log_hash_key, settings.data_dir))
        # Kept in memory no longer than in the store: a press on one pruned there finds it gone.
        self.explorer = Explorer(
            self.pipeline,
            runtime.store,
            kinds_by_name(KINDS),
            min(MEMORY_EXPLORATIONS, settings.max_stored_explorations),
        )
        register(self.tree, self.pipeline, COMMANDS, self.explorer, settings.user_installs)
        self.tree.on_error = self._on_tree_error  # type: ignore[method-assign]
        self._pruner: asyncio.Task[None] | None = None

    async def _on_tree_error(
        self, interaction: discord.Interaction, error: app_commands.AppCommandError
    ) -> None:
        """Errors discord.py raises before a command runs (an option it could not convert)."""
        name = interaction.command.qualified_name if interaction.command else "unknown"
        await self.pipeline.refuse(interaction, name, "command", error)

    @override
    async def setup_hook(self) -> None:
        """Learn the bot's operators, start pruning old explorations and sync the commands
        (with their translations)."""
        if self.application is not None:  # fetched at login
            self.pipeline.operators |= owners(self.application)
        store = self.pipeline.runtime.store
        if store is not None:
            days = self.settings.exploration_retention_days
            self._pruner = asyncio.create_task(prune_forever(store, days))
        await self.tree.set_translator(Translations())
        if not self.settings.shards.syncs_commands:
            log.info("commands are synced by the process with shard 0")
        elif self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to a guild of DISCORD_GUILD_IDS", len(synced))
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands (may take up to an hour to appear)", len(synced))

    @override
    async def close(self) -> None:
        """Stop pruning, then disconnect."""
        if self._pruner is not None:
            self._pruner.cancel()
        await super().close()

    def gateway_connected(self) -> bool:
        """Whether every gateway shard of this process is connected now."""
        shards = self.shards.values()
        return self.is_ready() and bool(shards) and not any(s.is_closed() for s in shards)

    def health(self) -> Health:
        """What `/healthz` reports."""
        runtime = self.pipeline.runtime
        return Health(
            gateway=self.gateway_connected(),
            models_ready=runtime.models_ready,
            models=tuple(model.name for model in runtime.compute.memory()),
            default_model=self.settings.default_model.name,
            uptime_s=runtime.stats.uptime,
        )

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every component interaction (a press or a menu choice, on any message) goes to the
        live replies' controls, which answer each one; commands go through the command tree."""
        if interaction.type is discord.InteractionType.component:
            await self.explorer.interact(interaction)

    async def on_ready(self) -> None:
        """Log who the bot is connected as, and on which shards."""
        who = f"{self.user} ({self.user.id if self.user else '?'})"
        log.info(
            "connected as %s, shards %s of %d", who, self.shard_ids or [0], self.shard_count or 1
        )


def owners(application: discord.AppInfo) -> frozenset[int]:
    """The application's owner and, for an application owned by a team, its members."""
    members = application.team.members if application.team is not None else []
    return frozenset({application.owner.id, *(member.id for member in members)})


PRUNE_EVERY_SECONDS = 3600


async def prune_forever(store: Store, days: int) -> None:
    """Forget explorations unused for `days`, now and every hour."""
    while True:
        try:
            pruned = await store.prune(datetime.now(UTC) - timedelta(days=days))
        except StoreError as error:
            log.warning("could not prune old explorations: %s", error)
        else:
            if pruned:
                log.info("pruned %d explorations unused for %d days", pruned, days)
        await asyncio.sleep(PRUNE_EVERY_SECONDS)


async def serve(settings: Settings) -> int:
    """Open the store (migrating it), serve /healthz and /metrics (if HTTP_PORT is set), reach
    Discord and connect, and meanwhile load the libraries and the default model; run until
    SIGTERM or SIGINT; then take no new work, let running commands finish (up to
    SHUTDOWN_GRACE_SECONDS), commit what the store was asked to keep, and close the connection
    and the workers. A store that cannot be used raises `StoreError`, a compute backend that
    cannot be started `ComputeError`, Discord refusing or unreachable `DiscordError`, an
    address the endpoints cannot listen on `SettingsError`."""
    use_endpoints(settings.api_base, settings.gateway_url)
    yield_after_each_event()
    gc.set_threshold(YOUNG_COLLECTION_OBJECTS, *gc.get_threshold()[1:])
    for handler in logging.getLogger().handlers:
        handler.addFilter(OneLineNetworkErrors())
    store = Store(settings.database_url, settings.max_stored_explorations)
    await store.start()
    try:
        runtime = Runtime(settings)
        await runtime.start_compute()
    except BaseException:
        await store.close()
        raise
    runtime.store = store
    client = ExplorerBot(settings, runtime)
    runtime.gateway_latency = lambda: client.latency if math.isfinite(client.latency) else None
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    assert settings.token is not None
    warming = asyncio.create_task(runtime.start())
    endpoints = serving(
        settings.http_host, settings.http_port, client.health, registry_for(runtime, client.health)
    )
    try:
        async with endpoints, client:
            runner = asyncio.create_task(
                connect(client, settings.token, settings.connect.attempts,
                        settings.connect.first_wait)
            )  # fmt: skip
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()  # raises what stopped the client
            stopper.cancel()
            log.info("shutting down: finishing %d running command(s)", runtime.admission.running)
            if not await runtime.admission.drain(settings.shutdown_grace_seconds):
                log.warning("gave up waiting for running commands after %ss",
                            settings.shutdown_grace_seconds)  # fmt: skip
        runner.cancel()  # if stopped while still reaching Discord
        await asyncio.gather(runner, return_exceptions=True)
    finally:
        await asyncio.gather(warming, return_exceptions=True)
        await store.close()
        await runtime.close()
        log.info("stopped")
    return 0
