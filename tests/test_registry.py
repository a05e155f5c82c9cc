"""The model registry: allowlist, clear load errors, one load per model, bounded LRU."""

from __future__ import annotations

import asyncio
import functools
from collections import Counter

import pytest

from bot.registry import ModelRegistry
from bot.settings import parse_models
from commands.results import UserError


class CountingRunner:
    """Runs work in the default executor and counts which functions ran."""

    def __init__(self) -> None:
        self.calls: Counter[str] = Counter()

    async def __call__(self, fn, /, *args):
        self.calls[fn.__name__] += 1
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, functools.partial(fn, *args))


def registry(models: str, capacity: int = 2) -> tuple[ModelRegistry, CountingRunner]:
    runner = CountingRunner()
    return ModelRegistry(parse_models(models), capacity, runner), runner


async def test_unknown_name_lists_the_allowed_models(tiny_dir):
    models, _ = registry(f"tiny={tiny_dir},other={tiny_dir}")
    with pytest.raises(
        UserError,
        match=r"`gpt-7b` is not one of this bot's models\. "
        r"Allowed: `tiny`, `other`\.",
    ):
        await models.model("gpt-7b")


async def test_default_is_the_first_entry(tiny_dir):
    models, _ = registry(f"tiny={tiny_dir},other={tiny_dir}")
    assert (await models.model(None)).name == "tiny"
    assert (await models.model("  ")).name == "tiny"


async def test_missing_local_directory_is_explained_without_the_path():
    models, _ = registry("gone=/nonexistent/explorer-model")
    with pytest.raises(UserError) as caught:
        await models.model("gone")
    assert "local directory that is missing" in str(caught.value)
    assert "/nonexistent" not in str(caught.value)


async def test_hub_model_unreachable_offline_says_so():
    models, _ = registry("hfl/rbt3")
    with pytest.raises(UserError, match="could not be fetched from the Hugging Face Hub"):
        await models.config("hfl/rbt3")


async def test_concurrent_requests_share_one_load(tiny_dir):
    models, runner = registry(f"tiny={tiny_dir}")
    results = await asyncio.gather(*(models.model("tiny") for _ in range(8)))
    assert runner.calls["read_model"] == 1
    assert all(result is results[0] for result in results)


async def test_least_recently_used_model_is_evicted(tiny_dir, rbt3_dir):
    models, runner = registry(f"a={tiny_dir},b={tiny_dir},c={tiny_dir}", capacity=2)
    first_a = await models.model("a")
    await models.model("b")
    await models.model("a")  # a is now the most recently used
    await models.model("c")  # evicts b
    loaded = {entry.name for entry in models.catalog().entries if entry.loaded}
    assert loaded == {"a", "c"}
    assert await models.model("a") is first_a
    await models.model("b")
    assert runner.calls["read_model"] == 4


async def test_config_needs_no_weights(tiny_dir):
    models, runner = registry(f"tiny={tiny_dir}")
    name, hf_config = await models.config(None)
    assert (name, hf_config.num_hidden_layers) == ("tiny", 2)
    assert runner.calls == Counter({"read_config": 1})
