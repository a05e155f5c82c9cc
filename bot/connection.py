"""Reaching Discord calmly. Before discord.py connects, one attempt checks that the REST API
accepts the token and that the gateway says hello; failed attempts are retried with doubling
waits, one log line each, up to DISCORD_CONNECT_ATTEMPTS. discord.py itself would retry the
gateway for ever, logging a traceback every 5 s, and let a refused connection end the process
with a traceback. Every condition a network or Discord is expected to produce (refused
connections, DNS, TLS, timeouts, 5xx, a closed gateway) ends as one line and an exit status:
2 when the configuration must change (the token, DISCORD_API_BASE), 1 when trying later may
work."""

from __future__ import annotations

import asyncio
import json
import logging

import aiohttp
import discord
import yarl
from discord.gateway import DiscordWebSocket
from discord.http import INTERNAL_API_VERSION, Route

from explorer.text import plural

log = logging.getLogger(__name__)

ATTEMPT_TIMEOUT_SECONDS = 10.0  # for each request of an attempt
LONGEST_WAIT_SECONDS = 60.0  # the doubling waits between attempts stop growing here
GATEWAY_HELLO = 10  # the opcode of the gateway's first message
# Gateway close codes after which Discord will not take the connection back, what they mean,
# and what to change: https://discord.com/developers/docs/topics/opcodes-and-status-codes
FINAL_CLOSES = {
    4004: "authentication failed",
    4010: "invalid shard: check SHARD_COUNT and SHARD_IDS",
    4011: "sharding required: set SHARD_COUNT",
    4012: "invalid API version",
    4013: "invalid intents",
    4014: "disallowed intents",
}
# A message about the token, not a token.
TOKEN_REJECTED = "DISCORD_TOKEN was rejected (401 Unauthorized): check it (see .env.example)"  # noqa: S105


class DiscordError(Exception):
    """Discord cannot be used: one line for the operator, and the exit status (2: change the
    configuration; 1: trying again later may work)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class _Unanswered(Exception):
    """One attempt failed in a way that may pass (a 5xx, a gateway that did not say hello)."""


def reason(error: BaseException) -> str | None:
    """Why a connection to Discord failed, in one line, for the failures networks and Discord
    are expected to produce; None for anything else (a bug, whose traceback is wanted)."""
    if isinstance(error, TimeoutError):
        return "no answer in time"
    if isinstance(error, discord.ConnectionClosed):
        what = FINAL_CLOSES.get(error.code) or error.reason
        return f"the gateway closed the connection ({error.code}{': ' * bool(what)}{what})"
    if isinstance(error, discord.HTTPException | discord.GatewayNotFound | _Unanswered):
        text = str(error)
    elif isinstance(error, aiohttp.ClientError | OSError):
        text = str(error) or type(error).__name__
    else:
        return None
    return " ".join(text.split())  # one line


def _shown(url: str | yarl.URL) -> str:
    """A URL without any user or password in it."""
    return str(yarl.URL(url).with_user(None))


async def _attempt(session: aiohttp.ClientSession, token: str) -> None:
    """Ask the REST API who the token belongs to, and wait for the gateway's hello."""
    me = f"{Route.BASE}/users/@me"
    async with session.get(me, headers={"Authorization": f"Bot {token}"}) as response:
        if response.status == 401:
            raise DiscordError(TOKEN_REJECTED, 2)
        if response.status >= 500 or response.status == 429:
            raise _Unanswered(f"{_shown(me)} answered {response.status} {response.reason}")
        if response.status >= 400:
            raise DiscordError(
                f"{_shown(me)} answered {response.status} {response.reason}: "
                "check DISCORD_API_BASE (it ends with /api/v10)",
                2,
            )
    gateway = DiscordWebSocket.DEFAULT_GATEWAY.with_query(v=INTERNAL_API_VERSION, encoding="json")
    async with session.ws_connect(gateway) as socket:
        hello = await socket.receive(timeout=ATTEMPT_TIMEOUT_SECONDS)
        text = hello.data if hello.type is aiohttp.WSMsgType.TEXT else "{}"
        if json.loads(text).get("op") != GATEWAY_HELLO:
            raise _Unanswered(f"the gateway at {_shown(gateway)} did not say hello")


async def reach_discord(token: str, user_agent: str, attempts: int, first_wait: float) -> None:
    """Return once Discord accepts the token and its gateway answers; `DiscordError` when it
    rejects the token, or when every one of `attempts` failed (waiting `first_wait` seconds
    after the first failure, twice as long after each next one)."""
    timeout = aiohttp.ClientTimeout(total=ATTEMPT_TIMEOUT_SECONDS)
    headers = {"User-Agent": user_agent}
    async with aiohttp.ClientSession(timeout=timeout, headers=headers) as session:
        for attempt in range(1, attempts + 1):
            try:
                await _attempt(session, token)
                return
            except Exception as error:
                why = reason(error)
                if why is None:
                    raise
            retry = attempt < attempts
            wait = min(first_wait * 2 ** (attempt - 1), LONGEST_WAIT_SECONDS)
            log.warning("Discord cannot be reached (attempt %d of %d): %s%s", attempt, attempts,
                        why, f"; trying again in {wait:g} s" if retry else "")  # fmt: skip
            if retry:
                await asyncio.sleep(wait)
    raise DiscordError(
        f"unreachable after {plural(attempts, 'attempt')} (DISCORD_API_BASE "
        f"{_shown(Route.BASE)}, DISCORD_GATEWAY_URL {_shown(DiscordWebSocket.DEFAULT_GATEWAY)}); "
        "giving up",
        1,
    )


def as_discord_error(error: BaseException) -> DiscordError | None:
    """What stopped a connected client, as a `DiscordError`; None for the unexpected."""
    if isinstance(error, discord.LoginFailure):
        return DiscordError(TOKEN_REJECTED, 2)
    if isinstance(error, discord.ConnectionClosed) and error.code == 4004:  # authentication
        return DiscordError(TOKEN_REJECTED, 2)
    why = reason(error)
    if why is None:
        return None
    if isinstance(error, discord.HTTPException) and 400 <= error.status < 500:
        # Refused, and would be again: syncing commands to a guild the bot is not in, say.
        return DiscordError(f"a request was refused: {why}", 2)
    final = isinstance(error, discord.ConnectionClosed) and error.code in FINAL_CLOSES
    return DiscordError(f"the connection ended: {why}", 2 if final else 1)


async def connect(client: discord.Client, token: str, attempts: int, first_wait: float) -> None:
    """Reach Discord (`reach_discord`), then log in and stay connected until the client is
    closed; what stops it that a network or Discord may cause is a `DiscordError`."""
    await reach_discord(token, client.http.user_agent, attempts, first_wait)
    try:
        await client.start(token)
    except Exception as error:
        failure = as_discord_error(error)
        if failure is None:
            raise
        raise failure from None


class OneLineNetworkErrors(logging.Filter):
    """discord.py logs a failed gateway connection with its traceback before it retries: the
    reason in one line instead, for the failures `reason` expects."""

    def filter(self, record: logging.LogRecord) -> bool:
        """Fold the exception of an expected failure into the message."""
        error = record.exc_info[1] if record.exc_info else None
        if error is not None and record.name.startswith("discord."):
            why = reason(error)
            if why is not None:
                record.msg, record.args = f"{record.getMessage()}: {why}", ()
                record.exc_info, record.exc_text = None, None
        return True
