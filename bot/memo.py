"""Results kept by key within a byte budget: the attention tensors behind explorations, so
that pressing a button redraws without recomputing, while many long inputs cannot exhaust
memory."""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable
from typing import Any

from explorer.contract import M


class Memo:
    """Keeps computed results, least recently used dropped first once over `budget` bytes;
    a result larger than the budget is returned but not kept."""

    def __init__(self, budget: int) -> None:
        self.budget = budget
        self._kept: OrderedDict[Hashable, Any] = OrderedDict()
        self.used = 0
        self.hits = 0
        self.misses = 0

    async def get(self, key: Hashable, compute: Callable[[], Awaitable[M]]) -> M:
        """The result kept under `key`, or `compute()`'s, kept from now on if it fits."""
        if key in self._kept:
            self.hits += 1
            self._kept.move_to_end(key)
            return self._kept[key]
        self.misses += 1
        value = await compute()
        if value.nbytes <= self.budget:
            self._forget(key)
            self._kept[key] = value
            self.used += value.nbytes
            while self.used > self.budget:
                _, dropped = self._kept.popitem(last=False)
                self.used -= dropped.nbytes
        return value

    def _forget(self, key: Hashable) -> None:
        old = self._kept.pop(key, None)
        if old is not None:
            self.used -= old.nbytes

    def __len__(self) -> int:
        return len(self._kept)
