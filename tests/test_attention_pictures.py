"""Every view, at every length the settings allow, in every script, alone and as a pair:
each picture renders, stays within Discord's limits, is not blank, and labels what the rules
say must be labelled (checked on the layout's labels, not on pixels)."""

from __future__ import annotations

import pytest

from commands.attention.exploration import Subject, ViewState
from commands.attention.explore import explore, reply_for
from commands.attention.views import VIEWS, scene_of, view_of
from explorer.drawing.canvas import cjk_upright
from explorer.drawing.grid import GridBlock
from explorer.drawing.matrix import MatrixBlock
from tests.pictures import assert_drawn

MAX_SIDE = 4096  # Discord shows larger images scaled down to this
LATIN = "the cat sat on the mat and every one was tired of attention".split()
CHINESE = "我在学习自然语言处理今天天气很好"
TEXTS = {
    "latin": lambda n: " ".join(LATIN[i % len(LATIN)] for i in range(n)),
    "chinese": lambda n: (CHINESE * (n // len(CHINESE) + 1))[:n],
    "mixed": lambda n: " ".join(
        CHINESE[i % len(CHINESE)] if i % 2 else LATIN[i % len(LATIN)] for i in range(n)
    ),
}
CASES = [
    (length, script, pair)
    for length in (2, 8, 32, 128, 512)
    for script in TEXTS
    for pair in (False, True)
    if length < 512 or (script, pair) in {("latin", False), ("mixed", True)}
]


def check_labels(block, state: ViewState) -> None:
    """Special tokens, the pair's boundary and the chosen token are always labelled."""
    if isinstance(block, MatrixBlock):
        m = block.matrix
        rows, cols = block.labelled()
        axes = [(m.row_special, m.row_boundary, m.row_marked, rows, m.rows),
                (m.col_special, m.col_boundary, m.col_marked, cols, m.cols)]  # fmt: skip
    elif isinstance(block, GridBlock):
        g = block.grid
        rows, cols = block.labelled()
        axes = [
            (axis.special, axis.boundary, axis.marked, shown, axis.labels)
            for axis, shown in ((g.queries, rows), (g.keys, cols))
            if axis is not None
        ]
    else:
        return
    for special, boundary, marked, shown, labels in axes:
        required = {i for i, flag in enumerate(special) if flag} | set(marked)
        if boundary is not None:
            required.add(boundary)
        # Forced labels a pitch apart always show; denser forced ones must not overlap,
        # so at least every other one of a run of neighbours shows.
        missing = required - set(shown)
        assert all(i - 1 in shown or i + 1 in shown for i in missing), (missing, labels)
        if state.view == "token" and marked:
            assert set(marked) <= set(shown)


@pytest.mark.parametrize(("length", "script", "pair"), CASES)
async def test_every_view_at_every_length_in_every_script(ctx, length, script, pair):
    text = TEXTS[script](length)
    second = TEXTS[script](length // 4 + 1) if pair else None
    exploration = await explore(ctx, Subject("long", text, second))
    for view in VIEWS:
        state = VIEWS[view].enter(ViewState(view, 2, 1, 1))
        scene = scene_of(exploration, state)
        blocks, _ = view_of(state).blocks(scene)
        for block in blocks:
            check_labels(block, state)
        reply = reply_for(exploration, state)
        size = assert_drawn(reply.attachments[0].data, min_size=(240, 120))
        assert max(size) <= MAX_SIDE, (view, size)
        if script == "chinese":  # the packaged CJK font draws every character
            labels = scene.attention.keys.labels
            assert not any(label.startswith("#") for label in labels)
            assert any(cjk_upright(label) for label in labels)


async def test_long_inputs_are_windowed_and_the_buttons_step_the_window(ctx):
    text = TEXTS["latin"](300)
    exploration = await explore(ctx, Subject("long", text))
    first = reply_for(exploration, ViewState("head", 1, 1, 0))
    assert "window 1/5" in first.content
    later = reply_for(exploration, ViewState("head", 1, 1, 0, window=4))
    assert "window 5/5" in later.content
    assert first.attachments[0].data != later.attachments[0].data


async def test_tokens_no_font_draws_are_labelled_by_position_and_the_caption_keeps_them(
    ctx, monkeypatch
):
    from explorer.drawing import fonts, labels

    # As if the CJK font lacked these characters, as it lacks the rarest ideographs.
    monkeypatch.setattr(fonts, "_cjk_codepoints", frozenset)
    fonts.runs.cache_clear()
    try:
        # A text no earlier test explored: its labels are made now, without the font.
        exploration = await explore(ctx, Subject("long", "我在学习处理"))
        state = ViewState("token", 2, 0, 2)
        assert scene_of(exploration, state).attention.keys.labels[1] == "#1"
        assert labels.display_token("我", 1) == "#1"
        reply = reply_for(exploration, state)
        assert "token 2 “在”" in reply.content  # Discord draws the real character
        assert_drawn(reply.attachments[0].data)
        assert fonts.runs("我 😀")[0][0].startswith(fonts.PLACEHOLDER)
    finally:
        fonts.runs.cache_clear()
