"""Tiny random models of each family, built offline and saved with `save_pretrained`, so the
bot loads them exactly as it loads a downloaded checkpoint."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import torch
from tokenizers import Tokenizer, decoders, models, pre_tokenizers, processors, trainers
from transformers import (
    BertConfig,
    BertForMaskedLM,
    BertModel,
    BertTokenizerFast,
    GPT2Config,
    GPT2LMHeadModel,
    LlamaConfig,
    LlamaForCausalLM,
    PreTrainedTokenizerFast,
    T5Config,
    T5ForConditionalGeneration,
)

SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
CHINESE = "我在学习自然语言处理今天天气很好。，"
ENGLISH = ["i", "am", "study", "##ing", "nl", "##p", ".", "hello", "world", "@", "every", "##one"]
ENGLISH += ["the", "cat", "sat", "on", "mat", "a", "dog", "paris", "is", "capital", "of"]
ENGLISH += ["france", "##s", "it", "was", "tired"]
CORPUS = [
    "I am studying NLP.",
    "The cat sat on the mat because it was tired.",
    "Paris is the capital of France.",
    "Hello world, hello everyone!",
    "The quick brown fox jumps over the lazy dog.",
    "Attention is all you need, they said.",
    "translate English to German: The house is wonderful.",
    "Das Haus ist wunderbar.",
] * 20


def write_vocab(path: Path, size: int | None = None) -> Path:
    """A character-level Chinese + small English WordPiece vocabulary, padded to `size`."""
    tokens = SPECIALS + list(dict.fromkeys(CHINESE)) + ENGLISH
    if size is not None:
        tokens += [f"[unused{i}]" for i in range(size - len(tokens))]
    path.write_text("\n".join(tokens) + "\n", encoding="utf-8")
    return path


def bert_tokenizer(directory: Path, vocab_size: int | None = None) -> BertTokenizerFast:
    tokenizer = BertTokenizerFast(str(write_vocab(directory / "vocab.txt", vocab_size)))
    assert tokenizer.convert_tokens_to_ids("[CLS]") == 2  # the vocab file was really read
    return tokenizer


def save_bert(directory: Path, vocab_size: int | None, **config: int) -> Path:
    """A BertForMaskedLM (as hfl/rbt3 is published) with its tokenizer."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = bert_tokenizer(directory, vocab_size)
    torch.manual_seed(0)
    model = BertForMaskedLM(
        BertConfig(vocab_size=len(tokenizer), pad_token_id=0, type_vocab_size=2, **config)
    )
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_headless_bert(directory: Path) -> Path:
    """A checkpoint whose config names BertForMaskedLM but which ships no masked-LM head
    weights (as HFL said of some RoBERTa-wwm releases): the head loads untrained."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = bert_tokenizer(directory)
    torch.manual_seed(1)
    config = BertConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        num_hidden_layers=2,
        num_attention_heads=4,
        intermediate_size=37,
        max_position_embeddings=64,
        architectures=["BertForMaskedLM"],
    )
    BertModel(config, add_pooling_layer=False).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    # save_pretrained records the saved class; name the one the checkpoint claims to be.
    config_path = directory / "config.json"
    values = json.loads(config_path.read_text())
    config_path.write_text(json.dumps({**values, "architectures": ["BertForMaskedLM"]}))
    return directory


def byte_level_tokenizer(vocab_size: int = 400) -> Tokenizer:
    """A byte-level BPE tokenizer (GPT-2's kind), trained on a small corpus in a second."""
    tokenizer = Tokenizer(models.BPE())
    tokenizer.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tokenizer.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=["<|endoftext|>"],
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    return tokenizer


def causal_tokenizer() -> PreTrainedTokenizerFast:
    """GPT-2's kind of tokenizer: byte-level BPE, one special token, no pad token."""
    return PreTrainedTokenizerFast(
        tokenizer_object=byte_level_tokenizer(),
        bos_token="<|endoftext|>",
        eos_token="<|endoftext|>",
        unk_token="<|endoftext|>",
        model_max_length=64,
    )


def save_gpt2(directory: Path) -> Path:
    """A GPT2LMHeadModel, 2 layers × 4 heads, and its tokenizer."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = causal_tokenizer()
    torch.manual_seed(2)
    config = GPT2Config(
        vocab_size=len(tokenizer),
        n_embd=32,
        n_layer=2,
        n_head=4,
        n_positions=64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    GPT2LMHeadModel(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_llama(directory: Path) -> Path:
    """A LlamaForCausalLM with grouped-query attention (4 heads, 2 key/value heads)."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = causal_tokenizer()
    torch.manual_seed(3)
    config = LlamaConfig(
        vocab_size=len(tokenizer),
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=2,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=64,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
    )
    LlamaForCausalLM(config).save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def unigram_tokenizer(vocab_size: int = 300) -> Tokenizer:
    """A SentencePiece-style Unigram tokenizer (T5's kind) that ends each text with </s>."""
    tokenizer = Tokenizer(models.Unigram())
    tokenizer.pre_tokenizer = pre_tokenizers.Metaspace()
    tokenizer.decoder = decoders.Metaspace()
    trainer = trainers.UnigramTrainer(
        vocab_size=vocab_size, special_tokens=["<pad>", "</s>", "<unk>"], unk_token="<unk>"
    )
    tokenizer.train_from_iterator(CORPUS, trainer)
    tokenizer.post_processor = processors.TemplateProcessing(
        single="$A </s>", pair="$A </s> $B </s>", special_tokens=[("</s>", 1)]
    )
    return tokenizer


def save_t5(directory: Path) -> Path:
    """A T5ForConditionalGeneration, 2 encoder and 3 decoder layers × 4 heads."""
    directory.mkdir(parents=True, exist_ok=True)
    tokenizer = PreTrainedTokenizerFast(
        tokenizer_object=unigram_tokenizer(),
        pad_token="<pad>",
        eos_token="</s>",
        unk_token="<unk>",
        model_max_length=64,
    )
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 1)
    torch.manual_seed(4)
    config = T5Config(
        vocab_size=len(tokenizer),
        d_model=32,
        d_kv=8,
        d_ff=64,
        num_layers=2,
        num_decoder_layers=3,
        num_heads=4,
        decoder_start_token_id=0,
        pad_token_id=0,
        eos_token_id=1,
        tie_word_embeddings=False,
    )
    model = T5ForConditionalGeneration(config)
    with torch.no_grad():  # never predict <pad> or </s>: greedy output runs its full length
        model.lm_head.weight[:2] = 0.0
    model.save_pretrained(directory)
    tokenizer.save_pretrained(directory)
    return directory


