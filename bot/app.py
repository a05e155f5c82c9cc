"""The Discord client: endpoints, command sync, and a clean shutdown on SIGTERM."""

from __future__ import annotations

import asyncio
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

from commands import COMMANDS

from .controls import Explorer
from .discord_commands import register
from .pipeline import Pipeline
from .replies import NO_MENTIONS
from .runtime import Runtime
from .settings import Settings
from .store import Store, StoreError

log = logging.getLogger(__name__)

# Connections to Discord's REST API held open at once (discord.py sets no limit).
HTTP_CONNECTIONS = 32


def use_endpoints(api_base: str | None, gateway_url: str | None) -> None:
    """Point discord.py at another REST base and gateway (an HTTP proxy, or a test server)."""
    if api_base:
        Route.BASE = api_base
    if gateway_url:
        DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(gateway_url)


class ExplorerBot(discord.AutoShardedClient):
    """A client with the declared commands and the explorer's controls, on the gateway shards
    the settings give this process (all of one, unsharded); the process with shard 0 syncs
    the commands when it starts."""

    def __init__(self, settings: Settings, runtime: Runtime) -> None:
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
        self.pipeline = Pipeline(runtime)
        self.explorer = Explorer(self.pipeline, runtime.store)
        register(self.tree, self.pipeline, COMMANDS, self.explorer.send)
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
        """Start pruning old explorations and sync the commands."""
        store = self.pipeline.runtime.store
        if store is not None:
            days = self.settings.exploration_retention_days
            self._pruner = asyncio.create_task(prune_forever(store, days))
        if not self.settings.shards.syncs_commands:
            log.info("commands are synced by the process with shard 0")
        elif self.settings.guild_ids:
            for guild_id in self.settings.guild_ids:
                guild = discord.Object(id=guild_id)
                self.tree.copy_global_to(guild=guild)
                synced = await self.tree.sync(guild=guild)
                log.info("synced %d commands to guild %s", len(synced), guild_id)
        else:
            synced = await self.tree.sync()
            log.info("synced %d global commands (may take up to an hour to appear)", len(synced))

    @override
    async def close(self) -> None:
        """Stop pruning, then disconnect."""
        if self._pruner is not None:
            self._pruner.cancel()
        await super().close()

    async def on_interaction(self, interaction: discord.Interaction) -> None:
        """Every component interaction (a press or a menu choice, on any message) goes to the
        explorer, which answers each one; commands go through the command tree."""
        if interaction.type is discord.InteractionType.component:
            await self.explorer.interact(interaction)

    async def on_ready(self) -> None:
        """Log who the bot is connected as, and on which shards."""
        who = f"{self.user} ({self.user.id if self.user else '?'})"
        log.info(
            "connected as %s, shards %s of %d", who, self.shard_ids or [0], self.shard_count or 1
        )


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
    """Open the store (migrating it), connect, and meanwhile load the libraries and the
    default model; run until SIGTERM or SIGINT; then take no new work, let running commands
    finish (up to SHUTDOWN_GRACE_SECONDS), commit what the store was asked to keep, and close
    the connection and the workers. A store that cannot be used raises `StoreError`, a compute
    backend that cannot be started `ComputeError`."""
    use_endpoints(settings.api_base, settings.gateway_url)
    store = Store(settings.database_url)
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
    try:
        async with client:
            runner = asyncio.create_task(client.start(settings.token))
            stopper = asyncio.create_task(stop.wait())
            done, _ = await asyncio.wait({runner, stopper}, return_when=asyncio.FIRST_COMPLETED)
            if runner in done:
                runner.result()  # raises what stopped the client
            stopper.cancel()
            log.info("shutting down: finishing %d running command(s)", runtime.admission.running)
            if not await runtime.admission.drain(settings.shutdown_grace_seconds):
                log.warning("gave up waiting for running commands after %ss",
                            settings.shutdown_grace_seconds)  # fmt: skip
    except discord.LoginFailure:
        log.error("Discord rejected the token: check DISCORD_TOKEN (see .env.example)")
        return 1
    finally:
        await asyncio.gather(warming, return_exceptions=True)
        await store.close()
        await runtime.close()
        log.info("stopped")
    return 0
