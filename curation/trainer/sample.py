"""Text from a trained checkpoint, decoded with the tokenizer the shards were made with.

    python -m curation.trainer.sample runs/gpt2 --prompt "The city council" --max-new-tokens 100
"""

from __future__ import annotations

import argparse
import sys

import torch

from curation.errors import CurationError
from curation.tokenization.tokenizer import encode, load_tokenizer
from curation.trainer import add_sample_arguments
from curation.trainer.model import GPT, GPTConfig
from curation.trainer.train import load_checkpoint


def resolve_device(device: str) -> str:
    """``auto``: the GPU when there is one, else the CPU; any other device name as it is."""
    return ("cuda" if torch.cuda.is_available() else "cpu") if device == "auto" else device


def load_model(checkpoint: str, device: str | torch.device = "cpu") -> tuple[GPT, dict]:
    """The model of a checkpoint (file or training folder), in eval mode, and the checkpoint's data info."""
    ckpt = load_checkpoint(checkpoint)
    model = GPT(GPTConfig.from_dict(ckpt["config"]))
    model.load_state_dict(ckpt["model"])
    return model.to(device).eval(), ckpt["data"]


def sample_text(checkpoint: str, prompt: str = "", max_new_tokens: int = 200, temperature: float = 0.8, top_k: int | None = 200,
                *, seed: int = 0, device: str = "auto") -> str:
    """A continuation of ``prompt`` (the generated text only), cut at the first end-of-text token."""
    return sample_texts(checkpoint, prompt, max_new_tokens, temperature, top_k, num_samples=1, seed=seed, device=device)[0]


def sample_texts(checkpoint: str | tuple[GPT, dict], prompt: str = "", max_new_tokens: int = 200, temperature: float = 0.8,
                 top_k: int | None = 200, *, num_samples: int = 1, seed: int = 0, device: str = "auto") -> list[str]:
    """``num_samples`` continuations of ``prompt``, sampled together (one batch); ``checkpoint``: a
    file or training folder, or what ``load_model`` returned for it (loaded on ``device``)."""
    device = resolve_device(device)
    model, data = load_model(checkpoint, device) if isinstance(checkpoint, str) else checkpoint
    tokenizer_name = data["tokenizer"]["name"]
    # as in training, every document begins after an EOS: the prompt continues one
    ids = [data["eos_id"]] + (encode([prompt], tokenizer_name)[0] if prompt else [])
    if len(ids) > model.config.seq_len:
        ids = ids[-model.config.seq_len :]
    idx = torch.tensor([ids] * num_samples, dtype=torch.long, device=device)
    generator = torch.Generator(device=device).manual_seed(seed)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16) if torch.device(device).type == "cuda" else torch.autocast("cpu", enabled=False)
    with autocast:
        out = model.generate(idx, max_new_tokens, temperature=temperature, top_k=top_k or None, generator=generator)
    tok = load_tokenizer(tokenizer_name)
    texts = []
    for row in out[:, len(ids) :].tolist():
        if data["eos_id"] in row:  # the end of a document: stop there
            row = row[: row.index(data["eos_id"])]
        texts.append(tok.decode(row, skip_special_tokens=False))
    return texts


def run(args: argparse.Namespace) -> int:
    """Print the samples that ``args`` (see ``add_sample_arguments``) ask for: what ``curation sample-text`` calls."""
    device = resolve_device(args.device)
    model, data = load_model(args.checkpoint, device)
    # on stderr, so that stdout is the text alone
    print(f"knowledge cut-off: {data.get('knowledge_cutoff') or 'unknown'} (the newest document the model was trained on)", file=sys.stderr)
    texts = sample_texts((model, data), args.prompt, args.max_new_tokens, args.temperature, args.top_k,
                         num_samples=args.num_samples, seed=args.seed, device=args.device)
    for i, text in enumerate(texts):
        if len(texts) > 1:
            print(f"--- sample {i + 1}")
        print(args.prompt + text)
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = add_sample_arguments(argparse.ArgumentParser(prog="python -m curation.trainer.sample", description=__doc__.split("\n")[0]))
    try:
        return run(parser.parse_args(argv))
    except CurationError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
