"""Settings: every key parsed, bad values stop the start with one clear line."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import ModelSpec, SettingsError, load_settings, parse_model_spec


@pytest.mark.parametrize(
    ("entry", "spec"),
    [
        ("hfl/rbt3", ModelSpec("hfl/rbt3", "hfl/rbt3", local=False)),
        ("rbt3=hfl/rbt3", ModelSpec("rbt3", "hfl/rbt3", local=False)),
        ("bert-base-uncased", ModelSpec("bert-base-uncased", "bert-base-uncased", local=False)),
        ("local=/models/rbt3", ModelSpec("local", "/models/rbt3", local=True)),
        (" spaced = /models/x ", ModelSpec("spaced", "/models/x", local=True)),
    ],
)
def test_model_entries(entry, spec):
    assert parse_model_spec(entry) == spec


def test_relative_and_home_paths_are_resolved():
    spec = parse_model_spec("mine=./models/rbt3")
    assert spec.local and spec.source == str(Path("models/rbt3").resolve())
    assert parse_model_spec("home=~/m").source == str(Path("~/m").expanduser())


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"MODELS": "a=hfl/x,a=hfl/y"}, "names must be unique; repeated: a"),
        ({"MODELS": "x=not a hub id"}, "neither a hub id"),
        ({"MODELS": "bad name=hfl/x"}, "a name is 1-80"),
        ({"MODELS": "x="}, "the source after '=' is empty"),
        ({"WORKER_THREADS": "two"}, "WORKER_THREADS must be a whole number, got 'two'"),
        ({"WORKER_THREADS": "0"}, "WORKER_THREADS must be between 1 and 64, got 0"),
        ({"MAX_HEATMAP_TOKENS": "1000"}, "MAX_HEATMAP_TOKENS must be between 2 and 512"),
        ({"DISCORD_GUILD_IDS": "123,abc"}, "DISCORD_GUILD_IDS must be numeric ids, got 'abc'"),
        ({"DISCORD_API_BASE": "discord.com/api"}, "DISCORD_API_BASE must start with http://"),
        ({"DISCORD_GATEWAY_URL": "http://x"}, "DISCORD_GATEWAY_URL must start with ws://"),
    ],
)
def test_bad_values_are_refused_with_one_line(env, message):
    with pytest.raises(SettingsError, match=message) as caught:
        load_settings({"MODELS": "hfl/rbt3", **env})
    assert "\n" not in str(caught.value)


def test_full_settings_and_secret_token():
    settings = load_settings(
        {
            "DISCORD_TOKEN": "secret-token-123",
            "DISCORD_GUILD_IDS": "1, 2",
            "DISCORD_API_BASE": "http://127.0.0.1:9999/api/v10/",
            "DISCORD_GATEWAY_URL": "ws://127.0.0.1:9999/gateway",
            "MODELS": "rbt3=hfl/rbt3,minilm=/m",
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


def test_default_model_is_the_bundled_minilm(minilm_dir):
    settings = load_settings({})
    assert settings.models == (ModelSpec("minilm", str(minilm_dir), local=True),)
    assert settings.token is None and settings.guild_ids == ()


def test_env_example_names_every_setting():
    example = (Path(__file__).parents[1] / ".env.example").read_text()
    keys = {line.split("=")[0].lstrip("# ") for line in example.splitlines() if "=" in line}
    for key in ("DISCORD_TOKEN", "DISCORD_GUILD_IDS", "DISCORD_API_BASE", "DISCORD_GATEWAY_URL",
                "MODELS", "MAX_INPUT_CHARS", "MAX_HEATMAP_TOKENS", "WORKER_THREADS",
                "MAX_LOADED_MODELS", "CONSOLE_OUTPUT_DIR", "MODEL_MEMORY_MB", "MODELS_DIR",
                "MAX_ACTIVE_JOBS", "QUEUE_SIZE", "USER_MAX_JOBS", "USER_COOLDOWN_SECONDS",
                "JOB_TIMEOUT_SECONDS", "BATCH_WINDOW_MS", "MAX_BATCH", "PRELOAD_DEFAULT_MODEL",
                "SHUTDOWN_GRACE_SECONDS", "EXPLORATION_IDLE_SECONDS",
                "DEFER_AFTER_MS"):  # fmt: skip
        assert key in keys


def test_models_dir_confines_local_sources(tmp_path):
    (tmp_path / "rbt3").mkdir()
    settings = load_settings({"MODELS_DIR": str(tmp_path), "MODELS": "rbt3=./rbt3,hub=hfl/rbt3"})
    assert settings.models[0] == ModelSpec("rbt3", str(tmp_path / "rbt3"), local=True)
    with pytest.raises(SettingsError, match="is outside MODELS_DIR"):
        load_settings({"MODELS_DIR": str(tmp_path), "MODELS": "etc=../../etc"})
    with pytest.raises(SettingsError, match="MODELS_DIR '/nonexistent' is not a directory"):
        load_settings({"MODELS_DIR": "/nonexistent", "MODELS": "hfl/rbt3"})


@pytest.mark.parametrize(
    ("env", "message"),
    [
        ({"USER_COOLDOWN_SECONDS": "soon"}, "USER_COOLDOWN_SECONDS must be a number"),
        ({"JOB_TIMEOUT_SECONDS": "0"}, "JOB_TIMEOUT_SECONDS must be between"),
        ({"PRELOAD_DEFAULT_MODEL": "perhaps"}, "PRELOAD_DEFAULT_MODEL must be true or false"),
        ({"EXPLORATION_IDLE_SECONDS": "900"}, "EXPLORATION_IDLE_SECONDS must be between 1 and 840"),
        # Past 2 s, a deferral could miss Discord's 3 s acknowledgement deadline.
        ({"DEFER_AFTER_MS": "2500"}, "DEFER_AFTER_MS must be between 0 and 2000"),
    ],
)
def test_load_and_timing_settings_are_checked(env, message):
    with pytest.raises(SettingsError, match=message):
        load_settings({"MODELS": "hfl/rbt3", **env})
