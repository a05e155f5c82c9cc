"""End to end, beyond English servers: a user whose Discord is set to 中文, a bot installed by a
user and used in DMs and servers that never added it, and the limits of the place a reply
goes to. The real bot process against the fake Discord, with USER_INSTALLS=true."""

from __future__ import annotations

import itertools

import pytest

from tests.bot_process import fresh_bot
from tests.fake_discord import (
    BOT_DM,
    GUILD,
    GUILD_ID,
    PRIVATE_CHANNEL,
    USER_ID,
    Place,
    message_data,
)

EPHEMERAL = 64
CHINESE = Place(locale="zh-CN")
_users = itertools.count(USER_ID + 1000)


def someone() -> int:
    """A user of their own for each test: the bot's cooldown is per user."""
    return next(_users)


@pytest.fixture(scope="module")
async def discord(tmp_path_factory, tiny_dir):
    log = tmp_path_factory.mktemp("bot") / "bot.log"
    settings = {"USER_INSTALLS": "true", "USER_COOLDOWN_SECONDS": "600"}
    async with fresh_bot(log, f"tiny={tiny_dir}", **settings) as started:
        yield started


@pytest.fixture(scope="module")
def fake(discord):
    return discord[0]


@pytest.fixture(scope="module")
def bot(discord):
    return discord[1]


def schemas(fake) -> dict[str, dict]:
    return {schema["name"]: schema for schema in fake.commands[GUILD_ID]}


def localized(item: dict) -> list[tuple[str, str, str]]:
    """(English name, Chinese name, Chinese description) of a command or option, then of its
    options and choices, all the way down."""
    found = [
        (
            item["name"],
            (item.get("name_localizations") or {}).get("zh-CN", ""),
            (item.get("description_localizations") or {}).get("zh-CN", ""),
        )
    ]
    for option in item.get("options", []):
        found += localized(option)
    for choice in item.get("choices", []):
        found.append((choice["name"], choice["name_localizations"].get("zh-CN", ""), "-"))
    return found


async def test_every_command_option_and_choice_is_synced_with_its_chinese(fake, bot):
    synced = schemas(fake)
    assert synced["attention"]["name_localizations"]["zh-CN"] == "注意力"
    assert synced["attention"]["description_localizations"]["zh-CN"].startswith("探索注意力")
    assert synced["Explore attention"]["name_localizations"] == {"zh-CN": "探索此消息的注意力"}
    for name, schema in synced.items():
        for english, chinese, description in localized(schema):
            assert chinese, f"/{name}: {english} has no zh-CN name"
            if schema.get("type", 1) == 1:  # a message command has no description
                assert description, f"/{name}: {english} has no zh-CN description"
    view = next(o for o in synced["attention"]["options"] if o["name"] == "view")
    assert view["name_localizations"] == {"zh-CN": "视图"}
    assert view["choices"][0]["name_localizations"] == {"zh-CN": "head：某一层的一个头"}


async def test_chinese_names_are_unique_beside_each_other(fake, bot):
    synced = schemas(fake)
    names = [s["name_localizations"]["zh-CN"] for s in synced.values() if s.get("type", 1) == 1]
    assert len(names) == len(set(names))
    for schema in synced.values():
        options = [o["name_localizations"]["zh-CN"] for o in schema.get("options", [])]
        assert len(options) == len(set(options)), schema["name"]


@pytest.mark.parametrize(
    ("name", "installs", "contexts"),
    [
        ("tokenize", [0, 1], [0, 1, 2]),
        ("attention", [0, 1], [0, 1, 2]),
        ("models", [0, 1], [0, 1, 2]),
        ("Explore attention", [0, 1], [0, 1, 2]),
        ("settings", [0], [0]),
        ("admin", [0], [0]),
    ],
)
async def test_users_may_install_every_command_but_the_server_only_ones(
    fake, bot, name, installs, contexts
):
    schema = schemas(fake)[name]
    assert (schema["integration_types"], schema["contexts"]) == (installs, contexts)


