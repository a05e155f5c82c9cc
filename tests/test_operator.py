"""An operator's first hour: models from the Hugging Face cache, load failures in words one
can act on, no network found out fast, every echo of user input inert, tables aligned."""

from __future__ import annotations

import json
import logging
import os
import shutil
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.hub import go_offline_without_hub, hub_reachable
from bot.registry import ModelRegistry
from bot.settings import parse_models
from commands.attention import attention
from commands.config import config
from commands.tokenize import tokenize
from explorer.contract import UserError
from explorer.text import text_width
from tests.model_factory import save_bert
from tests.test_registry import CountingRunner

ROOT = Path(__file__).parents[1]
RLO = "\u202e"  # RIGHT-TO-LEFT OVERRIDE: turns the rest of a line around


def cached_snapshot(cache: Path, source: Path) -> Path:
    """`source`'s files laid out as the Hugging Face cache keeps a download: blobs, and a
    snapshot directory of symlinks into them."""
    repo = cache / "models--org--tiny"
    snapshot = repo / "snapshots" / "0123abcd"
    (repo / "blobs").mkdir(parents=True)
    snapshot.mkdir(parents=True)
    for index, path in enumerate(sorted(source.iterdir())):
        blob = repo / "blobs" / f"blob{index}"
        shutil.copy(path, blob)
        (snapshot / path.name).symlink_to(Path("../../blobs") / blob.name)
    return snapshot


def registry(models: str) -> ModelRegistry:
    return ModelRegistry(parse_models(models), 2, CountingRunner())


async def test_a_model_in_the_hugging_face_cache_loads(tiny_dir, tmp_path):
    snapshot = cached_snapshot(tmp_path / "hub", tiny_dir)
    loaded = await registry(f"cached={snapshot}").model("cached")
    assert loaded.card.layers == 2
    # A link out of the cached repository is still refused.
    (snapshot / "tokenizer.json").unlink()
    (snapshot / "tokenizer.json").symlink_to("/etc/hostname")
    with pytest.raises(UserError, match="a file in its directory points outside it"):
        await registry(f"cached={snapshot}").model("cached")


def broken(tmp_path: Path, name: str, damage) -> str:
    directory = save_bert(tmp_path / name, None, hidden_size=32, num_hidden_layers=1,
                          num_attention_heads=2, intermediate_size=20,
                          max_position_embeddings=32)  # fmt: skip
    damage(directory)
    return f"{name}={directory}"


def unknown_type(directory: Path) -> None:
    values = json.loads((directory / "config.json").read_text())
    (directory / "config.json").write_text(json.dumps({**values, "model_type": "bogus-arch"}))


def no_weights(directory: Path) -> None:
    (directory / "model.safetensors").unlink()


def no_tokenizer(directory: Path) -> None:
    for path in [*directory.glob("tokenizer*"), directory / "vocab.txt"]:
        path.unlink()


