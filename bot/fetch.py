"""`python -m bot fetch hfl/rbt3` (`./dev fetch hfl/rbt3`): download a model from the Hugging Face
Hub into its cache ahead of time, so the bot loads it without the Hub (HF_HUB_OFFLINE=1 works).
Only what loading needs is fetched: the config, the tokenizer's files and one copy of the weights
(safetensors when the repository has them, else PyTorch's), never TensorFlow, Flax, ONNX or
other exports."""

from __future__ import annotations

import fnmatch
import os
import sys
from collections.abc import Iterable

from .hub import hub_endpoint, hub_reachable
from .settings import SettingsError, parse_model_spec

_CONFIG_AND_TOKENIZER = (
    "config.json",
    "generation_config.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "special_tokens_map.json",
    "added_tokens.json",
    "vocab.txt",
    "vocab.json",
    "merges.txt",
    "*.model",  # SentencePiece (spiece.model, tokenizer.model, sentencepiece.bpe.model)
)
_SAFETENSORS = ("model.safetensors", "model-*-of-*.safetensors", "model.safetensors.index.json")
_PYTORCH = ("pytorch_model.bin", "pytorch_model-*-of-*.bin", "pytorch_model.bin.index.json")


def model_files(repo_files: Iterable[str]) -> list[str]:
    """The files of a model repository that loading it needs (top level only: subfolders hold
    other formats or other libraries' modules)."""
    top = sorted(name for name in repo_files if "/" not in name)

    def matching(patterns: tuple[str, ...]) -> list[str]:
        return [name for name in top if any(fnmatch.fnmatch(name, p) for p in patterns)]

    return matching(_CONFIG_AND_TOKENIZER) + (matching(_SAFETENSORS) or matching(_PYTORCH))


def _say(line: str, status: int = 1) -> int:
    print(line, file=sys.stderr)
    return status


def fetch(repo_id: str) -> int:
    """Download `repo_id` into the Hugging Face cache and print the MODELS entry that uses it;
    one line and a non-zero status when that cannot be done. `.env` is read, as by the bot."""
    from dotenv import load_dotenv

    load_dotenv()
    if repo_id.startswith(("/", ".", "~")):
        return _say(f"{repo_id} is a local directory: name it in MODELS as it is.", 2)
    try:
        spec = parse_model_spec(f"{repo_id.rsplit('/', 1)[-1]}={repo_id}")
    except SettingsError:
        return _say(f"{repo_id!r} is not a Hub model id (like hfl/rbt3).", 2)
    if os.environ.get("HF_HUB_OFFLINE"):
        return _say(f"HF_HUB_OFFLINE is set: unset it to fetch {repo_id}.")
    if not hub_reachable():
        return _say(
            f"The Hugging Face Hub ({hub_endpoint()}) cannot be reached: {repo_id} was not "
            "fetched. Check the network, or set HF_ENDPOINT to a mirror."
        )
    from huggingface_hub import HfApi, snapshot_download
    from huggingface_hub.errors import GatedRepoError, RepositoryNotFoundError

    try:
        info = HfApi().model_info(repo_id)
        files = model_files(sibling.rfilename for sibling in info.siblings or [])
        weights = [name for name in files if name.endswith((".safetensors", ".bin"))]
        if "config.json" not in files or not weights:
            return _say(f"{repo_id} has no config.json or no PyTorch weights: nothing to load.")
        # By branch, not by info.sha: the cache then records main's commit, which offline
        # loading (revision main) needs to find the snapshot.
        path = snapshot_download(repo_id, allow_patterns=files)
    except GatedRepoError:
        return _say(f"{repo_id} is gated: accept its terms on the Hub, then `hf auth login`.")
    except RepositoryNotFoundError:
        return _say(f"There is no model {repo_id} on the Hub (or it is private: `hf auth login`).")
    except Exception as error:  # the Hub's answer, its HTTP client's (a fork of httpx), the disk
        reason = (str(error).strip() or type(error).__name__).splitlines()[0]
        return _say(f"Fetching {repo_id} failed: {reason}")
    print(f"Fetched {repo_id} ({len(files)} files) into the Hugging Face cache: {path}")
    print(f"Use it with MODELS={spec.name}={repo_id} (in .env; add ,minilm for the bundled one).")
    return 0
