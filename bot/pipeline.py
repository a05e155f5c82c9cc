"""The one path every interaction takes: slash commands, button presses, menu choices and
autocompletion all pass the same admission, time limit, timings, statistics and single log
line, and fail through one error path that answers the user once, privately."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, Protocol, TypeVar

import discord

from explorer.contract import Live, Reply, ServerSettings, UserError
from explorer.declare import PERMISSIONS, Command, Option
from explorer.i18n import phrase

from .errors import outcome
from .replies import Acknowledgement, answer_error, language_of
from .runtime import Job, Runtime
from .store import StoreError
from .user_tags import user_tag

log = logging.getLogger(__name__)

# queued: the bounded queue and the user's limits; continuation: a slot only (finishing work
# already admitted); free: answered at once (cheap commands).
Lane = Literal["queued", "continuation", "free"]
Kind = Literal["command", "press", "autocomplete"]
Work = Callable[[Job], Awaitable[Reply]]
Deliver = Callable[[Reply], Awaitable[None]]
# Autocompletion must answer within Discord's 3 s, and cannot be deferred.
AUTOCOMPLETE_SECONDS = 2.0
K = TypeVar("K")


class Answer(Protocol[K]):
    """How a command's reply reaches the channel (`bot.controls.Explorer`): a live reply
    announced before it is drawn is kept meanwhile (`keep`), then sent with what was kept."""

    def keep(self, interaction: discord.Interaction, live: Live) -> K | None:
        """Start keeping the live reply that will answer `interaction`."""
        ...

    async def send(
        self, interaction: discord.Interaction, reply: Reply, kept: K | None = None
    ) -> None:
        """Answer `interaction` with `reply`."""
        ...


def log_line(
    name: str, kind: Kind, user: str, job: Job, queue_wait: float, total: float, result: str
) -> str:
    """One logfmt line per interaction, with no user text and no raw id (`user` is a tag)."""
    fields = {
        "command": name.replace(" ", "."),
        "kind": kind,
        "user": user,
        "model": job.fields.get("model", "-"),
        "tokens": job.fields.get("tokens", "-"),
        "queue_ms": f"{queue_wait * 1000:.0f}",
        "compute_ms": f"{job.compute_s * 1000:.0f}",
        "render_ms": f"{job.render_s * 1000:.0f}",
        "total_ms": f"{total * 1000:.0f}",
        "outcome": result,
    }
    return " ".join(f"{key}={value}" for key, value in fields.items())


OPERATORS_ONLY = phrase(
    "Loading and unloading models changes them for every server this bot is in, so only the "
    "bot's operators can do that. To choose this server's models, use `/settings "
    "default-model`, `/settings allow` or `/settings deny`."
)


def check_permission(
    command: Command, interaction: discord.Interaction, operators: frozenset[int]
) -> None:
    """Refuse a command that needs a permission the user lacks (Discord hides such commands
    from them too, but a server can change that), and one acting for every server to anyone
    but the bot's operators."""
    if command.operators:
        if interaction.user.id not in operators:
            raise UserError(OPERATORS_ONLY)
        return
    if command.permission and not getattr(interaction.permissions, command.permission, False):
        needed = PERMISSIONS[command.permission]
        raise UserError(phrase("This command needs the {needed} permission.", needed=needed))


STORE_DOWN = phrase("The bot cannot reach its database right now; please try again in a minute.")