@pytest.mark.parametrize(
    ("damage", "reason"),
    [
        (unknown_type, "its config.json names model type `bogus-arch`, which transformers "),
        (no_weights, "its directory has no `model.safetensors`"),
        (no_tokenizer, "its tokenizer has no vocabulary (no tokenizer files found)"),
    ],
)
async def test_a_load_failure_says_why_in_words_one_can_act_on(tmp_path, damage, reason):
    models = registry(broken(tmp_path, "broken", damage))
    with pytest.raises(UserError) as caught:
        await models.model("broken")
    assert f"The model **broken** could not be loaded: {reason}" in str(caught.value)
    assert str(tmp_path) not in str(caught.value)  # no server paths in chat


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_network_is_found_out_once_and_fast(monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    started = time.monotonic()
    assert not hub_reachable()
    assert go_offline_without_hub(parse_models("hfl/rbt3")) is True
    assert os.environ["HF_HUB_OFFLINE"] == "1" and time.monotonic() - started < 2.5
    # Local models alone need no Hub, and an operator's own choice is kept.
    assert go_offline_without_hub(parse_models("minilm")) is False


def test_a_hub_model_without_the_hub_is_refused_at_once_not_after_retries(tmp_path):
    """Offline mode is switched on before the model is looked for, so the Hub is not retried
    (that took ~26 s before the message); no wall-clock limit: CI machines are shared."""
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_ENDPOINT": f"http://127.0.0.1:{closed_port()}",
        "MODELS": "rbt3=hfl/rbt3",
        "CONSOLE_OUTPUT_DIR": str(tmp_path),
    }
    done = subprocess.run([sys.executable, "-m", "bot", "console", "/config"], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert "could not be fetched from the Hugging Face Hub (`hfl/rbt3`)" in done.stdout
    offline = "hub models load from the local cache only (HF_HUB_OFFLINE=1)"
    assert offline in done.stderr
    assert "Retrying" not in done.stderr  # huggingface_hub's backoff never ran


@pytest.mark.parametrize(
    ("options", "echoed"),
    [
        ({"text": "hi", "model": f"x{RLO}y"}, "is not one of this bot's models"),
        ({"text": "hi", "token": f"x{RLO}y"}, "No token"),
        ({"text": "hi", "view": f"x{RLO}y"}, "Unknown view"),
    ],
)
async def test_user_input_is_echoed_with_control_characters_escaped(ctx, options, echoed):
    with pytest.raises(UserError, match=echoed) as caught:
        await attention(ctx, **options)
    assert RLO not in str(caught.value) and "x\\u202ey" in str(caught.value)


async def test_config_key_and_token_tables_escape_control_characters(ctx):
    with pytest.raises(UserError) as caught:
        await config(ctx, key=f"vocab{RLO}size")
    assert RLO not in str(caught.value) and "\\u202e" in str(caught.value)
    reply = await tokenize(ctx, f"hello {RLO} world", model="minilm")
    assert RLO not in reply.content


async def test_token_tables_line_up_with_chinese_and_backticks(ctx):
    reply = await tokenize(ctx, "我在学习 `code` and NLP", model="rbt3")
    table = reply.content.split("```")[1].strip("\n").splitlines()
    # Every row has the id column at the same display column.
    starts = {text_width(row[: row.rindex("  ", 0, len(row) - 10)]) for row in table[1:]}
    widths = {text_width(row) for row in table[1:]}
    assert len(widths) == 1, table
    assert len(starts) == 1, table


def test_a_character_no_font_draws_is_logged_once_and_english_or_chinese_never(caplog):
    from explorer.drawing import fonts

    fonts.runs.cache_clear()
    fonts._LOGGED.clear()
    try:
        with caplog.at_level(logging.INFO, logger="explorer.drawing.fonts"):
            fonts.runs("I am studying NLP.")
            fonts.runs("我在学习自然语言")
            assert not caplog.records
            fonts.runs("\U00013000")  # an Egyptian hieroglyph
            fonts.runs("\U00013001 \U00030000")
        logged = [r for r in caplog.records if "No font here draws" in r.getMessage()]
        assert len(logged) == 1  # once, when such a character is first drawn
    finally:
        fonts.runs.cache_clear()
        fonts._LOGGED.clear()


def test_a_pinned_revision_reaches_config_tokenizer_and_weights(tiny_dir, tmp_path):
    """Two commits of one hub model in a Hugging Face cache laid out as a download leaves
    it (blobs, snapshots/<commit>, refs/<name>): `main` is 3 layers wide 48, tag `v1` the
    2-layer tiny model; each MODELS entry gets the revision it names, offline."""
    newer = save_bert(tmp_path / "newer", None, hidden_size=48, num_hidden_layers=3,
                      num_attention_heads=4, intermediate_size=37,
                      max_position_embeddings=32)  # fmt: skip
    (newer / "vocab.txt").write_text("[PAD]\n[UNK]\n[CLS]\n[SEP]\n[MASK]\nhello\nworld\n")
    (newer / "tokenizer.json").unlink()  # built again from vocab.txt: "hello" is one token
    repo = tmp_path / "hf" / "hub" / "models--org--tiny"
    commits = {"main": "b" * 40, "v1": "a" * 40}
    for source, (ref, commit) in zip((newer, tiny_dir), commits.items(), strict=True):
        snapshot = repo / "snapshots" / commit
        (repo / "blobs").mkdir(parents=True, exist_ok=True)
        snapshot.mkdir(parents=True)
        for path in sorted(source.iterdir()):
            blob = repo / "blobs" / f"{commit[:8]}-{path.name}"
            shutil.copy(path, blob)
            (snapshot / path.name).symlink_to(Path("../../blobs") / blob.name)
        (repo / "refs").mkdir(exist_ok=True)
        (repo / "refs" / ref).write_text(commit)
    env = {
        "PATH": os.environ["PATH"],
        "HOME": str(tmp_path),
        "HF_HOME": str(tmp_path / "hf"),
        "HF_HUB_OFFLINE": "1",
        "MODELS": f"latest=org/tiny,v1=org/tiny@v1,sha=org/tiny@{commits['v1']}",
        "CONSOLE_OUTPUT_DIR": str(tmp_path),
    }
    names = ("latest", "v1", "sha")
    commands = [f"/{command} model:{name}" for name in names
                for command in ("tokenize text:你好", "forward text:你好",
                                "config key:num_hidden_layers")]  # fmt: skip
    done = subprocess.run([sys.executable, "-m", "bot", "console", *commands], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=300)  # fmt: skip
    assert done.returncode == 0, done.stderr
    answers = dict(zip(commands, done.stdout.split("> ")[1:], strict=True))
    for name, (layers, width, second) in {
        "latest": (3, 48, "[UNK]"), "v1": (2, 32, "好"), "sha": (2, 32, "好")
    }.items():  # fmt: skip
        assert f"```json\n{layers}\n```" in answers[f"/config key:num_hidden_layers model:{name}"]
        assert f"shape (1, 4, {width})" in answers[f"/forward text:你好 model:{name}"]
        assert f"\n   2  {second} " in answers[f"/tokenize text:你好 model:{name}"]
