"""The GPT's sizes: presets, and the parameter and FLOP counts that follow from them.

Kept apart from model.py (which needs torch) so that ``curation plan`` and the CLI's parsers can
count parameters and FLOPs of a preset without importing torch.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, replace
from typing import Any

PRESETS: dict[str, dict[str, int]] = {
    "tiny": dict(n_layer=2, n_head=4, n_embd=64),
    "gpt2-small": dict(n_layer=12, n_head=12, n_embd=768),
    "gpt2-medium": dict(n_layer=24, n_head=16, n_embd=1024),
}


@dataclass(frozen=True)
class GPTConfig:
    vocab_size: int = 50257  # ids the tokenizer can produce (the manifest's vocab_size)
    seq_len: int = 1024  # longest context; rotary tables are this long
    n_layer: int = 12
    n_head: int = 12
    n_embd: int = 768
    norm: str = "rmsnorm"  # or "layernorm"
    bias: bool = False  # biases in linears and LayerNorm: GPT-2 had them; without is as good and faster
    dropout: float = 0.0
    rope_base: float = 10000.0
    vocab_multiple: int = 128  # the embedding is padded to this multiple

    @classmethod
    def preset(cls, name: str, vocab_size: int, seq_len: int, **overrides: Any) -> GPTConfig:
        if name not in PRESETS:
            raise ValueError(f"unknown model preset {name!r}; choose one of {', '.join(PRESETS)}")
        return cls(vocab_size=vocab_size, seq_len=seq_len, **{**PRESETS[name], **{k: v for k, v in overrides.items() if v is not None}})

    @property
    def padded_vocab_size(self) -> int:
        # 50257 -> 50304: matmuls over a multiple of 128 hit the fast tensor-core kernels (nanoGPT: ~25%)
        return -(-self.vocab_size // self.vocab_multiple) * self.vocab_multiple

    @property
    def head_dim(self) -> int:
        return self.n_embd // self.n_head

    def num_params(self) -> int:
        """Parameters of the model (the tied embedding counted once)."""
        d, norm = self.n_embd, self.n_embd * (2 if self.norm == "layernorm" and self.bias else 1)
        linears = 12 * d * d + (9 * d if self.bias else 0)  # qkv 3d^2, proj d^2, mlp 8d^2 (+ biases 3d + d + 4d + d)
        return self.padded_vocab_size * d + self.n_layer * (linears + 2 * norm) + norm

    def flops_per_token(self) -> int:
        """Training FLOPs per token (forward + backward): 6 per parameter per token, plus attention
        (PaLM, appendix B: 12 * layers * width * context), as nanoGPT's MFU estimate."""
        return 6 * self.num_params() + 12 * self.n_layer * self.n_embd * self.seq_len

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> GPTConfig:
        return replace(cls(), **d)
