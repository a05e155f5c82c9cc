"""Settings: every key parsed and checked at start; a bad value stops the bot with exit 2 and
one line naming the key and the problem."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from bot.settings import (
    SETTINGS,
    ModelSpec,
    SettingsError,
    load_settings,
    parse_model_spec,
)
from tests.conftest import vanishing_model

ROOT = Path(__file__).parents[1]


@pytest.mark.parametrize(
    ("entry", "spec"),
    [
        ("hfl/rbt3", ModelSpec("hfl/rbt3", "hfl/rbt3", local=False)),
        ("rbt3=hfl/rbt3", ModelSpec("rbt3", "hfl/rbt3", local=False)),
        ("bert-base-uncased", ModelSpec("bert-base-uncased", "bert-base-uncased", local=False)),
        ("rbt3=hfl/rbt3@v1.0", ModelSpec("rbt3", "hfl/rbt3", local=False, revision="v1.0")),
        ("hfl/rbt3@" + "a" * 40, ModelSpec("hfl/rbt3", "hfl/rbt3", False, revision="a" * 40)),
        ("pr=org/m@refs/pr/1", ModelSpec("pr", "org/m", local=False, revision="refs/pr/1")),
    ],
)
def test_hub_entries(entry, spec):
    assert parse_model_spec(entry) == spec


def test_local_entries_must_be_model_directories(tmp_path):
    model = vanishing_model(tmp_path / "rbt3")
    assert parse_model_spec(f" local = {model} ") == ModelSpec("local", str(model), local=True)
    with pytest.raises(SettingsError, match=r"is not a model directory \(no such directory\)"):
        parse_model_spec(f"gone={tmp_path / 'missing'}")
    (tmp_path / "empty").mkdir()
    with pytest.raises(SettingsError, match=r"is not a model directory \(no config.json in it\)"):
        parse_model_spec(f"empty={tmp_path / 'empty'}")


def test_relative_and_home_paths_are_resolved(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    vanishing_model(tmp_path / "models" / "rbt3")
    spec = parse_model_spec("mine=./models/rbt3")
    assert spec.local and spec.source == str((tmp_path / "models" / "rbt3").resolve())
    monkeypatch.setenv("HOME", str(tmp_path))
    assert parse_model_spec("home=~/models/rbt3").source == spec.source


def test_a_bare_minilm_names_the_bundled_model(tmp_path, minilm_dir):
    model = vanishing_model(tmp_path / "rbt3")
    settings = load_settings({"MODELS": f"rbt3={model},minilm"})
    bundled = settings.models[1]
    assert bundled == ModelSpec("minilm", str(minilm_dir), local=True, bundled=True)
    assert bundled.origin == "bundled with the bot"


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODELS": "a=hfl/x,a=hfl/y"}, "names must be unique; repeated: a"),
        ({"MODELS": "x=not a hub id"}, "neither a hub id"),
        ({"MODELS": "x=org/m@"}, "after '@' comes a revision"),
        ({"MODELS": "x=org/m@no spaces"}, "after '@' comes a revision"),
        ({"MODELS": "bad name=hfl/x"}, "a name is 1-80"),
        ({"MODELS": "x="}, "the source after '=' is empty"),
        ({"MODELS": "a=/nonexistent"}, "MODELS entry 'a=/nonexistent': /nonexistent is not a"),
        ({"WORKER_THREADS": "two"}, "WORKER_THREADS must be a whole number, got 'two'"),
        ({"WORKER_THREADS": "0"}, "WORKER_THREADS must be between 1 and 64, got 0"),
        ({"MAX_HEATMAP_TOKENS": "1000"}, "MAX_HEATMAP_TOKENS must be between 2 and 512"),
        ({"DISCORD_GUILD_IDS": "123,abc"}, "DISCORD_GUILD_IDS must be numeric ids, got 'abc'"),
        ({"DISCORD_API_BASE": "discord.com/api"}, "DISCORD_API_BASE must start with http://"),
        ({"DISCORD_GATEWAY_URL": "http://x"}, "DISCORD_GATEWAY_URL must start with ws://"),
        ({"LOG_LEVEL": "bogus"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, CRIT"),
        ({"USER_COOLDOWN_SECONDS": "soon"}, "USER_COOLDOWN_SECONDS must be a number"),
        ({"JOB_TIMEOUT_SECONDS": "0"}, "JOB_TIMEOUT_SECONDS must be between"),
        ({"PRELOAD_DEFAULT_MODEL": "perhaps"}, "PRELOAD_DEFAULT_MODEL must be true or false"),
        ({"EXPLORATION_RETENTION_DAYS": "0"}, "EXPLORATION_RETENTION_DAYS must be between 1"),
        ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL must start with sqlite\\+aiosqlite:// or "),
        # Past 2 s, a deferral could miss Discord's 3 s acknowledgement deadline.
        ({"DEFER_AFTER_MS": "2500"}, "DEFER_AFTER_MS must be between 0 and 2000"),
        ({"MODELS_DIR": "/nonexistent"}, "MODELS_DIR '/nonexistent' is not a directory"),
        ({"COMPUTE_BACKEND": "gpu"}, "COMPUTE_BACKEND must be one of local, ray, got 'gpu'"),
        ({"RAY_ADDRESS": "http://head"}, "RAY_ADDRESS must be host:port, ray://host:port or"),
        ({"RAY_REPLICA_CPUS": "0"}, "RAY_REPLICA_CPUS must be between 0.1 and 256"),
        ({"MODEL_MEMORY_MB": "1"}, "MODEL_MEMORY_MB must be between 16 and 1048576, got 1$"),
        ({"JOB_TIMEOUT_SECONDS": "5000"}, "between 0.001 and 3600, got 5000$"),
        ({"SHARD_IDS": "0,1"}, "SHARD_IDS needs SHARD_COUNT"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "0,0"}, "SHARD_IDS must not repeat a shard, got 0, 0"),
        ({"SHARD_COUNT": "2", "SHARD_IDS": "1,2"}, "SHARD_IDS must be below SHARD_COUNT \\(2\\)"),
    ],
)
def test_bad_values_are_refused_with_one_line(env, message):
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"MODELS": "hfl/rbt3", **env})
    assert "\n" not in str(caught.value)


NUMERIC = [setting for setting in SETTINGS if setting.default.replace(".", "", 1).isdigit()]


@pytest.mark.parametrize("setting", NUMERIC, ids=lambda setting: setting.key)
def test_numbers_out_of_bounds_are_written_as_typed(setting):
    """Never `1.04858e+06`: bounds and value as the operator would type them."""
    with pytest.raises(SettingsError) as caught:
        load_settings({"MODELS": "hfl/rbt3", setting.key: "123456789012"})
    assert str(caught.value).endswith("got 123456789012") and "e+" not in str(caught.value)


@pytest.mark.parametrize(
    ("env", "count", "ids", "syncs"),
    [
        ({}, None, None, True),
        ({"SHARD_COUNT": "4"}, 4, None, True),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "0,1"}, 4, (0, 1), True),
        ({"SHARD_COUNT": "4", "SHARD_IDS": "2,3"}, 4, (2, 3), False),
    ],
)
def test_shards_and_which_process_syncs_the_commands(env, count, ids, syncs):
    shards = load_settings({"MODELS": "hfl/rbt3", **env}).shards
    assert (shards.count, shards.ids, shards.syncs_commands) == (count, ids, syncs)


def test_full_settings_and_secret_token(tmp_path):
    settings = load_settings(
        {
            "DISCORD_TOKEN": "secret-token-123",
            "DISCORD_GUILD_IDS": "1, 2",
            "DISCORD_API_BASE": "http://127.0.0.1:9999/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9999/gateway",
            "MODELS": f"rbt3=hfl/rbt3,local={vanishing_model(tmp_path / 'm')}",
            "MAX_INPUT_CHARS": "500",
            "MAX_LOADED_MODELS": "1",
        }
    )
    assert settings.token == "secret-token-123"
    assert "secret-token-123" not in repr(settings)
    assert settings.guild_ids == (1, 2)
    assert settings.api_base == "http://127.0.0.1:9999/api/v10"
    assert settings.default_model.name == "rbt3"
    assert settings.limits.max_input_chars == 500 and settings.max_loaded_models == 1


def test_defaults_come_from_the_one_table(minilm_dir):
    settings = load_settings({})
    assert settings.models == (ModelSpec("minilm", str(minilm_dir), local=True, bundled=True),)
    assert settings.token is None and settings.guild_ids == ()
    defaults = {setting.key: setting.default for setting in SETTINGS}
    assert settings.capacity.active_jobs == int(defaults["MAX_ACTIVE_JOBS"])
    assert settings.limits.max_heatmap_tokens == int(defaults["MAX_HEATMAP_TOKENS"])
    assert settings.log_level == defaults["LOG_LEVEL"]


def test_env_example_and_readme_name_every_setting():
    example = (ROOT / ".env.example").read_text()
    keys = {line.split("=")[0].lstrip("# ") for line in example.splitlines() if "=" in line}
    readme = (ROOT / "README.md").read_text()
    for setting in SETTINGS:
        assert setting.key in keys, setting.key
        assert f"`{setting.key}`" in readme, setting.key


def test_models_dir_confines_local_sources(tmp_path):
    vanishing_model(tmp_path / "rbt3")
    settings = load_settings({"MODELS_DIR": str(tmp_path), "MODELS": "rbt3=./rbt3,hub=hfl/rbt3"})
    assert settings.models[0] == ModelSpec("rbt3", str(tmp_path / "rbt3"), local=True)
    with pytest.raises(SettingsError, match="is outside MODELS_DIR"):
        load_settings({"MODELS_DIR": str(tmp_path), "MODELS": "etc=../../etc"})


def start(tmp_path: Path, *args: str, **env: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "bot", *args],
        capture_output=True,
        text=True,
        cwd=tmp_path,
        env={"PATH": os.environ["PATH"], "HOME": str(tmp_path), **env},
        timeout=60,
    )


@pytest.mark.parametrize(
    ("env", "line"),
    [
        ({"LOG_LEVEL": "bogus"}, "LOG_LEVEL must be one of DEBUG, INFO, WARNING, ERROR, "
         "CRITICAL, got 'bogus'"),
        ({"MODELS": "a=/nonexistent"}, "MODELS entry 'a=/nonexistent': /nonexistent is not a "
         "model directory (no such directory)"),
        ({"CONSOLE_OUTPUT_DIR": "/proc/explorer"}, "CONSOLE_OUTPUT_DIR '/proc/explorer' cannot "
         "be written to: No such file or directory"),
    ],
)  # fmt: skip
def test_a_bad_setting_stops_the_start_with_exit_2_and_one_line(tmp_path, env, line):
    done = start(tmp_path, "console", "/models", **env)
    assert done.returncode == 2
    assert done.stderr.strip() == f"Configuration error: {line}"
    assert done.stdout == ""


def test_a_data_dir_that_cannot_keep_the_log_key_stops_the_bot_at_start(tmp_path):
    done = start(tmp_path, "run", DISCORD_TOKEN="x", DATA_DIR="/proc/explorer")
    assert done.returncode == 2
    assert done.stderr.strip() == (
        "Configuration error: DATA_DIR '/proc/explorer' cannot be written to: "
        "No such file or directory"
    )
    given = start(tmp_path, "run", DISCORD_TOKEN="x", DATA_DIR="/proc/explorer",
                  LOG_HASH_KEY="k", DISCORD_API_BASE="http://127.0.0.1:9/api/v10")  # fmt: skip
    # With a key of its own, it goes on to the database, which cannot be kept there either.
    assert given.returncode == 2
    assert "Configuration error" not in given.stderr
    assert "Database error: DATA_DIR: cannot use the database" in given.stderr
