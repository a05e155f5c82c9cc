"""Admission: the bounded queue, per-user limits, cooldown and draining."""

from __future__ import annotations

import asyncio
from dataclasses import replace

import pytest

from bot.admission import Admission
from bot.settings import load_settings
from explorer.contract import UserError

DEFAULTS = load_settings({}).capacity


def capacity(**changes: float):
    """The default capacity with some limits changed."""
    return replace(DEFAULTS, **changes)


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


async def hold(admission: Admission, user: int, release: asyncio.Event) -> None:
    async with admission.job(user):
        await release.wait()


async def settle() -> None:
    for _ in range(5):
        await asyncio.sleep(0)


async def test_full_queue_says_how_many_are_ahead():
    admission = Admission(capacity(active_jobs=2, queue_size=1, per_user_jobs=9,
                                   cooldown_seconds=0))  # fmt: skip
    release = asyncio.Event()
    tasks = [asyncio.create_task(hold(admission, user, release)) for user in (1, 2, 3)]
    await settle()
    assert (admission.running, admission.waiting) == (2, 1)
    with pytest.raises(UserError, match="Busy — 3 requests ahead of you"):
        async with admission.job(4):
            pass
    release.set()
    await asyncio.gather(*tasks)
    assert (admission.running, admission.waiting) == (0, 0)


async def test_queue_wait_is_measured():
    clock = Clock()
    admission = Admission(capacity(active_jobs=1, queue_size=5, cooldown_seconds=0), clock)
    release = asyncio.Event()
    first = asyncio.create_task(hold(admission, 1, release))
    await settle()

    async def second() -> float:
        async with admission.job(2) as ticket:
            return ticket.queue_wait

    waiting = asyncio.create_task(second())
    await settle()
    clock.now += 2.5
    release.set()
    assert await waiting == pytest.approx(2.5)
    await first


@pytest.mark.parametrize(
    ("capacity", "message"),
    [
        (capacity(per_user_jobs=1, cooldown_seconds=0), "You already have 1 command running"),
        (capacity(per_user_jobs=5, cooldown_seconds=3), r"Slow down a little: try again in 3\.0 s"),
    ],
)
async def test_one_user_cannot_starve_the_channel(capacity, message):
    admission = Admission(capacity, Clock())
    release = asyncio.Event()
    task = asyncio.create_task(hold(admission, 7, release))
    await settle()
    with pytest.raises(UserError, match=message):
        async with admission.job(7):
            pass
    async with admission.job(8):  # someone else is not affected
        pass
    release.set()
    await task


async def test_cooldown_expires():
    clock = Clock()
    admission = Admission(capacity(cooldown_seconds=1.0), clock)
    async with admission.job(1):
        pass
    clock.now += 1.0
    async with admission.job(1):
        pass


async def test_draining_refuses_new_work_and_waits_for_running():
    admission = Admission(capacity(cooldown_seconds=0))
    release = asyncio.Event()
    task = asyncio.create_task(hold(admission, 1, release))
    await settle()
    draining = asyncio.create_task(admission.drain(5))
    await settle()
    with pytest.raises(UserError, match="restarting and takes no new work"):
        async with admission.job(2):
            pass
    assert not draining.done()
    release.set()
    assert await draining is True
    await task


async def test_drain_gives_up_after_the_grace_period():
    admission = Admission(capacity(cooldown_seconds=0))
    release = asyncio.Event()
    task = asyncio.create_task(hold(admission, 1, release))
    await settle()
    assert await admission.drain(0.05) is False
    release.set()
    await task


async def test_autocompletion_takes_a_free_slot_or_none_at_once():
    """Autocompletion cannot wait in the queue (Discord wants choices within 3 s): it runs in
    a slot free now, which then counts as running, or is refused at once; every keystroke
    asks, so it is held to no user's limits, and counts in none."""
    admission = Admission(capacity(active_jobs=1, queue_size=5, per_user_jobs=1,
                                   cooldown_seconds=30))  # fmt: skip
    async with admission.job(1, immediate=True):
        assert admission.running == 1
        with pytest.raises(UserError, match="Busy"):
            async with admission.job(1, immediate=True):
                pass
    for _ in range(3):  # a user typing; their own command is then not refused
        async with admission.job(2, immediate=True):
            pass
    release = asyncio.Event()
    running = asyncio.create_task(hold(admission, 2, release))
    await settle()
    assert admission.running == 1
    with pytest.raises(UserError, match="Busy"):  # the slot is taken: refused, not queued
        async with admission.job(3, immediate=True):
            pass
    waiting = asyncio.create_task(hold(admission, 4, release))
    await settle()
    release.set()
    await asyncio.gather(running, waiting)
    assert (admission.running, admission.waiting) == (0, 0)
