"""One catalogue per language: every text a user may read has its translation there, with the
same placeholders, and names Discord accepts; the helpers that tell, page and size replies."""

from __future__ import annotations

import io
import pickle
import unicodedata

import pytest
from babel.messages.catalog import Catalog, Message
from babel.messages.pofile import read_po

from bot.catalogue import declared, template
from bot.replies import FENCE, fitted, pages
from bot.settings import SettingsError, language
from commands import COMMANDS
from explorer.contract import Attachment, Reply, UserError
from explorer.i18n import (
    MENU,
    NAME,
    catalogue_path,
    fields,
    languages,
    phrase,
    plural_phrase,
    tell,
    tell_name,
)
from tests.conftest import make_settings, running

TRANSLATED = languages()[1:]
NAME_LIMIT = 32  # Discord's, for command, option and message command names
TEXT_LIMIT = 100  # Discord's, for descriptions and choices


def catalogue(language_: str) -> Catalog:
    with catalogue_path(language_).open("rb") as file:
        return read_po(file)


def entries(language_: str) -> list[Message]:
    return [message for message in catalogue(language_) if message.id]


def forms(message: Message) -> list[tuple[str, str]]:
    """(English, translation) pairs of a message: one, or one per plural form."""
    if isinstance(message.id, tuple | list):
        return [(message.id[min(i, 1)], text) for i, text in enumerate(message.string)]
    return [(message.id, message.string)]


def test_zh_cn_is_one_of_the_languages():
    assert languages() == ("en", "zh-CN")


def test_the_declarations_give_every_text_discord_shows():
    texts = {(context, message) for message, context, _ in declared(COMMANDS)}
    assert (NAME, "attention") in texts and (NAME, "view") in texts
    assert (None, "mean: mean of a layer's heads") in texts
    assert (NAME, "settings") in texts and (NAME, "default-model") in texts
    assert (MENU, "Explore attention") in texts
    assert (NAME, "text") in texts
    assert (None, "The message's text") not in texts  # a message command has no options


@pytest.mark.parametrize("language_", TRANSLATED)
def test_every_text_has_its_translation_and_no_stale_one_is_kept(language_):
    wanted = {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)) for m in template()}
    kept = {(m.context, m.id if isinstance(m.id, str) else tuple(m.id)) for m in entries(language_)}
    assert wanted - {(None, "")} - kept == set(), "run `python -m bot.catalogue`, then translate"
    assert kept - wanted == set(), "texts no longer used: run `python -m bot.catalogue`"
    for message in entries(language_):
        assert not message.fuzzy, f"{message.id!r} is marked fuzzy: check its translation"
        assert all(text for _, text in forms(message)), f"{message.id!r} is not translated"


@pytest.mark.parametrize("language_", TRANSLATED)
def test_placeholders_match(language_):
    for message in entries(language_):
        for english, translated in forms(message):
            assert fields(translated) == fields(english), (english, translated)


def allowed_in_a_name(character: str) -> bool:
    return character in "-_'" or unicodedata.category(character)[0] in "LN"


@pytest.mark.parametrize("language_", TRANSLATED)
def test_names_obey_discords_rules(language_):
    shown = {text for text, context, _ in declared(COMMANDS) if context is None}
    for message in entries(language_):
        if message.context == NAME:
            name = message.string
            assert name == name.lower(), name
            assert 1 <= len(name) <= NAME_LIMIT, name
            assert all(allowed_in_a_name(c) for c in name), name
        elif message.context == MENU:
            assert 1 <= len(message.string) <= NAME_LIMIT
        elif message.id in shown:
            assert len(message.string) <= TEXT_LIMIT, message.string  # a description or choice


@pytest.mark.parametrize(
    ("text", "language_", "told"),
    [
        (phrase("⏹ Cancelled."), "zh-CN", "⏹ 已取消。"),
        (phrase("⏹ Cancelled."), "en-US", "⏹ Cancelled."),
        (phrase("⏹ Cancelled."), "ja", "⏹ Cancelled."),  # no catalogue: English
        ("⏹ Cancelled.", "zh-CN", "⏹ 已取消。"),  # a text as it is, found by its English
        ("not in any catalogue", "zh-CN", "not in any catalogue"),
        (
            phrase("This took longer than {limit:g} s and was stopped. Try a shorter text or "
                   "a smaller model.", limit=60.0),
            "zh-CN",
            "运行超过了 60 秒，已被停止。请试试更短的文本或更小的模型。",
        ),
        (
            plural_phrase("🚦 Busy — {count} request ahead of you. Please try again shortly.",
                          "🚦 Busy — {count} requests ahead of you. Please try again shortly.", 1),
            "en-US",
            "🚦 Busy — 1 request ahead of you. Please try again shortly.",
        ),
        (
            plural_phrase("🚦 Busy — {count} request ahead of you. Please try again shortly.",
                          "🚦 Busy — {count} requests ahead of you. Please try again shortly.", 4),
            "zh-CN",
            "🚦 繁忙 —— 你前面还有 4 个请求。请稍后再试。",
        ),
    ],
)  # fmt: skip
def test_tell(text, language_, told):
    assert tell(text, language_) == told


