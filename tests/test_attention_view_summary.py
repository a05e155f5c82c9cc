"""The summary view: per-head statistics."""

from __future__ import annotations

import numpy as np

from commands.attention.attention_math import head_stats
from commands.attention.exploration import Shape, ViewState
from commands.attention.views import enabled
from tests.attention_toy import drawn_title_and_rows


def test_head_stats_spot_previous_token_and_sink_heads():
    count = 6
    previous = np.zeros((count, count), dtype=np.float32)
    previous[0, 0] = 1.0
    previous[np.arange(1, count), np.arange(count - 1)] = 1.0
    sink = np.zeros((count, count), dtype=np.float32)
    sink[:, -1] = 1.0
    uniform = np.full((count, count), 1.0 / count, dtype=np.float32)
    weights = np.stack([previous, sink, uniform])[None]  # 1 layer × 3 heads
    special = np.array([True, False, False, False, False, True])
    stats = head_stats(weights, special)
    assert stats.previous_share is not None
    np.testing.assert_allclose(stats.previous_share[0], [1.0, 0.0, 1 / 6], atol=1e-6)
    np.testing.assert_allclose(stats.special_share[0], [2 / 6, 1.0, 2 / 6], atol=1e-6)
    np.testing.assert_allclose(stats.entropy[0], [0.0, 0.0, np.log2(count)], atol=1e-5)


def test_nothing_to_step_and_a_row_per_head():
    assert enabled(ViewState("summary", 1, 0, 0), Shape(2, 3, 300, 300)) == set()
    title, rows = drawn_title_and_rows(ViewState("summary", 2, 1, 2))
    assert title == "toy · per-head statistics · 2 layers × 3 heads"
    assert rows[0] == ["layer", "head", "entropy_bits", "special_share", "previous_token_share"]
    assert len(rows) == 1 + 2 * 3
