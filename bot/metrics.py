"""`/metrics`: the Prometheus metrics of the bot, read when scraped from the counts the runtime
keeps anyway (the command statistics, the admission queue, the batcher, the loaded models,
the store), so that each is counted in one place; plus the process, GC and platform metrics of
`prometheus_client`."""

from __future__ import annotations

from collections.abc import Callable, Iterable

from prometheus_client import (
    GC_COLLECTOR,
    PLATFORM_COLLECTOR,
    PROCESS_COLLECTOR,
    CollectorRegistry,
)
from prometheus_client.core import (
    CounterMetricFamily,
    GaugeMetricFamily,
    HistogramMetricFamily,
    Metric,
)
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from .operations import Health
from .runtime import Runtime

PREFIX = "model_explorer"


def batch_histogram(sizes: dict[int, int], max_batch: int) -> HistogramMetricFamily:
    """Batch sizes (requests per forward pass) in buckets of powers of two up to `max_batch`."""
    bounds = sorted({2**i for i in range(max_batch.bit_length()) if 2**i < max_batch} | {max_batch})
    buckets = [
        (floatToGoString(bound), sum(n for size, n in sizes.items() if size <= bound))
        for bound in bounds
    ]
    total = sum(sizes.values())
    served = sum(size * n for size, n in sizes.items())
    return HistogramMetricFamily(
        f"{PREFIX}_batch_size",
        "Requests in each forward pass the batcher ran",
        buckets=[*buckets, ("+Inf", total)],
        sum_value=served,
    )


class RuntimeCollector(Collector):
    """The runtime's counts and state, as Prometheus metrics."""

    def __init__(self, runtime: Runtime, health: Callable[[], Health]) -> None:
        self.runtime = runtime
        self.health = health

    def collect(self) -> Iterable[Metric]:
        """Every metric, as it stands now."""
        runtime = self.runtime
        health = self.health()
        yield GaugeMetricFamily(f"{PREFIX}_ready", "1 when /healthz answers 200", health.ready)
        yield GaugeMetricFamily(
            f"{PREFIX}_gateway_connected", "1 when every gateway shard is connected",
            value=health.gateway,
        )  # fmt: skip
        requests = CounterMetricFamily(
            f"{PREFIX}_requests",
            "Interactions served, by command, kind (command, press, autocomplete) and outcome "
            "(ok, folded, or the error's type)",
            labels=["command", "kind", "outcome"],
        )
        for (command, kind, outcome), count in sorted(runtime.stats.outcomes.items()):
            requests.add_metric([command, kind, outcome], count)
        yield requests
        yield from runtime.stats.latency.collect()
        admission = runtime.admission
        yield GaugeMetricFamily(
            f"{PREFIX}_queue_waiting", "Commands waiting for a slot", value=admission.waiting
        )
        yield GaugeMetricFamily(
            f"{PREFIX}_jobs_running", "Commands holding a slot", value=admission.running
        )
        compute = runtime.compute
        yield batch_histogram(compute.batcher.sizes, runtime.settings.max_batch)
        memory = GaugeMetricFamily(
            f"{PREFIX}_model_memory_bytes", "Bytes of each model in memory", labels=["model"]
        )
        for model in compute.memory():
            memory.add_metric([model.name], model.nbytes)
        yield memory
        yield GaugeMetricFamily(
            f"{PREFIX}_model_memory_budget_bytes", "MODEL_MEMORY_MB, in bytes",
            value=runtime.settings.model_memory_mb * 2**20,
        )  # fmt: skip
        store = runtime.store
        if store is not None:
            yield CounterMetricFamily(
                f"{PREFIX}_store_writes", "Writes to the database, failed ones included",
                value=store.writes,
            )  # fmt: skip
            yield CounterMetricFamily(
                f"{PREFIX}_store_write_failures", "Writes to the database that failed",
                value=store.failed_writes,
            )  # fmt: skip


def registry_for(runtime: Runtime, health: Callable[[], Health]) -> CollectorRegistry:
    """A registry of the runtime's metrics and the process's (its own, not the global one)."""
    registry = CollectorRegistry()
    registry.register(RuntimeCollector(runtime, health))
    for collector in (PROCESS_COLLECTOR, PLATFORM_COLLECTOR, GC_COLLECTOR):
        registry.register(collector)
    return registry
