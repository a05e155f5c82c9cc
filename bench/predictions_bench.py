"""/fill-mask and /lens end to end: the real bot process against the fake Discord, on a
model with hfl/rbt3's shapes (3 layers × 12 heads, hidden 768, vocab 21128; random weights,
built offline), at 16 and 128 tokens, concurrency 1. Beside each request, in this process,
the raw work with the library: tokenizer, the model with its head, the softmax (per layer
through the head, for the lens) and the picture. Target: the bot within 1.3× the raw work.

Run: .venv/bin/python bench/predictions_bench.py   (writes bench/results/predictions.json)
"""

from __future__ import annotations

import asyncio
import functools
import json
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np
import torch
from transformers import AutoModelForMaskedLM, AutoTokenizer

from bench.load_bench import closed_loop, running_bot
from bot.libraries import prepare_libraries
from commands.predictions.fill_mask import draw as draw_fill_mask
from commands.predictions.lens import draw as draw_lens
from commands.predictions.predicted import Filled, Guess, Lens, MaskGuesses
from explorer.encoding import encode
from explorer.models import load
from tests.model_factory import save_bert

SAMPLES = 40
WORDS = "the cat sat on the mat and it was tired".split()
TARGET = 1.3


def text_of(tokens: int, mask: bool) -> str:
    """A text of exactly `tokens` tokens with the specials, with one [MASK] if asked."""
    words = [WORDS[i % len(WORDS)] for i in range(tokens - 2)]
    if mask:
        words[len(words) // 2] = "[MASK]"
    return " ".join(words)


def raw_work(directory: Path) -> dict[str, object]:
    """The library alone, with one torch thread as each bot worker has: the tokenizer, the
    model, the softmax, and the same picture drawn from those numbers."""
    prepare_libraries(max(1, (os.cpu_count() or 1) // 2))
    tokenizer = AutoTokenizer.from_pretrained(directory)
    model = AutoModelForMaskedLM.from_pretrained(directory, attn_implementation="eager").eval()
    loaded = load("rbt3", str(directory))  # for `encode`: the tokenizer call, as plain tuples

    def guess(ids: list[int], probabilities: list[float]) -> tuple[Guess, ...]:
        texts = tokenizer.batch_decode([[i] for i in ids])
        return tuple(Guess(t, i, p) for t, i, p in zip(texts, ids, probabilities, strict=True))

    def fill(text: str) -> None:
        encoding = encode(loaded, text, None, 512)
        position = encoding.input_ids.index(tokenizer.mask_token_id)
        with torch.inference_mode():
            logits = model(input_ids=torch.tensor([encoding.input_ids])).logits[0]
            top = logits[position].softmax(-1).topk(5)
        masks = (MaskGuesses(position, guess(top.indices.tolist(), top.values.tolist())),)
        draw_fill_mask("rbt3", text, Filled(encoding, masks, text))

    def lens(text: str) -> None:
        encoding = encode(loaded, text, None, 512)
        with torch.inference_mode():
            output = model(input_ids=torch.tensor([encoding.input_ids]), output_hidden_states=True)
            layers = [model.cls(state)[0] for state in output.hidden_states[:-1]]
            best = [logits.softmax(-1).max(dim=-1) for logits in [*layers, output.logits[0]]]
        ids = [b.indices.tolist() for b in best]
        tokens = tuple(tuple(tokenizer.batch_decode([[i] for i in row])) for row in ids)
        read = Lens(
            encoding, tokens, np.array(ids), np.stack([b.values.numpy() for b in best]), False
        )
        draw_lens("rbt3", text, read, False)

    return {"fill-mask": fill, "lens": lens}


async def main() -> dict:
    directory = save_bert(Path(tempfile.mkdtemp()) / "rbt3", 21128, hidden_size=768,
                          num_hidden_layers=3, num_attention_heads=12, intermediate_size=3072,
                          max_position_embeddings=512)  # fmt: skip
    raw = raw_work(directory)
    results: dict = {}
    log_dir = Path(tempfile.mkdtemp(prefix="explorer-bench-"))
    env = {"MAX_HEATMAP_TOKENS": "128"}
    async with running_bot(log_dir, "predictions", env, f"rbt3={directory}") as (fake, _):
        for command in ("fill-mask", "lens"):
            for tokens in (16, 128):
                text = text_of(tokens, mask=command == "fill-mask")
                work = functools.partial(raw[command], text)
                work()  # warm
                row = await closed_loop(fake, command, 1, SAMPLES, work, options={"text": text})
                row["overhead"] = row["p50_ms"] / row["raw_p50_ms"]
                results[f"{command}@{tokens}"] = row
                print(
                    f"/{command:<9} {tokens:>3} tokens: bot p50 {row['p50_ms']:6.1f} ms, "
                    f"raw {row['raw_p50_ms']:6.1f} ms: {row['overhead']:.2f}x",
                    flush=True,
                )
    return {
        "model": "hfl/rbt3 shapes, random weights",
        "samples": SAMPLES,
        "results": results,
        "within_target": all(row["overhead"] <= TARGET for row in results.values()),
    }


if __name__ == "__main__":
    outcome = asyncio.run(main())
    print(f"all within {TARGET}x: {outcome['within_target']}")
    results = Path(__file__).parent / "results"
    results.mkdir(exist_ok=True)
    (results / "predictions.json").write_text(json.dumps(outcome, indent=2) + "\n")
