"""Admission control: a bounded queue of commands, per-user limits, and draining on shutdown."""

from __future__ import annotations

import asyncio
import time
from collections import Counter
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass

from explorer.contract import UserError
from explorer.i18n import phrase, plural_phrase


@dataclass(frozen=True)
class Capacity:
    """How much work the bot takes on at once, and from one user."""

    active_jobs: int
    queue_size: int
    per_user_jobs: int
    cooldown_seconds: float
    timeout_seconds: float


@dataclass
class Ticket:
    """One admitted command: how long it waited for a slot."""

    queue_wait: float = 0.0


class Admission:
    """Admits a command, queues it (bounded) until a slot is free, and refuses politely
    when the queue is full, the user is over their limits, or the bot is shutting down."""

    def __init__(self, capacity: Capacity, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = capacity
        self._clock = clock
        self._slots = asyncio.Semaphore(capacity.active_jobs)
        self._waiting = 0
        self._running = 0
        self._per_user: Counter[int] = Counter()
        self._last_start: dict[int, float] = {}
        self._idle = asyncio.Event()
        self._idle.set()
        self.draining = False

    @property
    def waiting(self) -> int:
        """Work admitted and waiting for a slot."""
        return self._waiting

    @property
    def running(self) -> int:
        """Work holding a slot now."""
        return self._running

    def _refuse_early(self, user: int, now: float) -> None:
        if self._per_user[user] >= self.capacity.per_user_jobs:
            raise UserError(
                plural_phrase(
                    "You already have {count} command running; please wait for one to finish.",
                    "You already have {count} commands running; please wait for one to finish.",
                    self._per_user[user],
                )
            )
        last = self._last_start.get(user)
        if last is not None and now - last < self.capacity.cooldown_seconds:
            wait = self.capacity.cooldown_seconds - (now - last)
            raise UserError(phrase("Slow down a little: try again in {wait:.1f} s.", wait=wait))
        if self._waiting >= self.capacity.queue_size:
            ahead = self._waiting + self._running
            raise UserError(
                plural_phrase(
                    "🚦 Busy — {count} request ahead of you. Please try again shortly.",
                    "🚦 Busy — {count} requests ahead of you. Please try again shortly.",
                    ahead,
                )
            )

    @asynccontextmanager
    async def job(
        self, user: int, *, continuation: bool = False, immediate: bool = False
    ) -> AsyncIterator[Ticket]:
        """Hold a slot for one piece of work of `user`, waiting in the bounded queue if needed.
        A `continuation` finishes work already admitted (the redraw owed to presses that were
        folded into a running one): it takes a slot but is not held to the user's limits.
        `immediate` work (autocompletion, which cannot wait) takes a slot that is free now,
        ahead of no one, or is refused at once; it is not held to the user's limits either
        (every keystroke asks), nor counted in them."""
        now = self._clock()
        if self.draining:
            raise UserError(
                phrase("The bot is restarting and takes no new work; try again in a minute.")
            )
        if immediate and self._slots.locked():  # locked: no slot free, or others waiting
            raise UserError(phrase("🚦 Busy: no slot free for this right now."))
        if not (continuation or immediate):
            self._refuse_early(user, now)
            self._last_start[user] = now
        counted = 0 if immediate else 1
        self._per_user[user] += counted
        self._waiting += 1
        self._idle.clear()
        ticket = Ticket()
        try:
            try:
                await self._slots.acquire()
            finally:
                self._waiting -= 1
            self._running += 1
            ticket.queue_wait = self._clock() - now
            try:
                yield ticket
            finally:
                self._running -= 1
                self._slots.release()
        finally:
            self._per_user[user] -= counted
            if not self._per_user[user]:
                del self._per_user[user]
            if self._waiting == 0 and self._running == 0:
                self._idle.set()

    async def drain(self, grace: float) -> bool:
        """Refuse new work and wait up to `grace` seconds for admitted work; True if all done."""
        self.draining = True
        try:
            await asyncio.wait_for(self._idle.wait(), grace)
        except TimeoutError:
            return False
        return True
