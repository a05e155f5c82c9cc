"""`bot.settings.SETTINGS` is the one declaration of the settings: `.env.example` and the README's
settings table list exactly the declared keys, with the declared defaults."""

from __future__ import annotations

import re
from pathlib import Path

from bot.settings import SETTINGS

ROOT = Path(__file__).resolve().parent.parent
DEFAULTS = {setting.key: setting.default for setting in SETTINGS}


def env_example() -> dict[str, str]:
    """The `KEY=value` lines of `.env.example` (commented examples left out)."""
    lines = (ROOT / ".env.example").read_text().splitlines()
    pairs = [line.split("=", 1) for line in lines if re.match(r"^[A-Z_]+=", line)]
    keys = [key for key, _ in pairs]
    assert len(keys) == len(set(keys)), f"a key set twice in .env.example: {keys}"
    return {key: value for key, value in pairs}


def readme_rows() -> list[tuple[list[str], str]]:
    """The README's settings table: each row's keys and its default column."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    table = section.split("| key | meaning | default |\n| --- | --- | --- |\n", 1)[1]
    rows = []
    for line in table.split("\n\n", 1)[0].splitlines():
        cells = [cell.strip() for cell in line.strip("|").split(" | ")]
        rows.append((re.findall(r"`([A-Z_]+)`", cells[0]), cells[-1]))
    return rows


def test_env_example_sets_every_setting_to_its_default() -> None:
    assert env_example() == DEFAULTS


def test_readme_table_lists_every_setting_once() -> None:
    keys = [key for row_keys, _ in readme_rows() for key in row_keys]
    assert sorted(keys) == sorted(DEFAULTS)


def test_readme_table_shows_the_declared_defaults() -> None:
    # A row of several keys gives their defaults in order, split by ", " or "; ", or one for
    # all. An empty default is told in words (what unset means), so only the others compare.
    for keys, cell in readme_rows():
        shown = re.split(r"[,;] ", cell) if len(keys) > 1 else [cell]
        shown = shown * len(keys) if len(shown) == 1 else shown
        assert len(shown) == len(keys), f"{keys}: {cell!r}"
        for key, text in zip(keys, shown, strict=True):
            default = DEFAULTS[key]
            if default:
                assert re.match(rf"`?{re.escape(default)}`?( \(|$)", text), f"{key}: {text!r}"
            else:
                assert not re.match(r"`?\d", text), f"{key} is unset by default: {text!r}"
