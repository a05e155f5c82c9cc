"""Getting the model libraries ready in a process (the bot's or a Ray replica's): torch,
transformers and the forward pass imported once, quiet, with the process's share of the cores."""

from __future__ import annotations


def prepare_libraries(torch_threads: int) -> None:
    """Import torch, transformers and the forward pass, quiet transformers' progress bars and
    advice, and give torch its share of the cores (run once, on a worker)."""
    import torch
    from transformers.utils import logging as hf_logging

    import explorer.forward  # noqa: F401  (the first pass then starts at once)

    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    torch.set_num_threads(torch_threads)