@pytest.mark.parametrize(
    "place",
    [
        Place(context=BOT_DM, guild_installed=False),
        Place(context=PRIVATE_CHANNEL, guild_installed=False),
        Place(context=GUILD, guild_installed=False),
    ],
    ids=["bot-dm", "group-dm", "server-without-the-bot"],
)
async def test_a_user_installed_bot_answers_wherever_its_user_is(fake, bot, place):
    interaction = await fake.slash(
        "tokenize", user_id=someone(), place=place, text="hello world", model="tiny"
    )
    answer = message_data(await interaction.answer())
    assert "**tiny** · 11 characters → " in answer["content"]
    assert not answer.get("flags", 0) & EPHEMERAL


async def test_per_user_limits_hold_in_a_dm_and_are_told_in_chinese(fake, bot):
    user, place = someone(), Place(context=BOT_DM, guild_installed=False, locale="zh-CN")
    first = await fake.slash("tokenize", user_id=user, place=place, text="hello", model="tiny")
    await first.answer()
    second = await fake.slash("tokenize", user_id=user, place=place, text="again", model="tiny")
    refusal = message_data(await second.answer())
    assert refusal["content"].startswith("⚠️ 请稍慢一点：")
    assert refusal["flags"] & EPHEMERAL


async def test_the_allowlist_holds_in_a_dm(fake, bot):
    place = Place(context=BOT_DM, guild_installed=False)
    interaction = await fake.slash(
        "tokenize", user_id=someone(), place=place, text="hello", model="gpt-7b"
    )
    refusal = message_data(await interaction.answer())
    assert "`gpt-7b` is not one of this bot's models" in refusal["content"]
    assert refusal["flags"] & EPHEMERAL


@pytest.mark.parametrize(
    ("locale", "expected"),
    [
        ("en-US", "⚠️ This command changes the bot for a server: use it in a server"),
        ("zh-CN", "⚠️ 这个命令会更改机器人在某个服务器上的设置"),
    ],
)
@pytest.mark.parametrize("context", [BOT_DM, GUILD])
async def test_a_server_only_command_is_refused_politely_outside_a_server_with_the_bot(
    fake, bot, locale, expected, context
):
    place = Place(context=context, guild_installed=False, locale=locale)
    interaction = await fake.slash(
        "settings", user_id=someone(), place=place, subcommand="allow", model="tiny"
    )
    refusal = message_data(await interaction.answer())
    assert refusal["content"].startswith(expected)
    assert refusal["flags"] & EPHEMERAL


async def test_a_press_on_a_gone_exploration_is_answered_in_the_users_language(fake, bot):
    answer = await (
        await fake.slash("tokenize", user_id=someone(), text="hi", model="tiny")
    ).answer()
    message = answer.response
    assert message is not None
    pressed = await fake.press(message, "mx:nosuchkey1:next", user_id=someone(), place=CHINESE)
    refusal = message_data(await pressed.answer())
    assert refusal["content"].startswith("⚠️ ⌛ 这次探索已不再保留")


async def test_files_over_the_places_limit_are_left_out_with_a_note(fake, bot):
    place = Place(context=BOT_DM, guild_installed=False, locale="zh-CN", attachment_limit=1000)
    interaction = await fake.slash(
        "attention", user_id=someone(), place=place, text="hello world", model="tiny", export=True
    )
    answer = await interaction.answer()
    sent = {name for name, _ in answer.files.values()}
    assert sum(len(data) for _, data in answer.files.values()) <= 1000
    assert "attention.npy" in sent  # small enough: still attached
    content = message_data(answer)["content"]
    note = content.split("\n")[-1]
    assert note.startswith("📎 以下文件太大，未能附上（这里每条消息最多可带 1 KB 的文件）：`")
    assert ".png` (" in note and not any(name.endswith(".png") for name in sent)
    assert not any(f"`{name}`" in note for name in sent)
    assert len(content) <= 2000


