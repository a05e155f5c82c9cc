"""Commands declared once: the handler's signature is the declaration everything derives from."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest

from bot.console import help_text
from commands import COMMANDS
from commands.attention.exploration import SCALES, WEIGHTINGS
from commands.attention.views import VIEWS
from explorer.contract import Context, Reply
from explorer.declare import Opt, command

ROOT = Path(__file__).parents[1]
BY_PATH = {c.path: c for c in COMMANDS}


@pytest.mark.parametrize(
    ("path", "options", "queued", "permission"),
    [
        ("tokenize", [("text", str, True), ("model", str, False), ("text_pair", str, False),
                      ("target", str, False), ("compare", str, False)], True, None),
        ("attention", [("text", str, True), ("model", str, False), ("layer", int, False),
                       ("head", int, False), ("text_pair", str, False), ("view", str, False),
                       ("token", str, False), ("export", bool, False), ("part", str, False),
                       ("target", str, False), ("granularity", str, False),
                       ("scale", str, False), ("weighting", str, False)], True, None),
        ("config", [("model", str, False), ("key", str, False)], True, None),
        ("forward", [("text", str, True), ("model", str, False), ("attentions", bool, False),
                     ("target", str, False)], True, None),
        ("fill-mask", [("text", str, True), ("model", str, False), ("top_k", int, False)],
         True, None),
        ("predict", [("text", str, True), ("model", str, False), ("top_k", int, False)],
         True, None),
        ("lens", [("text", str, True), ("model", str, False)], True, None),
        ("compare", [("text", str, True), ("model_a", str, True), ("model_b", str, True)],
         True, None),
        ("Tokenize message", [("text", str, True)], True, None),
        ("Explore attention", [("text", str, True)], True, None),
        ("models", [], False, None),
        ("status", [], False, None),
        ("admin load", [("model", str, True)], False, "manage_guild"),
        ("admin unload", [("model", str, True)], False, "manage_guild"),
        ("admin internals", [], False, "manage_guild"),
    ],
)  # fmt: skip
def test_each_command_is_read_from_its_handler(path, options, queued, permission):
    declared = BY_PATH[path]
    assert [(o.name, o.kind, o.required) for o in declared.options] == options
    assert (declared.queued, declared.permission) == (queued, permission)
    assert declared.description and declared.description == declared.description.strip()
    assert all(o.description for o in declared.options)


def discord_schemas() -> list[dict]:
    """Every command as discord.py sends it to Discord when syncing."""
    import discord
    from discord import app_commands

    from bot.discord_commands import register

    tree = app_commands.CommandTree(discord.Client(intents=discord.Intents.none()))
    register(tree, pipeline=None, commands=COMMANDS, answer=None)  # type: ignore[arg-type]
    found = []
    for kind in (discord.AppCommandType.chat_input, discord.AppCommandType.message):
        found += [command.to_dict(tree) for command in tree.get_commands(type=kind)]
    return found


def leaf_options(schema: dict) -> list[dict]:
    """The options of a command and of its subcommands."""
    found = []
    for option in schema.get("options", []):
        nested = option["type"] in (1, 2)  # a subcommand or a group
        found += leaf_options(option) if nested else [option]
    return found


def test_every_option_of_every_command_is_described_on_discord_and_in_help():
    schemas = discord_schemas()
    options = [option for schema in schemas for option in leaf_options(schema)]
    assert len(options) == sum(len(c.options) for c in COMMANDS if not c.menu)
    for option in options:
        assert 0 < len(option["description"]) <= 100, option  # Discord refuses longer
        assert all(len(choice["name"]) <= 100 for choice in option.get("choices", ()))
    text = help_text()
    for declared in COMMANDS:
        for option in declared.options if not declared.menu else ():
            choices = ", ".join(value for _, value in option.choices)
            meaning = option.description + (f" — one of: {choices}" if choices else "")
            assert re.search(rf"\n +{option.name} +{re.escape(meaning)}\n", text)


def test_every_scale_is_offered_and_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    offered = [value for _, value in BY_PATH["attention"].option("scale").choices]
    assert offered == list(SCALES)
    for name in SCALES:
        assert f"`{name}`:" in readme.split("## Exploring attention")[1].split("\n## ")[0]


def test_every_weighting_is_offered_and_documented():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    offered = [value for _, value in BY_PATH["attention"].option("weighting").choices]
    assert offered == list(WEIGHTINGS) == ["weights", "norm"]
    section = readme.split("## Exploring attention")[1].split("\n## ")[0]
    assert "`weighting:norm`" in section and "‖αf(x)‖" in section


def test_bounds_choices_and_completion_come_from_the_declaration():
    attention = BY_PATH["attention"]
    for stack in ("layer", "head"):  # the model's own count, offered by autocompletion
        option = attention.option(stack)
        assert (option.low, option.high) == (None, None) and option.complete is not None
    assert [value for _, value in attention.option("view").choices] == list(VIEWS)
    assert attention.option("token").complete is not None
    assert attention.option("model").complete is not None
    assert (attention.option("text").low, attention.option("text").high) == (1, 6000)


def test_help_lists_every_command_its_options_and_the_views():
    text = help_text()
    for declared in COMMANDS:
        if declared.menu:  # Discord only: listed by name
            assert f"“{declared.name}”" in text and f"/{declared.path}" not in text
        else:
            assert f"/{declared.path}" in text and declared.description in text
    assert "/attention text:… [model:…] [layer:…]" in text
    for name, view in VIEWS.items():
        assert name in text and view.description in text


def test_a_handler_must_declare_every_option_and_its_help():
    async def undocumented(ctx: Context, text: Annotated[str, Opt("a text")]) -> Reply:
        return Reply(text)

    with pytest.raises(TypeError, match="needs a docstring"):
        command()(undocumented)

    async def bare(ctx: Context, text: str) -> Reply:
        """Echo."""
        return Reply(text)

    with pytest.raises(TypeError, match="has no Opt"):
        command()(bare)

    async def two(ctx: Context, text: Annotated[str, Opt("a")], n: Annotated[int, Opt("b")] = 1):
        """Menu."""
        return Reply(text)

    with pytest.raises(TypeError, match="a menu command takes exactly `text`"):
        command(menu=True)(two)


def test_starting_the_bot_imports_neither_torch_nor_transformers():
    """The bot connects to Discord before paying for the heavy imports."""
    probe = (
        "import sys, bot.app, bot.console, commands; "
        "print(sorted(m for m in ('torch', 'transformers') if m in sys.modules))"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
