"""Statistics of every interaction since start: counts by outcome and latencies, for `/status`
(p50/p95 over the latest samples) and `/metrics` (counters and histograms)."""

from __future__ import annotations

import time
from collections import Counter, defaultdict, deque

import numpy as np
from prometheus_client import Histogram

from explorer.contract import CommandLatency

WINDOW = 2000  # latest samples kept per command
# Seconds: from an instant answer to a cold model load or a long exploration.
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)


def _shown(command: str, kind: str) -> str:
    """How `/status` names a command's row: a press or an autocompletion apart."""
    return command if kind == "command" else f"{command} ({kind})"


class CommandStats:
    """Records how long each interaction took and how it ended; `kind` tells a command from
    a press or an autocompletion of it."""

    def __init__(self) -> None:
        self.started = time.monotonic()
        self._samples: defaultdict[str, deque[float]] = defaultdict(lambda: deque(maxlen=WINDOW))
        self.outcomes: Counter[tuple[str, str, str]] = Counter()  # (command, kind, outcome)
        # Not registered anywhere: `bot.metrics` collects it with the runtime's other counts.
        self.latency = Histogram(
            "model_explorer_request_duration_seconds",
            "Time from receiving an interaction to its answer being sent",
            ["command", "kind"],
            registry=None,
            buckets=LATENCY_BUCKETS,
        )

    def record(self, command: str, seconds: float, outcome: str, kind: str = "command") -> None:
        """Count one finished interaction and how long it took."""
        self._samples[_shown(command, kind)].append(seconds)
        self.outcomes[command, kind, outcome] += 1
        self.latency.labels(command, kind).observe(seconds)

    def latencies(self) -> tuple[CommandLatency, ...]:
        """p50 and p95 per command (a press or an autocompletion apart), over the latest
        samples, in command order."""
        totals: Counter[str] = Counter()
        failed: Counter[str] = Counter()
        for (command, kind, outcome), count in self.outcomes.items():
            shown = _shown(command, kind)
            totals[shown] += count
            failed[shown] += 0 if outcome == "ok" else count
        rows = []
        for shown, samples in sorted(self._samples.items()):
            p50, p95 = np.percentile(np.fromiter(samples, float), [50, 95])
            rows.append(CommandLatency(shown, totals[shown], failed[shown], p50 * 1e3, p95 * 1e3))
        return tuple(rows)

    @property
    def uptime(self) -> float:
        """Seconds since start."""
        return time.monotonic() - self.started
