"""Latency statistics per command since start, for `/status`."""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque

import numpy as np

from explorer.contract import CommandLatency

WINDOW = 2000  # latest samples kept per command


class CommandStats:
    """Records how long each command took and how it ended."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._samples: defaultdict[str, deque[float]] = defaultdict(lambda: deque(maxlen=WINDOW))
        self._outcomes: Counter[tuple[str, str]] = Counter()

    def record(self, command: str, seconds: float, outcome: str) -> None:
        """Count one finished request and how long it took."""
        self._samples[command].append(seconds)
        self._outcomes[command, outcome] += 1

    def latencies(self) -> tuple[CommandLatency, ...]:
        """p50 and p95 per command, over the latest samples, in command order."""
        rows = []
        for command, samples in sorted(self._samples.items()):
            p50, p95 = np.percentile(np.fromiter(samples, float), [50, 95])
            total = sum(n for (name, _), n in self._outcomes.items() if name == command)
            failed = total - self._outcomes[command, "ok"]
            rows.append(CommandLatency(command, total, failed, p50 * 1e3, p95 * 1e3))
        return tuple(rows)

    @property
    def uptime(self) -> float:
        """Seconds since start."""
        return time.monotonic() - self.started
