"""The model registry: allowlist, clear load errors, one load per model, bounded LRU."""

from __future__ import annotations

import asyncio
import functools
import shutil
from collections import Counter
from pathlib import Path

import pytest

from bot.errors import user_message
from bot.registry import ModelRegistry
from bot.settings import parse_models
from explorer.contract import UserError
from tests.conftest import vanishing_model


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


async def test_the_registry_refusals_are_told_in_the_readers_language(tiny_dir, tmp_path):
    models, _ = registry(f"tiny={tiny_dir},gone={vanishing_model(tmp_path / 'gone')}")
    shutil.rmtree(tmp_path / "gone")
    told = {}
    for name in ("gpt-7b", "gone"):
        with pytest.raises(UserError) as caught:
            await models.model(name)
        told[name] = user_message(caught.value, "zh-CN")
    assert told["gpt-7b"] == "⚠️ `gpt-7b` 不是本机器人的模型。可用的有：`tiny`, `gone`。"
    assert "模型 **gone** 配置为从本地目录加载" in told["gone"]
    with pytest.raises(UserError) as caught:
        await registry("hfl/rbt3")[0].config("hfl/rbt3")
    assert "无法从 Hugging Face Hub 获取模型 **hfl/rbt3**" in user_message(caught.value, "zh-CN")


async def test_default_is_the_first_entry(tiny_dir):
    models, _ = registry(f"tiny={tiny_dir},other={tiny_dir}")
    assert (await models.model(None)).name == "tiny"


@pytest.mark.parametrize("name", ["", "  "])
async def test_an_empty_name_is_refused_not_taken_for_the_default(tiny_dir, name):
    """Discord never sends an option left empty; one that arrives empty is a mistake."""
    models, _ = registry(f"tiny={tiny_dir},other={tiny_dir}")
    with pytest.raises(
        UserError,
        match=r"^The model name is empty: choose one of this bot's "
        r"models \(`tiny`, `other`\), or leave the option out for the default\.$",
    ):
        await models.model(name)


async def test_a_directory_deleted_after_start_is_explained_without_the_path(tmp_path):
    models, _ = registry(f"gone={vanishing_model(tmp_path / 'gone')}")
    shutil.rmtree(tmp_path / "gone")
    with pytest.raises(UserError) as caught:
        await models.model("gone")
    assert "local directory that is missing" in str(caught.value)
    assert str(tmp_path) not in str(caught.value)


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
    loaded = {model.name for model in models.memory()}
    assert loaded == {"a", "c"}
    assert await models.model("a") is first_a
    await models.model("b")
    assert runner.calls["read_model"] == 4


async def test_config_needs_no_weights(tiny_dir):
    models, runner = registry(f"tiny={tiny_dir}")
    name, hf_config = await models.config(None)
    assert (name, hf_config.num_hidden_layers) == ("tiny", 2)
    assert runner.calls == Counter({"read_config": 1})


class ConcurrencyRunner(CountingRunner):
    """Also records how many `read_model` calls ran at the same time."""

    def __init__(self) -> None:
        super().__init__()
        self.active = 0
        self.most = 0

    async def __call__(self, fn, /, *args):
        if fn.__name__ != "read_model":
            return await super().__call__(fn, *args)
        self.active += 1
        self.most = max(self.most, self.active)
        try:
            return await super().__call__(fn, *args)
        finally:
            self.active -= 1


async def test_loads_happen_one_at_a_time(tiny_dir, rbt3_dir):
    runner = ConcurrencyRunner()
    models = ModelRegistry(parse_models(f"a={tiny_dir},b={rbt3_dir},c={tiny_dir}"), 3, runner)
    await asyncio.gather(models.model("a"), models.model("b"), models.model("c"))
    assert runner.calls["read_model"] == 3 and runner.most == 1


async def test_byte_budget_evicts_least_recently_used(tiny_dir):
    probe, _ = registry(f"a={tiny_dir}")
    one = (await probe.model("a")).card.nbytes
    runner = CountingRunner()
    models = ModelRegistry(parse_models(f"a={tiny_dir},b={tiny_dir}"), 10, runner, int(one * 1.5))
    await models.model("a")
    await models.model("b")
    assert [m.name for m in models.memory()] == ["b"]


async def test_a_model_in_use_is_never_evicted(tiny_dir):
    runner = CountingRunner()
    models = ModelRegistry(parse_models(f"a={tiny_dir},b={tiny_dir},c={tiny_dir}"), 1, runner)
    held = await models.acquire("a")
    await models.model("b")
    assert {m.name for m in models.memory()} == {"a", "b"}  # over the count, a is held
    with pytest.raises(UserError, match="in use by 1 running command"):
        models.unload("a")
    models.release(held.name)
    assert [m.name for m in models.memory()] == ["b"]  # evicted once released


async def test_a_model_too_big_for_the_budget_is_refused_before_loading(rbt3_dir):
    runner = CountingRunner()
    models = ModelRegistry(parse_models(f"big={rbt3_dir}"), 2, runner, 100 * 2**20)
    with pytest.raises(UserError, match=r"needs about 147 MiB, more than this bot's model memory "
                       r"\(100 MiB\)"):  # fmt: skip
        await models.model("big")
    assert runner.calls["read_model"] == 0


async def test_unload_and_memory_report(tiny_dir):
    models, _ = registry(f"a={tiny_dir}")
    loaded = await models.model("a")
    assert models.memory()[0].nbytes == loaded.card.nbytes > 0
    assert models.unload("a") == "a" and models.memory() == ()
    with pytest.raises(UserError, match="is not loaded"):
        models.unload("a")


async def test_a_local_model_cannot_reach_outside_its_directory(tiny_dir, tmp_path):
    escaped = tmp_path / "escaped"
    shutil.copytree(tiny_dir, escaped)
    (escaped / "tokenizer.json").unlink()
    (escaped / "tokenizer.json").symlink_to("/etc/hostname")
    models, runner = registry(f"escaped={escaped}")
    with pytest.raises(UserError, match="a file in its directory points outside it"):
        await models.model("escaped")
    assert runner.calls["read_model"] == 0  # refused while reading its config, before weights


def pickled_copy(source: Path, directory: Path) -> Path:
    """`source` with its weights as PyTorch's pickle file (`pytorch_model.bin`, as
    `save_pretrained(safe_serialization=False)` wrote it) instead of safetensors."""
    import torch
    from safetensors.torch import load_file

    shutil.copytree(source, directory)
    weights = directory / "model.safetensors"
    torch.save(load_file(weights), directory / "pytorch_model.bin")
    weights.unlink()
    return directory


async def test_pickle_weights_are_refused_unless_the_operator_allows_them(tiny_dir, tmp_path):
    pickled = pickled_copy(tiny_dir, tmp_path / "pickled")
    models, _ = registry(f"pickled={pickled}")
    with pytest.raises(UserError) as caught:
        await models.model("pickled")
    assert str(caught.value) == (
        "The model **pickled** could not be loaded: its weights come only as pickle files "
        "(.bin), which can run code when loaded; the bot's operator may allow them with "
        "ALLOW_PICKLE_WEIGHTS=true."
    )
    allowed = ModelRegistry(parse_models(f"pickled={pickled}", allow_pickle=True), 2,
                            CountingRunner())  # fmt: skip
    loaded = await allowed.model("pickled")
    safe = await registry(f"tiny={tiny_dir}")[0].model("tiny")
    for (name, weight), (_, same) in zip(
        loaded.model.state_dict().items(), safe.model.state_dict().items(), strict=True
    ):
        assert weight.equal(same), name