class Pipeline:
    """Serves interactions for the runtime."""

    def __init__(self, runtime: Runtime, tag_key: bytes) -> None:
        self.runtime = runtime
        self._tag_key = tag_key
        # Who may act for every server: OPERATOR_IDS, and the application's owner or team once
        # the client has logged in.
        self.operators = frozenset(runtime.settings.operator_ids)

    async def _job(self, interaction: discord.Interaction) -> Job:
        """A context for the interaction: in a server, with that server's choices; told in the
        language of the user who sent it (for a press, whoever pressed)."""
        guild_id, store = interaction.guild_id, self.runtime.store
        server = None
        if guild_id is not None:
            try:
                server = (
                    ServerSettings(guild_id)
                    if store is None
                    else await store.server_settings(guild_id)
                )
            except StoreError as error:
                raise UserError(STORE_DOWN) from error
        return self.runtime.job(server, interaction.user.id, language_of(interaction))

    def _account(
        self,
        name: str,
        kind: Kind,
        interaction: discord.Interaction,
        job: Job,
        started: float,
        queue_wait: float,
        result: str,
    ) -> None:
        total = time.perf_counter() - started
        self.runtime.stats.record(name, total, result, kind)
        user = user_tag(self._tag_key, interaction.user.id)
        log.info(log_line(name, kind, user, job, queue_wait, total, result))

    async def serve(
        self,
        interaction: discord.Interaction,
        name: str,
        kind: Kind,
        work: Work,
        deliver: Deliver,
        lane: Lane,
    ) -> Reply | None:
        """Admit the work, run it with a time limit, and deliver its reply: in one response
        when it is ready within DEFER_AFTER_MS, else after an acknowledgement sent within
        Discord's 3 seconds. Returns the delivered reply, or None when it failed (the user
        was told why)."""
        started = time.perf_counter()
        job = self.runtime.job()  # replaced by the interaction's own once its server is known
        queue_wait = 0.0
        failure: Exception | None = None
        limit = self.runtime.settings.capacity.timeout_seconds
        try:
            # The slot is held until the answer is sent, so a shutdown drain waits for it.
            async with (
                Acknowledgement(
                    interaction, self.runtime.defer_after, thinking=kind == "command"
                ) as acknowledgement,
                contextlib.AsyncExitStack() as stack,
            ):
                if lane != "free":
                    admit = self.runtime.admission.job(
                        interaction.user.id, continuation=lane == "continuation"
                    )
                    queue_wait = (await stack.enter_async_context(admit)).queue_wait
                job = await self._job(interaction)  # admitted in arrival order, then scoped
                try:
                    async with asyncio.timeout(limit):
                        reply = await work(job)
                except TimeoutError:
                    raise UserError(
                        phrase(
                            "This took longer than {limit:g} s and was stopped. "
                            "Try a shorter text or a smaller model.",
                            limit=limit,
                        )
                    ) from None
                await acknowledgement.ready(reply)
                await deliver(reply)
                return reply
        except Exception as error:
            failure = error
            await answer_error(interaction, error)
            return None
        finally:
            job.close()
            self._account(name, kind, interaction, job, started, queue_wait, outcome(failure))

    async def command(
        self,
        interaction: discord.Interaction,
        command: Command,
        arguments: dict[str, Any],
        answer: Answer[Any],
    ) -> Reply | None:
        """Run a slash command and answer through `answer`."""
        kept: list[Any] = []  # what `answer` kept of the live reply the command announced

        async def work(job: Job) -> Reply:
            check_permission(command, interaction, self.operators)
            job.announced = lambda live: kept.append(answer.keep(interaction, live))
            return await command(job, **arguments)

        async def deliver(reply: Reply) -> None:
            await answer.send(interaction, reply, kept[-1] if kept else None)

        lane: Lane = "queued" if command.queued else "free"
        return await self.serve(interaction, command.path, "command", work, deliver, lane)

    async def refuse(
        self, interaction: discord.Interaction, name: str, kind: Kind, error: Exception
    ) -> None:
        """Answer a request that cannot be served (an expired exploration, an option Discord
        could not convert) through the error path, logged like any other interaction."""
        started = time.perf_counter()
        job = self.runtime.job()
        try:
            await answer_error(interaction, error)
        finally:
            self._account(name, kind, interaction, job, started, 0.0, outcome(error))

    async def acknowledge(
        self, interaction: discord.Interaction, name: str, result: str = "folded"
    ) -> None:
        """Acknowledge a press that needs no work of its own (folded into a redraw already
        under way, or one that changes nothing): a silent deferral, logged like any other
        interaction with `result` as its outcome."""
        started = time.perf_counter()
        job = self.runtime.job()
        failure: Exception | None = None
        try:
            await interaction.response.defer()
        except discord.HTTPException as error:
            failure = error
            log.warning("could not acknowledge interaction %s: %s", interaction.id, error)
        finally:
            done = result if failure is None else outcome(failure)
            self._account(name, "press", interaction, job, started, 0.0, done)

    async def complete(
        self, interaction: discord.Interaction, command: Command, option: Option, current: str
    ) -> list[tuple[str, str]]:
        """Autocompletion choices for `option`: a slot free now or none (it cannot wait in the
        queue), and a short time limit; on any failure, no choices."""
        assert option.complete is not None
        started = time.perf_counter()
        job = self.runtime.job()
        failure: Exception | None = None
        try:
            async with self.runtime.admission.job(interaction.user.id, immediate=True):
                job = await self._job(interaction)
                async with asyncio.timeout(AUTOCOMPLETE_SECONDS):
                    typed = {name: value for name, value in interaction.namespace}
                    return await option.complete(job, typed, current)
        except Exception as error:
            failure = error
            if not isinstance(error, UserError | TimeoutError):
                log.exception("autocompletion of %s.%s failed", command.path, option.name)
            return []
        finally:
            job.close()
            self._account(
                command.path, "autocomplete", interaction, job, started, 0.0, outcome(failure)
            )
