"""Commands declared once: the handler's signature is the declaration everything derives from."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Annotated

import pytest

from bot.console import help_text
from commands import COMMANDS
from explorer.contract import Context, Reply
from explorer.declare import Opt, command
from explorer.views import VIEWS

ROOT = Path(__file__).parents[1]
BY_PATH = {c.path: c for c in COMMANDS}


@pytest.mark.parametrize(
    ("path", "options", "queued", "permission"),
    [
        ("tokenize", [("text", str, True), ("model", str, False), ("text_pair", str, False),
                      ("target", str, False)], True, None),
        ("attention", [("text", str, True), ("model", str, False), ("layer", int, False),
                       ("head", int, False), ("text_pair", str, False), ("view", str, False),
                       ("token", str, False), ("export", bool, False), ("part", str, False),
                       ("target", str, False), ("granularity", str, False),
                       ("scale", str, False)], True, None),
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


def test_bounds_choices_and_completion_come_from_the_declaration():
    attention = BY_PATH["attention"]
    assert (attention.option("layer").low, attention.option("layer").high) == (1, 128)
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
