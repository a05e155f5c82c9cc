"""Resident memory of kept explorations: the real bot process against the fake Discord, on a
model with hfl/rbt3's shapes (3 layers × 12 heads, hidden 768, vocabulary 21,128).

Forty `/attention` explorations of ~500 tokens each (every one answered with a PNG), then a
press on each of their messages (the dropped ones computed again). The bot's resident memory
(VmRSS) is read before the model is loaded, after it is loaded and warm, and after the work,
so the model's own footprint is separated from what the kept explorations cost; the drawing
processes' resident memory is read apart, after the work. Target: the bot's growth over the
warm model stays within EXPLORATION_MEMORY_MB + 15 %.

Run: nice .venv/bin/python bench/memory_bench.py [KEY=VALUE ...]   (extra bot settings;
writes bench/results/memory.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.bot_process import fresh_bot, memory_mib
from tests.fake_discord import FakeDiscord, Interaction, message_data
from tests.model_factory import CHINESE, save_bert

EXPLORATIONS = 40
BUDGET_MB = 512
SENTENCE = CHINESE[:17]  # 17 characters, one token each
REPEATS = 29  # 493 characters: 495 tokens with [CLS] and [SEP]


def text(index: int) -> str:
    """A distinct ~500-token text: the sentence rotated by `index` characters, repeated."""
    turn = index % len(SENTENCE)
    rotated = SENTENCE[turn:] + SENTENCE[:turn]
    return rotated * REPEATS + "天" * (index // len(SENTENCE))


async def answered(interaction: Interaction) -> dict:
    """The message an interaction ended with (its components included); fails on an error."""
    await interaction.wait(lambda i: bool(i.answers()), timeout=300)
    record = interaction.edits[-1] if interaction.edits else interaction.answers()[0]
    assert "⚠️" not in message_data(record).get("content", ""), record.json
    assert record.response is not None
    return record.response


def layer_button(message: dict) -> str:
    return next(
        component["custom_id"]
        for row in message["components"]
        for component in row["components"]
        if component["custom_id"].endswith(":layer+")
    )


async def internals(fake: FakeDiscord) -> str:
    answer = await (await fake.slash("admin", subcommand="internals")).answer()
    return message_data(answer).get("content", "")


async def main(env: dict[str, str]) -> dict:
    work = Path(tempfile.mkdtemp(prefix="explorer-memory-"))
    model = save_bert(
        work / "rbt3", 21128, hidden_size=768, num_hidden_layers=3, num_attention_heads=12,
        intermediate_size=3072, max_position_embeddings=512,
    )  # fmt: skip
    settings = {
        "MAX_HEATMAP_TOKENS": "512",
        "EXPLORATION_MEMORY_MB": str(BUDGET_MB),
        "PRELOAD_DEFAULT_MODEL": "false",
        "USER_COOLDOWN_SECONDS": "0",
        "JOB_TIMEOUT_SECONDS": "600",
        **env,
    }
    async with fresh_bot(work / "bot.log", f"rbt3={model}", **settings) as (fake, bot):
        await (await fake.slash("models")).answer()
        started = bot.memory_mib()
        await answered(await fake.slash("attention", text=SENTENCE))  # model loaded, warm
        warm = bot.memory_mib()
        messages = []
        for index in range(EXPLORATIONS):
            messages.append(await answered(await fake.slash("attention", text=text(index))))
        explored = bot.memory_mib()
        for message in messages:
            await answered(await fake.press(message, layer_button(message)))
        pressed = bot.memory_mib()
        drawing = [memory_mib(pid) for pid in bot.children()]
        kept = await internals(fake)
    growth = pressed - warm
    return {
        "settings": settings,
        "explorations": EXPLORATIONS,
        "tokens_each": len(text(0)) + 2,
        "rss_mib": {"started": started, "warm": warm, "explored": explored, "pressed": pressed},
        "model_and_warm_up_mib": warm - started,
        "growth_after_explorations_mib": explored - warm,
        "growth_after_presses_mib": growth,
        "budget_mib": BUDGET_MB,
        "growth_over_budget": growth / BUDGET_MB,
        "drawing_processes_rss_mib": drawing,
        "internals": kept,
    }


def report(result: dict) -> None:
    rss = result["rss_mib"]
    print(
        f"RSS: {rss['started']:.0f} MiB started, {rss['warm']:.0f} with the model loaded and "
        f"warm (+{result['model_and_warm_up_mib']:.0f}), {rss['explored']:.0f} after "
        f"{result['explorations']} explorations of {result['tokens_each']} tokens, "
        f"{rss['pressed']:.0f} after a press on each"
    )
    print(
        f"growth over the warm model: {result['growth_after_presses_mib']:.0f} MiB for a "
        f"{result['budget_mib']} MiB budget ({result['growth_over_budget']:.2f}x; target 1.15x)"
    )
    drawing = result["drawing_processes_rss_mib"]
    each = ", ".join(f"{mib:.0f} MiB" for mib in drawing) or "none"
    print(f"drawing processes after the work: {each} ({sum(drawing):.0f} MiB in all)")
    for line in result["internals"].splitlines():
        if "kept explorations" in line or "resident" in line:
            print(line.strip())


if __name__ == "__main__":
    extra = dict(argument.split("=", 1) for argument in sys.argv[1:])
    outcome = asyncio.run(main(extra))
    report(outcome)
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "memory.json").write_text(json.dumps(outcome, indent=2, ensure_ascii=False) + "\n")
