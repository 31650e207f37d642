"""The bundled GPU trainer: a GPT that learns from the tokenize stage's shards.

    model.py    the GPT (config, presets, modules in data-flow order)
    data.py     the token loader: Parquet row groups -> (pinned) batches, DDP-sharded, resumable
    train.py    the training loop: ``python -m curation.trainer.train --data OUTPUT/tokenize ...``
    sample.py   text from a checkpoint: ``python -m curation.trainer.sample CHECKPOINT --prompt ...``
    heldout.py  a checkpoint on held-out documents (loss, perplexity, last-word exact match and log-probability)
    energy.py   the GPU's energy while it trains (NVML through ctypes)
    config.py   presets and parameter / FLOP counts (no torch: ``curation plan`` uses them)

This module imports no torch, so the ``curation`` command can build its parsers without it; the
command's handlers call :func:`require_torch` before importing the others.
"""

from __future__ import annotations

import argparse

from curation.errors import CurationError
from curation.trainer.config import PRESETS as MODEL_PRESETS

PRESETS = tuple(MODEL_PRESETS)
EVAL_DOCUMENTS = 200  # held-out documents of the last-word ruler, by default


def require_torch() -> None:
    """Raise a one-line CurationError when torch is missing (it is an optional install)."""
    try:
        import torch  # noqa: F401
    except ImportError:
        raise CurationError("the trainer needs torch: run `make install-trainer` (pip install 'torch==2.13.0')") from None


def add_train_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``curation train`` / ``python -m curation.trainer.train``."""
    p.add_argument("--data", required=True, help="the tokenize stage's output (OUTPUT/tokenize, local or s3://)")
    p.add_argument("--out", default="checkpoints", help="checkpoints and metrics.jsonl go here")
    p.add_argument("--model", default="tiny", choices=PRESETS, help="model size preset")
    p.add_argument("--norm", choices=("rmsnorm", "layernorm"), help="override the preset's normalization")
    p.add_argument("--n-layer", type=int, help="override the preset's depth")
    p.add_argument("--n-head", type=int, help="override the preset's heads")
    p.add_argument("--n-embd", type=int, help="override the preset's width")
    p.add_argument("--steps", type=int, default=1000, help="optimizer steps in the whole run (the schedule's length)")
    p.add_argument("--batch-size", type=int, default=16, help="sequences per micro-batch per process")
    p.add_argument("--grad-accum", type=int, default=1, help="micro-batches per optimizer step")
    p.add_argument("--lr", type=float, default=6e-4, help="peak learning rate")
    p.add_argument("--min-lr", type=float, help="final learning rate of the cosine decay (default: lr / 10)")
    p.add_argument("--warmup-steps", type=int, help="linear warmup steps (default: steps / 20)")
    p.add_argument("--weight-decay", type=float, default=0.1)
    p.add_argument("--beta1", type=float, default=0.9)
    p.add_argument("--beta2", type=float, default=0.95)
    p.add_argument("--grad-clip", type=float, default=1.0, help="max gradient norm (0: no clipping)")
    p.add_argument("--seed", type=int, default=0, help="model init and data order")
    p.add_argument("--eval-interval", type=int, default=250, help="validation loss every N steps (0: only at the end)")
    p.add_argument("--eval-batches", type=int, default=20, help="validation micro-batches per process (0: no validation)")
    p.add_argument("--eval-documents", type=int, default=EVAL_DOCUMENTS,
                   help="held-out documents of the last-word ruler at each evaluation (0: validation loss only)")
    p.add_argument("--log-interval", type=int, default=10, help="log every N steps")
    p.add_argument("--ckpt-interval", type=int, default=1000, help="checkpoint every N steps and at the end (0: never)")
    p.add_argument("--keep-checkpoints", type=int, default=2, help="how many of the latest checkpoints to keep")
    p.add_argument("--resume", action="store_true", help="continue from the latest checkpoint in --out")
    p.add_argument("--compile", action="store_true", help="torch.compile the model")
    p.add_argument("--device", default="auto", help="auto (cuda when there is one), cpu, cuda")
    p.add_argument("--prefetch", type=int, default=4, help="batches the loader thread prepares ahead")
    return p


def add_eval_model_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``curation eval-model`` / ``python -m curation.trainer.heldout``."""
    p.add_argument("checkpoint", help="a checkpoint file, or a training --out folder (its latest checkpoint)")
    p.add_argument("--data", required=True, help="the tokenize stage's output whose val split is held out (OUTPUT/tokenize)")
    p.add_argument("--batch-size", type=int, default=8, help="sequences per batch")
    p.add_argument("--batches", type=int, default=0, help="validation batches (0: the whole val split)")
    p.add_argument("--documents", type=int, default=EVAL_DOCUMENTS, help="held-out documents of the last-word ruler (0: none)")
    p.add_argument("--device", default="auto")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def add_sample_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``curation sample-text`` / ``python -m curation.trainer.sample``."""
    p.add_argument("checkpoint", help="a checkpoint file, or a training --out folder (its latest checkpoint)")
    p.add_argument("--prompt", default="", help="text to continue (empty: start after an end-of-text token)")
    p.add_argument("--max-new-tokens", type=int, default=200)
    p.add_argument("--temperature", type=float, default=0.8)
    p.add_argument("--top-k", type=int, default=200, help="sample among the k likeliest tokens (0: all)")
    p.add_argument("--num-samples", type=int, default=1)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="auto")
    return p