def test_a_phrase_is_its_english_text_and_survives_pickling():
    made = phrase("Slow down a little: try again in {wait:.1f} s.", wait=1.25)
    assert made == "Slow down a little: try again in 1.2 s." and isinstance(made, str)
    assert str(UserError(made)) == made
    braces = phrase("{value} is not a valid value for this option.", value="`{x}`")
    for original in (made, braces, plural_phrase("{count} a", "{count} as", 2)):
        copy = pickle.loads(pickle.dumps(UserError(original))).args[0]  # noqa: S301 (ours)
        assert copy == original and tell(copy, "zh-CN") == tell(original, "zh-CN")


@pytest.mark.parametrize(
    ("name", "language_", "context", "told"),
    [
        ("attention", "zh-CN", NAME, "注意力"),
        ("fill-mask", "zh-CN", NAME, "掩码填空"),
        ("Explore attention", "zh-CN", MENU, "探索此消息的注意力"),
        ("attention", "en-GB", NAME, None),
        ("no-such-command", "zh-CN", NAME, None),
    ],
)
def test_tell_name(name, language_, context, told):
    assert tell_name(name, language_, context) == told


@pytest.mark.parametrize(
    ("raw", "parsed"), [("en", "en"), ("zh-CN", "zh-CN"), ("ZH-cn", "zh-CN"), ("zh_CN", None)]
)
def test_console_language_setting(raw, parsed):
    if parsed is None:
        with pytest.raises(SettingsError, match="CONSOLE_LANGUAGE must be one of en, zh-CN"):
            language("CONSOLE_LANGUAGE", raw)
    else:
        assert language("CONSOLE_LANGUAGE", raw) == parsed


async def test_the_console_refuses_in_its_language(tiny_dir, tmp_path):
    from bot.console import Console

    settings = make_settings(f"tiny={tiny_dir}", CONSOLE_LANGUAGE="zh-CN")
    async with running(settings) as runtime:
        out = io.StringIO()
        console = Console(runtime, tmp_path, out)
        assert not await console.execute("/tokenize text:hi layer:2")
        assert not await console.execute("/tokenize text:hi ratio:3")
    assert out.getvalue().splitlines() == [
        '⚠️ `layer` 不是这里的选项。把值放在双引号里，就能在其中保留这样的文字：text:"ratio:3"。',
        '⚠️ `ratio` 不是这里的选项。把值放在双引号里，就能在其中保留这样的文字：text:"ratio:3"。',
    ]


LINE = "x" * 50


@pytest.mark.parametrize(
    ("text", "limit", "expected"),
    [
        ("short", 2000, ["short"]),
        ("a\nb\nc", 3, ["a\nb", "c"]),
        ("abc\ndef", 5, ["abc", "def"]),
        ("x" * 250, 200, ["x" * 136, "x" * 114]),  # a line longer than a page: cut in it
        (f"intro\n{FENCE}py\n1\n2\n3\n{FENCE}\nend", 20,
         [f"intro\n{FENCE}py\n1\n2\n{FENCE}", f"{FENCE}py\n3\n{FENCE}\nend"]),
        (f"{FENCE}\n1\n{FENCE}\nafter", 10, [f"{FENCE}\n1\n{FENCE}", "after"]),
    ],
)  # fmt: skip
def test_pages(text, limit, expected):
    assert pages(text, limit) == expected


def test_pages_of_a_long_code_block_each_fit_and_each_is_a_whole_block():
    text = "**header**\n```\n" + "\n".join(f"{i:4d} {LINE}" for i in range(200)) + "\n```"
    found = pages(text)
    assert len(found) > 1 and all(len(page) <= 2000 for page in found)
    assert all(page.count(FENCE) == 2 for page in found)
    rejoined = [line for page in found for line in page.split("\n") if line != FENCE]
    assert rejoined == [line for line in text.split("\n") if line != FENCE]


def files(*sizes: int) -> tuple[Attachment, ...]:
    return tuple(Attachment(f"f{i}.bin", b"x" * size) for i, size in enumerate(sizes))


@pytest.mark.parametrize(
    ("sizes", "limit", "kept", "note"),
    [
        ((10, 20), 100, ["f0.bin", "f1.bin"], None),
        ((60, 60), 100, ["f0.bin"], "📎 Not attached, too large for this place (it takes 1 KB "
                                    "of files per message): `f1.bin` (1 KB)."),
        ((200, 10), 100, ["f1.bin"], "`f0.bin` (1 KB)."),
        ((3 * 2**20,), 2**20, [], "(it takes 1.0 MB of files per message): `f0.bin` (3.0 MB)."),
    ],
)  # fmt: skip
def test_fitted_leaves_out_what_does_not_fit_and_says_so(sizes, limit, kept, note):
    reply = fitted(Reply("answer", files(*sizes)), limit, "en-US")
    assert [a.filename for a in reply.attachments] == kept
    if note is None:
        assert reply.content == "answer"
    else:
        assert reply.content.startswith("answer\n📎 ") and reply.content.endswith(note)
