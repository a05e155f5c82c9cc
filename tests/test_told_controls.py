"""Every live kind's controls as a zh-CN reader sees them: each label, placeholder and choice
description that is a phrase has its Chinese (none is left as its English), while actions,
values and names stay as typed; and its English is what it always was."""

from __future__ import annotations

import pytest

from commands import KINDS
from commands.attention.exploration import Explored, Shape, Subject, ViewState, state_of
from explorer.i18n import Phrase, tell, told
from explorer.live import Button, Control, kinds_by_name

ZH = "zh-CN"
TEXT = {"model": "tiny", "text": "Paris is the [MASK] of [MASK].", "export": False}
# A state of each kind that offers every control it has (several masks, pages, layers…).
STATES = {
    "attention": state_of(
        Explored(Subject("tiny", "a b c"), ViewState("token", 2, 1, 1), Shape(4, 4, 200))
    ),
    "fill-mask": {**TEXT, "top_k": 5, "focus": 0, "masks": 2},
    "predict": {**TEXT, "top_k": 5, "position": 0, "positions": 3},
    "lens": {**TEXT, "layer": -1, "layers": 4},
    "compare": {"text": "a b", "models": ["a", "b"], "depth": 2, "deepest": 4},
    "attribute": {
        **TEXT,
        "method": "integrated-gradients",
        "steps": 32,
        "token": None,
        "mask": 0,
        "masks": 2,
    },
    "surprisal": {**TEXT, "measure": "surprisal", "page": 0, "pages": 3},
}


def shown(control: Control) -> list[tuple[str, frozenset[str]]]:
    """What a control shows (its label or placeholder, its choices' labels and
    descriptions), each with the names it may show as typed (a choice's value)."""
    if isinstance(control, Button):
        return [(control.label, frozenset())]
    texts = [(control.placeholder, frozenset())]
    for choice in control.choices:
        texts += [(choice.label, frozenset({choice.value})), (choice.description, frozenset())]
    return [(text, names) for text, names in texts if text]


def test_every_kind_has_a_state_here():
    assert set(STATES) == set(kinds_by_name(KINDS))


@pytest.mark.parametrize("kind", KINDS, ids=lambda kind: kind.name)
def test_a_kinds_controls_are_told_in_chinese_and_its_actions_are_not(kind):
    controls = kind.controls(STATES[kind.name])
    assert controls
    for control in controls:
        assert control.action.isascii()  # custom ids and typed steps: never translated
        for text, names in shown(control):
            chinese = told(text, ZH)
            if isinstance(text, Phrase):
                assert chinese != text, f"{kind.name}: {text!r} has no Chinese"
                assert any("\u4e00" <= char <= "\u9fff" for char in chinese), chinese
            else:  # only a name users type (a view, a method) is shown as it is
                assert text in names and chinese == text, f"{kind.name}: {text!r} is not told"


@pytest.mark.parametrize(
    ("kind", "action", "english", "chinese"),
    [
        ("attention", "layer+", "layer ▶", "层 ▶"),
        ("attention", "token-", "◀ token", "◀ 词元"),
        ("attention", "view", "Choose a view", "选择视图"),
        ("fill-mask", "next", "mask ▶", "掩码 ▶"),
        ("predict", "previous", "◀ position", "◀ 位置"),
        ("lens", "next", "layer ▶", "层 ▶"),
        ("compare", "previous", "◀ layer", "◀ 层"),
        ("attribute", "method", "Choose a method", "选择方法"),
        ("attribute", "steps", "Steps of integrated gradients", "积分梯度的步数"),
        ("surprisal", "measure", "Choose what the strip shows", "选择色条显示的内容"),
        ("surprisal", "next", "page ▶", "页 ▶"),
    ],
)
def test_a_controls_english_stays_and_its_chinese_reads(kind, action, english, chinese):
    found = kinds_by_name(KINDS)[kind]
    (control,) = [c for c in found.controls(STATES[kind]) if c.action == action]
    text = control.label if isinstance(control, Button) else control.placeholder
    assert (text, tell(text, ZH)) == (english, chinese)


def test_the_steps_menu_counts_its_steps_in_chinese():
    found = kinds_by_name(KINDS)["attribute"]
    (menu,) = [c for c in found.controls(STATES["attribute"]) if c.action == "steps"]
    labels = [(choice.value, choice.label, told(choice.label, ZH)) for choice in menu.choices]
    assert ("32", "32 steps", "32 步") in labels
