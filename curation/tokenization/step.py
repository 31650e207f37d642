"""The ``tokenize`` step: the settings of the tokenize stage as a pipeline file writes them."""

from __future__ import annotations

import hashlib
import json
from typing import Any, ClassVar, Literal

from pydantic import Field

from curation.errors import ConfigError
from curation.step import StageStep, StepParams

STAGE = "tokenize"


class TokenizeStep(StageStep):
    """Settings of the tokenize stage, carried out by its runner (``curation.tokenization.driver``)."""

    name: ClassVar[str] = STAGE
    stage: ClassVar[str] = STAGE

    class Params(StepParams):
        tokenizer: str = "gpt2"  # "gpt2" (offline GPT-2 BPE), a tokenizer.json path, or a hub name
        eos_token: str | None = None  # default: the first of EOS_CANDIDATES the vocabulary has
        seq_len: int = Field(1024, ge=1, le=1 << 24)  # rows hold seq_len + 1 tokens
        val_fraction: float = Field(0.01, ge=0.0, le=1.0)
        seed: int = Field(0, ge=0, lt=1 << 64)
        shard_sequences: int = Field(65536, ge=1)  # target rows per shard (shards are about this size or smaller)
        row_group_sequences: int = Field(1024, ge=1)  # rows per Parquet row group (~2 MB of uint16 at seq_len 1024)
        last_sequence: Literal["drop", "pad"] = "drop"
        compression: Literal["zstd", "lz4", "snappy", "none"] = "zstd"
        batch_size: int = Field(1000, ge=1)  # documents per encode_batch call
        keep_work: bool = False  # keep _work/ (intermediate token files) after the stage completes


def params_of(stage_steps: list[dict[str, Any]]) -> TokenizeStep.Params:
    """The settings of a tokenize stage as it travels to tasks (``StageSpec.to_dict``)."""
    if len(stage_steps) != 1 or next(iter(stage_steps[0])) != STAGE:
        names = [next(iter(s)) for s in stage_steps]
        raise ConfigError(f"stage 'tokenize' must have exactly one step, `tokenize`; got {names}")
    return TokenizeStep.Params(**(stage_steps[0][STAGE] or {}))


def phase1_fingerprint(params: TokenizeStep.Params) -> str:
    """What the intermediate files depend on (changing it needs --force)."""
    d = {"tokenizer": params.tokenizer, "eos_token": params.eos_token, "seed": params.seed, "val_fraction": params.val_fraction}
    return hashlib.sha256(json.dumps(d, sort_keys=True).encode()).hexdigest()[:16]