def controls_of(message: dict) -> dict[str, dict]:
    """The message's buttons and menus by the action at the end of their custom id."""
    return {
        component["custom_id"].rsplit(":", 1)[1]: component
        for row in message.get("components", [])
        for component in row["components"]
    }


def shown_texts(message: dict) -> list[str]:
    """Every text the controls show: labels, placeholders, choices and their descriptions."""
    texts = []
    for control in controls_of(message).values():
        texts += [control.get("label") or "", control.get("placeholder") or ""]
        for option in control.get("options", []):
            texts += [option["label"], option.get("description") or ""]
    return [text for text in texts if text]


async def test_a_chinese_users_tokenize_is_answered_in_chinese(fake, bot):
    interaction = await fake.slash(
        "tokenize", user_id=someone(), place=CHINESE, text="hello world", model="tiny"
    )
    content = message_data(await interaction.answer())["content"]
    assert content.startswith("**tiny** · 11 个字符 → ")
    assert "个特殊词元，标 *）" in content
    assert "   #  词元" in content  # the table's heading, aligned as the English one
    for english in ("characters", "special, marked", "token "):
        assert english not in content


async def test_a_chinese_users_attention_and_its_controls_are_in_chinese(fake, bot):
    interaction = await fake.slash(
        "attention", user_id=someone(), place=CHINESE, text="hello world", model="tiny"
    )
    answer = await interaction.answer()
    message = answer.response
    content = message_data(answer)["content"]
    assert " · 第 " in content and " 层 · " in content and "个头的平均" in content
    assert "个词元" in content
    for english in ("layer ", "mean of", "heads", "tokens"):
        assert english not in content, english
    controls = controls_of(message)
    assert set(controls) >= {"view", "layer-", "layer+"}  # the actions, never translated
    assert controls["layer+"]["label"] == "层 ▶" and controls["layer-"]["label"] == "◀ 层"
    assert controls["view"]["placeholder"] == "选择视图"
    options = {o["value"]: o for o in controls["view"]["options"]}
    assert options["head"]["description"] == "某一层的一个头"
    assert "Choose a view" not in shown_texts(message)
    ((filename, _),) = [(n, d) for n, d in answer.files.values() if n.endswith(".png")]
    assert filename == "attention.png"

    pressed = await fake.press(message, controls["layer-"]["custom_id"], place=CHINESE)
    redrawn = (await pressed.answer()).response
    assert redrawn is not None and redrawn["id"] == message["id"]
    assert "层 · " in redrawn["content"] and "layer" not in redrawn["content"]
    assert controls_of(redrawn)["layer+"]["label"] == "层 ▶"


async def test_a_press_redraws_in_the_language_of_whoever_pressed(fake, bot):
    answer = await (
        await fake.slash("attention", user_id=someone(), text="hello world", model="tiny")
    ).answer()
    message = answer.response
    assert "layer " in message["content"] and controls_of(message)["layer+"]["label"] == "layer ▶"
    pressed = await fake.press(
        message, controls_of(message)["layer-"]["custom_id"], user_id=someone(), place=CHINESE
    )
    redrawn = (await pressed.answer()).response
    assert "第 " in redrawn["content"] and "layer" not in redrawn["content"]
    assert controls_of(redrawn)["layer-"]["label"] == "◀ 层"
    assert (
        controls_of(redrawn)["layer-"]["custom_id"] == controls_of(message)["layer-"]["custom_id"]
    )


async def test_a_chinese_users_config_is_in_chinese_but_its_keys_are_not(fake, bot):
    interaction = await fake.slash("config", user_id=someone(), place=CHINESE, model="tiny")
    content = message_data(await interaction.answer())["content"]
    assert content.startswith("**tiny** 的配置\n```yaml\n架构: ")
    assert "\n任务: " in content and "\n层数: " in content and "\n词表大小: " in content
    assert "完整配置：" in content
    assert '"num_hidden_layers"' in content or "config.json" in content  # JSON keys as they are
    for english in ("architecture:", "task:", "vocab size:", "Full config:", "configuration"):
        assert english not in content, english
