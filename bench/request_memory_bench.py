"""Peak memory of one request at the largest size the budget (`REQUEST_MEMORY_MB`, default)
accepts, per command, on 12-layer models: a BERT-base-shaped masked LM (12 layers × 12 heads,
hidden 768, vocab 30522, 512 positions) and a GPT-2-base-shaped causal LM (vocab 50257, 1024
positions), random weights built offline. Each command runs in a fresh process: the models
are loaded and warmed with a short request, then the command runs once at the largest
accepted size (512 tokens, or the most the budget's refusal names), and the growth of the
peak RSS (VmHWM) is the request's cost, next to the budget's estimate.

Run: nice .venv/bin/python bench/request_memory_bench.py\n(writes bench/results/request_memory.json)
"""

from __future__ import annotations

import asyncio
import io
import json
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

# (command, its line with {text} for a text of n tokens, the model its text is counted with)
COMMANDS = {
    "forward attentions": "/forward model:bert attentions:true text:{words}",
    "attention": "/attention model:bert text:{words}",
    "fill-mask": "/fill-mask model:bert top_k:20 text:{masks}",
    "predict": "/predict model:gpt text:{words}",
    "lens": "/lens model:gpt text:{words}",
    "compare": "/compare model_a:bert model_b:gpt text:{words}",
}
WARM_UP = (
    "/forward model:bert text:hi",
    "/predict model:gpt text:hi",
    "/fill-mask model:bert text:a [MASK]",
    "/attention model:bert text:hi",
    "/lens model:gpt text:hi",
    "/compare model_a:bert model_b:gpt text:hi",
)
MOST = re.compile(r"at most ([\d,]+) tokens")


def build(directory: Path) -> str:
    """The two models, saved with save_pretrained; their MODELS setting."""
    import torch
    from transformers import GPT2Config, GPT2LMHeadModel

    from tests.model_factory import causal_tokenizer, save_bert

    bert = save_bert(directory / "bert", 30522, hidden_size=768, num_hidden_layers=12,
                     num_attention_heads=12, intermediate_size=3072,
                     max_position_embeddings=512)  # fmt: skip
    gpt = directory / "gpt"
    tokenizer = causal_tokenizer()
    tokenizer.model_max_length = 1024
    # GPT-2's vocabulary size, so that its logits weigh what they do (tokens never typed).
    tokenizer.add_tokens([f"<filler{i}>" for i in range(50257 - len(tokenizer))])
    torch.manual_seed(2)
    config = GPT2Config(vocab_size=len(tokenizer), n_embd=768, n_layer=12, n_head=12,
                        n_positions=1024, bos_token_id=tokenizer.bos_token_id,
                        eos_token_id=tokenizer.eos_token_id)  # fmt: skip
    GPT2LMHeadModel(config).save_pretrained(gpt)
    tokenizer.save_pretrained(gpt)
    return f"bert={bert},gpt={gpt}"


def memory_kib(field: str) -> int:
    """This process's resident memory now (VmRSS) or at its peak (VmHWM), in KiB."""
    status = Path("/proc/self/status").read_text()
    return int(re.search(rf"{field}:\s+(\d+) kB", status).group(1))  # type: ignore[union-attr]


def reset_peak() -> None:
    """Start the peak (VmHWM) afresh from the memory in use now (Linux)."""
    Path("/proc/self/clear_refs").write_text("5")


def line_for(command: str, tokens: int) -> str:
    """The command's line with a text of about `tokens` tokens."""
    words = " ".join(["the"] * max(1, tokens - 2))
    masks = "[MASK]" * max(1, tokens - 2)
    return COMMANDS[command].format(words=words, masks=masks)


async def measure(models: str, command: str, out_dir: Path, tokens: int) -> dict:
    """In this (fresh) process: warm up, then the command once with `tokens` tokens."""
    from bot.console import Console
    from bot.runtime import Runtime
    from bot.settings import load_settings

    settings = load_settings({"MODELS": models, "MAX_HEATMAP_TOKENS": "512",
                              "MAX_INPUT_CHARS": "6000", "JOB_TIMEOUT_SECONDS": "600",
                              "MAX_LOADED_MODELS": "2",
                              "CONSOLE_OUTPUT_DIR": str(out_dir)})  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    out = io.StringIO()
    console = Console(runtime, out_dir, out)
    for warm in WARM_UP:
        await console.execute(warm)
    out.truncate(0)
    out.seek(0)
    reset_peak()
    before = memory_kib("VmRSS")
    ok = await console.execute(line_for(command, tokens))
    after = memory_kib("VmHWM")
    await runtime.close()
    reply = out.getvalue().strip().splitlines()[0]
    return {"command": command, "tokens": tokens, "ok": ok, "reply": reply[:200],
            "peak_growth_mib": round((after - before) / 1024, 1),
            "peak_rss_mib": round(after / 1024, 1)}  # fmt: skip


def largest_accepted(models: str, command: str, folder: str) -> dict:
    """The command at 512 tokens, then at the size its refusal names (a picture too large:
    half the tokens), each run in a fresh process, until it is accepted."""
    tokens, refusals = 512, []
    while True:
        child = subprocess.run(
            [sys.executable, __file__, models, command, folder, str(tokens)],
            capture_output=True, text=True, cwd=ROOT,
        )  # fmt: skip
        if child.returncode:
            raise SystemExit(f"{command} failed:\n{child.stderr[-3000:]}")
        result = json.loads(child.stdout.strip().splitlines()[-1])
        if result["ok"]:
            return {**result, "refusals": refusals}
        refusals.append(f"{tokens} tokens: {result['reply']}")
        match = MOST.search(result["reply"])
        if match is not None:
            tokens = int(match.group(1).replace(",", ""))
        elif "picture would be" in result["reply"] and tokens > 2:
            tokens //= 2
        else:
            raise SystemExit(f"{command}: {result['reply']}")


def main() -> None:
    """Every command in its own process; the table."""
    if len(sys.argv) == 5:  # a child: models, command, output folder, tokens
        result = asyncio.run(measure(*sys.argv[1:3], Path(sys.argv[3]), int(sys.argv[4])))
        print(json.dumps(result))
        return
    from bot.settings import load_settings

    budget = load_settings({}).request_memory_mb
    results = []
    with tempfile.TemporaryDirectory() as folder:
        models = build(Path(folder))
        for command in COMMANDS:
            result = largest_accepted(models, command, folder)
            results.append(result)
            print(
                f"{command:<20} {result['tokens']:>4} tokens  +{result['peak_growth_mib']:>6} "
                f"MiB peak  {result['reply'][:60]}"
            )
            for refusal in result["refusals"]:
                print(f"{'':<22}refused at {refusal[:150]}")  # fmt: skip
    out = ROOT / "bench" / "results" / "request_memory.json"
    out.write_text(json.dumps({"request_memory_mb": budget, "results": results}, indent=1) + "\n")


if __name__ == "__main__":
    main()
