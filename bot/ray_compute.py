"""Model work on Ray Serve (`COMPUTE_BACKEND=ray`): a deployment whose replicas load the
allowlisted models under the bot's rules (the same registry: `trust_remote_code=False`, the
model memory budget, at most MAX_LOADED_MODELS) and run forward passes. The bot's batcher sends
each batch in one call (one Ray round trip per pass, not per request), and the replica's
`@serve.batch` merges the batches that reach it within BATCH_WINDOW_MS of each other from
several bot processes (the shards) into one pass. A request's `finish` runs in the replica,
next to the tensors, and only its result comes back (pickled); pictures are drawn in the bot,
which keeps what a message's buttons need (docs/scaling.md has the measurements behind both
choices).

The bot connects to the cluster at RAY_ADDRESS, or starts a local Ray of its own. Bots with the
same models and options (the shards of one bot) share one Serve application: its name carries
a digest of them, and a running application is used as it is, not deployed again.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import logging
import os
import socket
import time
from collections import Counter, defaultdict
from collections.abc import Callable, Hashable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any, TypeVar

import ray
from ray import serve
from ray.exceptions import RayActorError, RayError, RayTaskError
from ray.serve.exceptions import RayServeException

from explorer.contract import (
    Forwarded,
    ForwardRequest,
    Item,
    ModelCard,
    ModelMemory,
    Outcome,
    UserError,
)
from explorer.i18n import phrase

from .batching import Batcher
from .compute import ComputeError
from .hub import go_offline_without_hub
from .libraries import prepare_libraries
from .registry import ModelRegistry
from .settings import ModelSpec, RayOptions, Settings

log = logging.getLogger(__name__)
T = TypeVar("T")
Batch = tuple[str, ForwardRequest, list[Item]]  # a model's name, the first request, the items

APP_PREFIX = "model-explorer"
CONNECT_TIMEOUT_S = 5.0
# A bot-started local Ray: a small object store (results are pictures' data, not models).
LOCAL_OBJECT_STORE_BYTES = 256 * 2**20

WORKER_DIED = phrase(
    "The model worker stopped while working on this request. It is being restarted: "
    "please try again in a moment."
)
UNREACHABLE = phrase("The model workers cannot be reached right now. Please try again in a moment.")
# How often a call still waiting for its answer checks that the application is still there.
APP_CHECK_SECONDS = 5.0


@dataclass(frozen=True)
class WorkerOptions:
    """What each replica is told: the allowlist and the rules for loading and batching."""

    models: tuple[ModelSpec, ...]
    max_loaded_models: int
    model_memory_mb: int
    torch_threads: int
    max_batch: int
    batch_window_ms: int


def _requests_in(batches: list[Batch]) -> int:
    """How many requests batches hold (what MAX_BATCH bounds)."""
    return sum(len(items) for _, _, items in batches)


class ModelWorkers:
    """One Serve replica: a model registry and batched forward passes, run on a worker thread
    so that the replica keeps answering Serve's health checks."""

    def __init__(self, options: WorkerOptions) -> None:
        prepare_libraries(options.torch_threads)
        self._pool = ThreadPoolExecutor(max_workers=1, thread_name_prefix="explorer-replica")
        self.registry = ModelRegistry(
            options.models,
            options.max_loaded_models,
            self._run,
            memory_budget=options.model_memory_mb * 2**20,
        )
        self.serve_batches.set_max_batch_size(options.max_batch)  # type: ignore[attr-defined]
        self.serve_batches.set_batch_wait_timeout_s(options.batch_window_ms / 1000)  # type: ignore[attr-defined]

    async def _run(self, fn: Callable[..., T], /, *args: Any) -> T:
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._pool, functools.partial(fn, *args))

    # A `UserError` raised here reaches the bot as the cause of Ray's `RayTaskError`.
    async def card(self, name: str) -> ModelCard:
        """The model's card, loading it if needed."""
        return (await self.registry.model(name)).card

    async def config(self, name: str) -> Any:
        """The model's config, read without its weights if it is not loaded."""
        return (await self.registry.config(name))[1]

    async def unreadable(self, name: str, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """The pieces the model's tokenizer cannot read (no weights loaded for this)."""
        return await self.registry.unreadable(name, pieces)

    async def unload(self, name: str) -> str:
        """Drop the model if this replica has it loaded."""
        return self.registry.unload(name)

    @serve.batch(max_batch_size=16, batch_wait_timeout_s=0.0, batch_size_fn=_requests_in)
    async def serve_batches(self, batches: list[Batch]) -> list[list[Outcome]]:
        """The batches that arrived together, merged into one pass per model and batch key;
        each batch gets its requests' outcomes back, in order."""
        from explorer.forward import serve_batch

        groups: defaultdict[Hashable, list[int]] = defaultdict(list)
        for index, (name, request, _) in enumerate(batches):
            groups[name, request.batch_key].append(index)
        answers: list[list[Outcome]] = [[] for _ in batches]
        for indices in groups.values():
            name, first, _ = batches[indices[0]]
            items = [item for index in indices for item in batches[index][2]]
            try:
                loaded = await self.registry.acquire(name)
            except UserError as error:
                outcomes: list[Outcome] = [(None, error)] * len(items)
            else:
                try:
                    outcomes = await self._run(serve_batch, loaded, first, items)
                except Exception as error:  # this group's pass failed (out of memory): it alone
                    outcomes = [(None, error)] * len(items)
                finally:
                    self.registry.release(name)
            for index in indices:  # hand each batch its own outcomes
                count = len(batches[index][2])
                answers[index], outcomes = outcomes[:count], outcomes[count:]
        return answers


def worker_options(settings: Settings) -> WorkerOptions:
    """The replicas' options, from the bot's settings."""
    return WorkerOptions(
        models=settings.models,
        max_loaded_models=settings.max_loaded_models,
        model_memory_mb=settings.model_memory_mb,
        torch_threads=max(1, round(settings.ray.replica_cpus)),
        max_batch=settings.max_batch,
        batch_window_ms=settings.batch_window_ms,
    )


def app_name(options: WorkerOptions, ray_options: RayOptions) -> str:
    """The Serve application for these options: the same for every shard of one bot."""
    key = repr((options, ray_options.replicas, ray_options.replica_cpus))
    digest = hashlib.sha256(key.encode())
    return f"{APP_PREFIX}-{digest.hexdigest()[:12]}"


def reachable(address: str) -> str | None:
    """Why a `host:port` or `ray://host:port` address cannot be reached (None if it can):
    checked first, because `ray.init` waits minutes for an address that does not answer."""
    if address == "auto":
        return None
    host, _, port = address.removeprefix("ray://").rpartition(":")
    try:
        socket.create_connection((host, int(port)), timeout=CONNECT_TIMEOUT_S).close()
    except OSError as error:
        return error.strerror or type(error).__name__
    return None


def _connect(address: str | None) -> bool:
    """Join the cluster at `address`, or start a local Ray; True if this process started it.
    A process already connected (a test session's cluster) is used as it is."""
    logging.getLogger("ray").setLevel(logging.WARNING)  # Serve's progress lines, at INFO
    if ray.is_initialized():
        return False
    if address is not None:
        why = reachable(address)
        if why is not None:
            raise ComputeError(f"cannot reach the Ray cluster at {address} ({why})")
    try:
        ray.init(
            address=address or "local",  # "local": a new Ray, never one `ray start` left running
            include_dashboard=False if address is None else None,
            object_store_memory=LOCAL_OBJECT_STORE_BYTES if address is None else None,
            log_to_driver=False,
            logging_level=logging.WARNING,
        )
    except Exception as error:  # Ray's own errors vary by version: report any one way
        where = f"join the Ray cluster at {address}" if address else "start a local Ray"
        reason = str(error.__cause__ or error).splitlines()[0][:240]
        raise ComputeError(f"cannot {where}: {reason}") from error
    return address is None


def _serving(app: str) -> bool:
    """Whether the cluster still has the application (and is not deleting it)."""
    current = serve.status().applications.get(app)
    return current is not None and current.status != "DELETING"


def _deploy(name: str, options: WorkerOptions, ray_options: RayOptions) -> Any:
    """The application's handle: deployed unless it runs or is being deployed already (by
    another shard), then waited for until its replicas run; `ComputeError` if they fail or do
    not run within RAY_DEPLOY_SECONDS."""
    serve.start(proxy_location="Disabled", logging_config={"log_level": "WARNING"})
    current = serve.status().applications.get(name)
    if current is not None and current.status in ("RUNNING", "DEPLOYING"):
        log.info("using the Serve application %s", name)
    else:
        env = {key: os.environ[key] for key in ("HF_HUB_OFFLINE",) if key in os.environ}
        actor = {"num_cpus": ray_options.replica_cpus, "runtime_env": {"env_vars": env}}
        deployment = serve.deployment(
            name="ModelWorkers",
            num_replicas=ray_options.replicas,
            ray_actor_options=actor,
            max_ongoing_requests=4 * options.max_batch,
            health_check_period_s=2,
        )(ModelWorkers)
        replicas = ray_options.replicas
        log.info("deploying %d replica(s) as the Serve application %s", replicas, name)
        target = serve.RunTarget(deployment.bind(options), name=name, route_prefix=None)
        serve.run_many([target], wait_for_applications_running=False)
    deadline = time.monotonic() + ray_options.deploy_seconds
    while (status := serve.status().applications[name]).status != "RUNNING":
        if status.status in ("DEPLOY_FAILED", "UNHEALTHY"):
            raise ComputeError(f"the replicas failed to start: {status.message}".splitlines()[0])
        if time.monotonic() > deadline:
            raise ComputeError(
                f"the replicas did not start within {ray_options.deploy_seconds} s "
                f"(RAY_DEPLOY_SECONDS); does the cluster "
                f"have RAY_REPLICAS × RAY_REPLICA_CPUS = "
                f"{ray_options.replicas * ray_options.replica_cpus:g} CPUs free?"
            )
        time.sleep(0.2)
    return serve.get_app_handle(name)


class RayCompute:
    """Model work on Ray Serve replicas (see the module's docstring)."""

    def __init__(self, settings: Settings) -> None:
        self._ray = settings.ray
        self._options = worker_options(settings)
        self.app = app_name(self._options, settings.ray)
        self._handle: Any = None
        self._started_ray = False
        self._cards: dict[str, ModelCard] = {}
        self._holds: Counter[str] = Counter()
        # Passes in flight per model (and batch key): one for each replica.
        self.batcher = Batcher(self._on_a_replica, settings.batch_window_ms, settings.max_batch,
                               settings.ray.replicas)  # fmt: skip

    async def start(self) -> None:
        """Connect (or start a local Ray) and deploy, off the event loop; a cluster that cannot
        be reached or used is a `ComputeError`."""
        loop = asyncio.get_running_loop()
        # Found out before the replicas start, so that they are told (HF_HUB_OFFLINE).
        await loop.run_in_executor(None, go_offline_without_hub, self._options.models)
        self._started_ray = await loop.run_in_executor(None, _connect, self._ray.address)
        try:
            self._handle = await loop.run_in_executor(
                None, _deploy, self.app, self._options, self._ray
            )
        except ComputeError:
            raise
        except Exception as error:
            raise ComputeError(f"cannot deploy on Ray: {error}".splitlines()[0]) from error
        log.info("model work on Ray Serve (%s)", self.app)

    async def _call(self, method: str, *args: Any) -> Any:
        """A replica's answer, Ray's failures turned into replies a user can act on."""
        if self._handle is None:
            raise UserError(UNREACHABLE)
        try:
            return await self._answer(getattr(self._handle, method).remote(*args))
        except RayTaskError as error:  # raised in the replica: its own error (a `UserError`)
            raise error.cause from error
        except RayActorError as error:
            log.warning("a model worker stopped: %s", str(error).splitlines()[0])
            raise UserError(WORKER_DIED) from error
        except (RayError, RayServeException) as error:  # the application or cluster is gone
            log.warning("Ray failed: %s: %s", type(error).__name__, str(error).splitlines()[0])
            raise UserError(UNREACHABLE) from error

    async def _answer(self, response: Any) -> Any:
        """A Serve response's result. Serve checks that the application exists only as a
        request arrives: one routed just before the application was deleted would wait for
        a replica forever. So a call still waiting checks every APP_CHECK_SECONDS that the
        application is there, and is given up once it is gone."""
        waiting = asyncio.ensure_future(response)
        loop = asyncio.get_running_loop()
        while True:
            done, _ = await asyncio.wait({waiting}, timeout=APP_CHECK_SECONDS)
            if done:
                return waiting.result()
            if not await loop.run_in_executor(None, _serving, self.app):
                response.cancel()
                waiting.cancel()
                raise RayServeException(f"the application {self.app} is gone")

    async def hold(self, spec: ModelSpec) -> ModelCard:
        """The model's card: asked of a replica (which loads the model) the first time, then
        known (a replica without the model loads it at its first pass)."""
        card = self._cards.get(spec.name)
        if card is None:
            card = await self._call("card", spec.name)
            self._cards[spec.name] = card
        self._holds[spec.name] += 1
        return card

    def release(self, name: str) -> None:
        """Count one hold less (replicas keep models by their own LRU)."""
        self._holds[name] -= 1
        if self._holds[name] <= 0:
            del self._holds[name]

    async def config(self, spec: ModelSpec) -> Any:
        """The config, as a replica reads it."""
        return await self._call("config", spec.name)

    async def unreadable(self, spec: ModelSpec, pieces: tuple[str, ...]) -> tuple[str, ...]:
        """As a replica's tokenizer reads them."""
        result: tuple[str, ...] = await self._call("unreadable", spec.name, pieces)
        return result

    async def forward(
        self, spec: ModelSpec, request: ForwardRequest, finish: Callable[[Forwarded], T]
    ) -> T:
        """The request in the next batch sent to a replica."""
        result: T = await self.batcher.forward(spec.name, request, finish)
        return result

    async def _on_a_replica(
        self, name: str, request: ForwardRequest, items: list[Item]
    ) -> list[Outcome]:
        outcomes: list[Outcome] = await self._call("serve_batches", (name, request, items))
        return outcomes

    async def unload(self, spec: ModelSpec) -> str:
        """Drop the model from the replica that answers (each replica keeps its own)."""
        name: str = await self._call("unload", spec.name)
        self._cards.pop(name, None)
        return name

    def card(self, name: str) -> ModelCard | None:
        """The card of a model a replica has loaded for this bot."""
        return self._cards.get(name)

    def memory(self) -> tuple[ModelMemory, ...]:
        """The models replicas have loaded for this bot (each replica holds its own copy)."""
        return tuple(
            ModelMemory(name, card.nbytes, self._holds[name]) for name, card in self._cards.items()
        )

    def internals(self) -> dict[str, str]:
        """Where the model work runs."""
        where = "a Ray cluster" if self._ray.address else "a local Ray started by the bot"
        return {
            "compute": f"Ray Serve application {self.app}: {self._ray.replicas} replica(s) "
            f"of {self._ray.replica_cpus:g} CPU on {where}",
            "batches run": self.batcher.summary(),
        }

    async def close(self) -> None:
        """Leave the cluster; a local Ray the bot started stops with it."""
        self._handle = None
        if self._started_ray:
            loop = asyncio.get_running_loop()
            await loop.run_in_executor(None, serve.shutdown)
            await loop.run_in_executor(None, ray.shutdown)
