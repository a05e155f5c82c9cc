"""The catalogues' template: every text a user may read in another language.

That is what Discord shows of the declared commands (names, descriptions, options, choices),
and every text marked with `phrase(...)` or `plural_phrase(...)` in `bot/`, `commands/` and
`explorer/` (found by Babel's extractor). `python -m bot.catalogue` brings each language's
catalogue up to date with it (new texts added untranslated, gone ones dropped, changed ones
kept as fuzzy hints); `python -m bot.catalogue ja` starts a catalogue for Japanese.
`tests/test_catalogue.py` fails until every text has its translation.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable, Iterator
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po, write_po

from commands import COMMANDS
from explorer.declare import Command
from explorer.i18n import DOMAIN, MENU, NAME, catalogue_path, languages

ROOT = Path(__file__).parents[1]
PACKAGES = ("bot", "commands", "explorer")
KEYWORDS = {"phrase": None, "plural_phrase": (1, 2)}
PROJECT = "Model Explorer"

# One text of the template: its msgid (a plural's as (singular, plural)), its context, and a
# note for translators saying where it is shown.
Entry = tuple[str | tuple[str, ...], str | None, str]


def declared(commands: Iterable[Command]) -> Iterator[Entry]:
    """What Discord shows of the commands: names (context `name`, a message command's
    `menu`), descriptions, and options' names, descriptions and choices."""
    groups = set()
    for command in commands:
        if command.menu:  # Discord shows a message command's name only
            yield command.name, MENU, "the name of a command on messages (Apps →)"
            continue
        if command.group is not None and command.group.name not in groups:
            groups.add(command.group.name)
            yield command.group.name, NAME, "a command group's name"
            yield command.group.description, None, f"what /{command.group.name} does"
        yield command.name, NAME, f"the name of /{command.path}"
        yield command.description, None, f"what /{command.path} does"
        for option in command.options:
            where = f"/{command.path} {option.name}:"
            yield option.name, NAME, f"the name of the option {where}"
            yield option.description, None, f"what {where} means"
            for label, _ in option.choices:
                yield label, None, f"a choice of {where}"


def marked(root: Path = ROOT) -> Iterator[Entry]:
    """The texts marked with `phrase` or `plural_phrase` in the bot's packages."""
    for package in PACKAGES:
        found = extract_from_dir(root / package, keywords=KEYWORDS)
        for filename, _, message, _, context in found:
            yield message, context, f"{package}/{filename}"


def template(commands: Iterable[Command] = COMMANDS) -> Catalog:
    """Every text to translate, each once (its notes say where it is shown)."""
    catalogue = Catalog(domain=DOMAIN, project=PROJECT, fuzzy=False)
    for message, context, note in [*declared(commands), *marked()]:
        known = catalogue.get(message, context)
        if known is None:
            catalogue.add(message, context=context, auto_comments=[note])
        elif note not in known.auto_comments:
            known.auto_comments.append(note)
    return catalogue


def update(language: str, commands: Iterable[Command] = COMMANDS) -> Path:
    """Bring the catalogue of `language` up to date with the template (starting it if it is
    new); returns its path."""
    path = catalogue_path(language)
    locale = language.replace("-", "_")
    if path.is_file():
        with path.open("rb") as file:
            catalogue = read_po(file, locale=locale, domain=DOMAIN)
    else:
        catalogue = Catalog(locale=locale, domain=DOMAIN, project=PROJECT, fuzzy=False)
    catalogue.update(template(commands), update_creation_date=False)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as file:
        write_po(file, catalogue, width=100, no_location=True, ignore_obsolete=True)
    return path


def main(argv: list[str]) -> int:
    """Update every catalogue, or start and update the languages named in `argv`."""
    for language in argv or languages()[1:]:
        print(f"updated {update(language).relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