def save_vocabulary_models(directory: Path, lines: list[str], favourite: int) -> tuple[Path, Path]:
    """A BertForMaskedLM and a GPT2LMHeadModel over the WordPiece vocabulary `lines` (written
    as given, duplicate lines included: the ids of a duplicate's earlier lines then have no
    token); the masked LM's head is biased so that it predicts the id `favourite` first."""
    directory.mkdir(parents=True, exist_ok=True)
    vocab = directory / "vocab.txt"
    vocab.write_text("\n".join(lines) + "\n", encoding="utf-8")
    tokenizer = BertTokenizerFast(str(vocab))
    assert tokenizer.convert_tokens_to_ids("[CLS]") == lines.index("[CLS]")  # really read
    small = {"num_hidden_layers": 2, "num_attention_heads": 4, "max_position_embeddings": 64}
    torch.manual_seed(5)
    masked = BertForMaskedLM(
        BertConfig(vocab_size=len(lines), hidden_size=32, intermediate_size=37, **small)
    )
    causal = GPT2LMHeadModel(
        GPT2Config(
            vocab_size=len(lines), n_embd=32, n_layer=2, n_head=4, n_positions=64,
            bos_token_id=lines.index("[CLS]"), eos_token_id=lines.index("[SEP]"),
        )
    )  # fmt: skip
    with torch.no_grad():
        masked.cls.predictions.bias[favourite] = 20.0
    saved = []
    for name, model in (("masked", masked), ("causal", causal)):
        model.save_pretrained(directory / name)
        tokenizer.save_pretrained(directory / name)
        saved.append(directory / name)
    return saved[0], saved[1]


def save_masked_lm_copy(source: Path, directory: Path) -> Path:
    """A copy of a headless BERT checkpoint (the bundled MiniLM) whose config names
    BertForMaskedLM: the bot loads it as any checkpoint without its head weights, the
    masked-LM head randomly initialised and reported as untrained. Files are copied, not
    linked: the bot refuses a model directory with links pointing outside it."""
    directory.mkdir(parents=True, exist_ok=True)
    for path in source.iterdir():
        if path.is_file() and path.name != "config.json":
            shutil.copy(path, directory / path.name)
    config = json.loads((source / "config.json").read_text())
    (directory / "config.json").write_text(
        json.dumps({**config, "architectures": ["BertForMaskedLM"]})
    )
    return directory
