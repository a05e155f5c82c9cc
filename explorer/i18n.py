"""Telling texts in the reader's language, from one catalogue per language.

English is the source: the English text is the catalogue's key (gettext's msgid), and a text
with no translation is told in English. A language's catalogue is a gettext `.po` file,
`explorer/locales/<language>/LC_MESSAGES/messages.po` (`zh_CN` for Discord's `zh-CN`), read
with Babel. Command, group and option names have the context `name` (Discord's naming rules
apply to their translations), message commands' names the context `menu`.

A text with values in it is a `Phrase`: a `str` (its English, as before) that remembers its
template and values, so it can be told again in another language. `phrase(...)` and
`plural_phrase(...)` mark such texts where they are written, so that the catalogue's
template can find them (`bot/catalogue.py`).
"""

from __future__ import annotations

import functools
import gettext
import io
import string
from pathlib import Path
from typing import Any

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po

LOCALES = Path(__file__).with_name("locales")
DOMAIN = "messages"
SOURCE_LANGUAGE = "en"
NAME = "name"  # the context of slash commands', groups' and options' names
MENU = "menu"  # the context of message commands' names


def catalogue_path(language: str) -> Path:
    """Where the catalogue of `language` (as Discord spells it: `zh-CN`) is kept."""
    return LOCALES / language.replace("-", "_") / "LC_MESSAGES" / f"{DOMAIN}.po"


def languages() -> tuple[str, ...]:
    """English, then every language with a catalogue, as Discord spells them."""
    found = sorted(path.parents[1].name.replace("_", "-") for path in LOCALES.glob("*/*/*.po"))
    return (SOURCE_LANGUAGE, *found)


@functools.cache
def translations(language: str) -> gettext.NullTranslations:
    """The catalogue of `language`, or none (every text told in English)."""
    path = catalogue_path(language)
    if language == SOURCE_LANGUAGE or not path.is_file():
        return gettext.NullTranslations()
    with path.open("rb") as file:
        catalogue = read_po(file, locale=language.replace("-", "_"), domain=DOMAIN)
    compiled = io.BytesIO()
    write_mo(compiled, catalogue)  # fuzzy entries are left out: told in English
    compiled.seek(0)
    return gettext.GNUTranslations(compiled)


class Phrase(str):
    """A text with values: its English, which it is as a `str`, and its template and values,
    from which `tell` makes it in another language."""

    template: str
    plural: str | None
    values: dict[str, Any]  # `count` among them, for a plural

    def __new__(cls, template: str, plural: str | None = None, /, **values: Any) -> Phrase:
        """The phrase in English: `plural` instead of `template` when `values["count"]` is
        not 1."""
        english = template if plural is None or values["count"] == 1 else plural
        made = super().__new__(cls, english.format(**values))
        made.template, made.plural, made.values = template, plural, values
        return made

    def __getnewargs_ex__(self) -> tuple[tuple[str, str | None], dict[str, Any]]:
        """Made again from its template and values when unpickled (a refusal from a worker
        process)."""
        return (self.template, self.plural), self.values


def phrase(template: str, /, **values: Any) -> Phrase:
    """Mark a text for the catalogue, with `{name}` fields filled from `values`."""
    return Phrase(template, **values)


def plural_phrase(singular: str, plural: str, count: int, /, **values: Any) -> Phrase:
    """Mark a text whose words follow a number (`{count}`) for the catalogue."""
    return Phrase(singular, plural, count=count, **values)


def tell(text: str, language: str) -> str:
    """`text` in `language`: a phrase through the catalogue with its values filled in (those
    that are phrases told too), any other text looked up as it is; English where the catalogue
    has no translation."""
    catalogue = translations(language)
    if not isinstance(text, Phrase):
        return catalogue.gettext(text) if text else text  # "" is the catalogue's header
    if text.plural is None:
        told = catalogue.gettext(text.template)
    else:
        told = catalogue.ngettext(text.template, text.plural, text.values["count"])
    return told.format(**{key: tell(value, language) if isinstance(value, Phrase) else value
                          for key, value in text.values.items()})  # fmt: skip


def told(text: str, language: str) -> str:
    """A phrase told in `language`; any other text (a name, a number, a value users type)
    as it is."""
    return tell(text, language) if isinstance(text, Phrase) else text


def tell_name(name: str, language: str, context: str = NAME) -> str | None:
    """A command's, group's or option's name in `language`, or None where it has none."""
    told = translations(language).pgettext(context, name)
    return None if told == name else told


def fields(template: str) -> frozenset[str]:
    """The names of the `{fields}` a template fills in."""
    return frozenset(name for _, name, _, _ in string.Formatter().parse(template) if name)
