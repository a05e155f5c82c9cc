"""Models with their heads: which class a checkpoint loads as, loading it the same way every
time (eager attention, float32, no remote code), and what it costs in memory.

A checkpoint is loaded once, as the class its config's `architectures` names (hfl/rbt3 as
`BertForMaskedLM`, GPT-2 as `GPT2LMHeadModel`, T5 as `T5ForConditionalGeneration`); the base
model inside it serves `/attention` and `/forward`, the head serves predictions.
transformers is imported inside the functions: the bot connects before paying for it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from explorer.contract import LoadedModel, ModelCard, Task
from explorer.i18n import phrase
from explorer.words import MARKERS

# The Auto class of each task with a head, and transformers' table of the architectures it
# covers, in the order they are tried.
_TASKS: tuple[tuple[Task, str, str], ...] = (
    ("masked-lm", "AutoModelForMaskedLM", "MODEL_FOR_MASKED_LM_MAPPING_NAMES"),
    ("causal-lm", "AutoModelForCausalLM", "MODEL_FOR_CAUSAL_LM_MAPPING_NAMES"),
    ("seq2seq", "AutoModelForSeq2SeqLM", "MODEL_FOR_SEQ_TO_SEQ_CAUSAL_LM_MAPPING_NAMES"),
    (
        "classification",
        "AutoModelForSequenceClassification",
        "MODEL_FOR_SEQUENCE_CLASSIFICATION_MAPPING_NAMES",
    ),
)
# The config fields people look at first: (label, the names families give the field, first
# set wins). Layers and heads come from `shapes`, which splits encoder and decoder.
SUMMARY_FIELDS: tuple[tuple[str, tuple[str, ...]], ...] = (
    (phrase("model type"), ("model_type",)),
    (phrase("hidden size"), ("hidden_size", "d_model", "n_embd")),
    (
        phrase("intermediate size"),
        ("intermediate_size", "d_ff", "n_inner", "encoder_ffn_dim", "ffn_dim"),
    ),
    (phrase("key/value heads"), ("num_key_value_heads",)),
    (phrase("vocab size"), ("vocab_size",)),
    (phrase("max positions"), ("max_position_embeddings", "n_positions")),
)
# Every config key the summary reads (a comparison lists the others apart).
SUMMARISED_KEYS = frozenset(
    {"num_hidden_layers", "num_layers", "n_layer", "encoder_layers", "num_decoder_layers"}
    | {"decoder_layers", "num_attention_heads", "num_heads", "n_head"}
    | {"encoder_attention_heads", "decoder_attention_heads"}
    | {name for _, names in SUMMARY_FIELDS for name in names}
)
# Tokenizers whose model_max_length is unset report a huge sentinel instead.
_UNSET_MAX_LENGTH = 1_000_000
_FALLBACK_MAX_TOKENS = 512


def architecture(config: Any) -> str:
    """The class the checkpoint was saved as (`BertForMaskedLM`), or its model type."""
    names = getattr(config, "architectures", None) or []
    return names[0] if names else f"{config.model_type} (no architecture recorded)"


def task_of(config: Any) -> Task:
    """The task of the checkpoint's own class; encoder–decoder configs without one are
    sequence to sequence, anything else is a base model."""
    from transformers.models.auto import modeling_auto

    name = architecture(config)
    for task, _, table in _TASKS:
        if name in getattr(modeling_auto, table).values():
            return task
    return "seq2seq" if getattr(config, "is_encoder_decoder", False) else "base"


def auto_class(task: Task) -> Any:
    """The transformers Auto class that loads a checkpoint of `task`."""
    import transformers

    name = next((auto for known, auto, _ in _TASKS if known == task), "AutoModel")
    return getattr(transformers, name)


def config_values(config: Any) -> dict[str, Any]:
    """The config as `print(model.config)` shows it: what differs from the defaults."""
    return json.loads(config.to_json_string(use_diff=True))


def parameter_count(config: Any) -> int | None:
    """Parameters of the model the bot would load, counted on the meta device (no memory)."""
    import torch

    try:
        with torch.device("meta"):
            model = auto_class(task_of(config)).from_config(config)
    except Exception:  # an architecture transformers cannot build: the count is unknown
        return None
    return sum(parameter.numel() for parameter in model.parameters())


def _count(config: Any, *names: str) -> int:
    for name in names:
        value = getattr(config, name, None)
        if isinstance(value, int) and value > 0:
            return value
    return 0


def shapes(config: Any) -> tuple[int, int, int, int]:
    """Layers and heads of the encoder (or the only stack), then of the decoder (0 if none)."""
    layers = _count(config, "num_hidden_layers", "encoder_layers", "num_layers")
    heads = _count(config, "num_attention_heads", "encoder_attention_heads", "num_heads")
    if not getattr(config, "is_encoder_decoder", False):
        return layers, heads, 0, 0
    decoder_layers = _count(config, "num_decoder_layers", "decoder_layers") or layers
    decoder_heads = _count(config, "decoder_attention_heads") or heads
    return layers, heads, decoder_layers, decoder_heads


def _first_set(config: Any, names: tuple[str, ...]) -> Any:
    for name in names:
        value = getattr(config, name, None)
        if value is not None:
            return value
    if names[0] == "intermediate_size" and getattr(config, "model_type", "") == "gpt2":
        return 4 * config.n_embd  # GPT-2 leaves n_inner unset for its default, 4 × n_embd
    return None


def summary(config: Any) -> list[tuple[str, str]]:
    """(label, value) for the fields people look at first, whatever the family calls them;
    an encoder–decoder's layers and heads per stack, key/value heads only where they are
    fewer than the query heads (grouped-query attention). Labels, and values in words, are
    `phrase`s."""
    layers, heads, decoder_layers, decoder_heads = shapes(config)
    layers_label, heads_label = phrase("layers"), phrase("attention heads")
    stacks: list[tuple[str, str]]
    if decoder_layers:
        stacks = [
            (layers_label, phrase("{encoder} encoder, {decoder} decoder", encoder=layers,
                                  decoder=decoder_layers)),
            (heads_label, phrase("{encoder} encoder, {decoder} decoder", encoder=heads,
                                 decoder=decoder_heads)),
        ]  # fmt: skip
    else:
        stacks = [(layers_label, str(layers)), (heads_label, str(heads))]
    fields = {label: _first_set(config, names) for label, names in SUMMARY_FIELDS}
    if fields["key/value heads"] in (None, heads):
        del fields["key/value heads"]
    shown = [(label, "—" if value is None else str(value)) for label, value in fields.items()]
    return shown[:1] + stacks + shown[1:]


def max_tokens(config: Any, tokenizer: Any) -> int:
    """The longest input the model accepts, special tokens included."""
    limits = [getattr(config, "max_position_embeddings", None)]
    tokenizer_max = getattr(tokenizer, "model_max_length", None)
    if tokenizer_max and tokenizer_max < _UNSET_MAX_LENGTH:
        limits.append(tokenizer_max)
    known = [int(limit) for limit in limits if limit]
    return min(known) if known else _FALLBACK_MAX_TOKENS


def untrained_head(model: Any, missing: set[str]) -> tuple[str, ...]:
    """The checkpoint's missing weights that belong to the head (all of them when the head
    and the base are one module, as in T5)."""
    base = model.base_model
    if base is model:
        return tuple(sorted(missing))
    prefix = f"{model.base_model_prefix}."
    return tuple(sorted(key for key in missing if not key.startswith(prefix)))


def word_marker(tokenizer: Any) -> str:
    """How the tokenizer marks words, judged from its vocabulary: "##" continues a word
    (WordPiece), "Ġ" or "▁" starts one (byte-level BPE, SentencePiece); "" for none."""
    counts = dict.fromkeys(MARKERS, 0)
    for token in tokenizer.get_vocab():
        for marker in MARKERS:
            if token.startswith(marker):
                counts[marker] += 1
    best = max(counts, key=lambda marker: counts[marker])
    return best if counts[best] else ""


class TokenizerMissing(ValueError):
    """The checkpoint's tokenizer files are missing or empty."""


