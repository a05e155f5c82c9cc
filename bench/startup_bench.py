"""Start-up, as an operator restarting the bot sees it: from launching `python -m bot run`
to the gateway being ready, to the first command acknowledged ("thinking…") and to the first
/attention answered, through the fake Discord on this machine. The bot connects before it
imports torch and transformers; a command that arrives meanwhile is acknowledged at once and
answered when the model is ready. Targets: acknowledged within 1.5 s, answered within 6 s.

Run: .venv/bin/python bench/startup_bench.py   (writes bench/results/startup.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.bot_process import BotProcess
from tests.fake_discord import FakeDiscord, message_data

RUNS = 7
TARGETS = {"acknowledged_s": 1.5, "answered_s": 6.0}


async def one_start(log_dir: Path, index: int) -> dict[str, float]:
    """Launch the bot on the bundled model and send /attention the moment it is connected."""
    fake = FakeDiscord()
    await fake.start()
    bot = BotProcess(fake, log_dir / f"start-{index}.log", "")
    bot.env.pop("MODELS")
    launched = time.monotonic()
    try:
        await bot.start(warm=False)  # returns once commands are synced and READY is sent
        ready = time.monotonic() - launched
        interaction = await fake.slash("attention", text="I am studying NLP.")
        answer = await interaction.answer(timeout=60)
        assert "⚠️" not in message_data(answer)["content"]
        return {
            "ready_s": ready,
            "acknowledged_s": interaction.callbacks[0].at - launched,
            "answered_s": answer.at - launched,
        }
    finally:
        await bot.terminate()
        await fake.stop()


async def main() -> dict:
    log_dir = Path(tempfile.mkdtemp(prefix="explorer-startup-"))
    runs = [await one_start(log_dir, index) for index in range(RUNS)]
    medians = {key: statistics.median(run[key] for run in runs) for key in runs[0]}
    ranges = {
        key: (min(run[key] for run in runs), max(run[key] for run in runs)) for key in runs[0]
    }
    return {
        "runs": runs,
        "medians": medians,
        "ranges": ranges,
        "targets_met": {key: ranges[key][1] <= limit for key, limit in TARGETS.items()},
    }


if __name__ == "__main__":
    outcome = asyncio.run(main())
    for key, median in outcome["medians"].items():
        low, high = outcome["ranges"][key]
        target = f" (target {TARGETS[key]} s)" if key in TARGETS else ""
        print(f"{key:<15} median {median:.2f} s, range {low:.2f}–{high:.2f} s{target}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "startup.json").write_text(json.dumps(outcome, indent=2) + "\n")