class PickleRefused(ValueError):
    """The checkpoint's weights are in pickle files only, and the operator did not allow
    those."""


PICKLE_REFUSED = phrase(
    "its weights come only as pickle files (.bin), which can run code when loaded; the "
    "bot's operator may allow them with ALLOW_PICKLE_WEIGHTS=true"
)


def pickle_only(source: str, revision: str | None) -> bool:
    """Whether a checkpoint (a directory, or a hub id in the local cache) has pickle weights
    and no safetensors."""
    directory = Path(source)
    if directory.is_dir():
        return any(directory.glob("*.bin")) and not any(directory.glob("*.safetensors"))
    from huggingface_hub import try_to_load_from_cache

    cached = try_to_load_from_cache(source, "pytorch_model.bin", revision=revision)
    return isinstance(cached, str)


def load(
    name: str, source: str, revision: str | None = None, allow_pickle: bool = False
) -> LoadedModel:
    """Tokenizer and model with its head, eager attention (so attention weights come back),
    float32, `trust_remote_code=False`, at the pinned `revision` of a hub model, and from
    safetensors only unless pickle weights are allowed."""
    import torch
    from transformers import AutoConfig, AutoTokenizer

    pinned = {"revision": revision, "trust_remote_code": False}
    config = AutoConfig.from_pretrained(source, **pinned)
    tokenizer = AutoTokenizer.from_pretrained(source, **pinned)
    if len(tokenizer) <= len(tokenizer.all_special_tokens) + 1:
        # transformers builds a tokenizer of special tokens alone when the files are missing:
        # every word would silently become the unknown token.
        raise TokenizerMissing(phrase("its tokenizer has no vocabulary (no tokenizer files found)"))
    task = task_of(config)
    try:
        model, info = auto_class(task).from_pretrained(
            source,
            attn_implementation="eager",
            dtype=torch.float32,
            output_loading_info=True,
            # None: safetensors when there are any, else the pickle files.
            use_safetensors=None if allow_pickle else True,
            **pinned,
        )
    except OSError as exc:
        if not allow_pickle and pickle_only(source, revision):
            raise PickleRefused(PICKLE_REFUSED) from exc
        raise
    model.eval()
    tensors = [*model.parameters(), *model.buffers()]
    layers, heads, decoder_layers, decoder_heads = shapes(model.config)
    card = ModelCard(
        name=name,
        architecture=architecture(model.config),
        task=task,
        config=model.config,
        max_tokens=max_tokens(model.config, tokenizer),
        layers=layers,
        heads=heads,
        decoder_layers=decoder_layers,
        decoder_heads=decoder_heads,
        untrained_head=untrained_head(model, set(info.get("missing_keys", ()))),
        mask_token=getattr(tokenizer, "mask_token", None),
        word_marker=word_marker(tokenizer),
        nbytes=sum(tensor.numel() * tensor.element_size() for tensor in tensors),
    )
    return LoadedModel(card, tokenizer, model)
