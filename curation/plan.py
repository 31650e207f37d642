"""A training plan from the tokens: model size, compute, time, energy and emissions, next to the
published scaling laws that say how far a choice is from compute-optimal.

    curation plan OUTPUT/tokenize [--gpu H100] [--gpus 8] [--epochs 1 | --train-tokens D] [--mfu 0.4]
                                  [--watts 700] [--grid 436] [--fit hoffmann2022|besiroglu2024] [--json]
    curation plan --tokens 1e9     # no run yet: plan for a number of tokens

For each model preset, and for the compute-optimal size for the tokens: parameters N, training
tokens D, tokens per parameter, epochs over the data, training FLOPs (6ND plus attention), the loss
the Chinchilla fit predicts, GPU-hours at a model-FLOPs utilization (MFU), energy at the GPU's board
power and CO2e at a grid's carbon intensity. Every constant below names its source.

Standard library only: ``curation train`` prints the same plan for its own run on GPU images that
carry torch, numpy, pyarrow and fsspec and nothing else.
"""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import asdict, dataclass, field
from typing import Any

from curation.errors import CurationError
from curation.trainer.config import PRESETS, GPTConfig

# ----------------------------------------------------------------------------------------------
# Scaling laws


@dataclass(frozen=True)
class LossFit:
    """L(N, D) = E + A / N^alpha + B / D^beta: the final loss of a model of N parameters trained on D
    tokens with a cosine schedule as long as the run (Hoffmann et al. 2022, eq. 2)."""

    name: str
    E: float
    A: float
    B: float
    alpha: float
    beta: float
    source: str

    def loss(self, params: float, tokens: float) -> float:
        return self.E + self.A / params**self.alpha + self.B / tokens**self.beta

    def optimal_params(self, flops: float) -> float:
        """N on the fit's own efficient frontier for a compute budget C = 6ND (Hoffmann et al. 2022, eq. 4)."""
        g = (self.alpha * self.A / (self.beta * self.B)) ** (1 / (self.alpha + self.beta))
        return g * (flops / 6) ** (self.beta / (self.alpha + self.beta))


FITS: dict[str, LossFit] = {
    # Hoffmann et al. 2022, "Training Compute-Optimal Large Language Models" (arXiv:2203.15556),
    # Approach 3, section 3.3 and appendix D.2: the published (rounded) estimates.
    "hoffmann2022": LossFit("hoffmann2022", 1.69, 406.4, 410.7, 0.34, 0.28,
                            "Hoffmann et al. 2022 (Chinchilla), Approach 3, arXiv:2203.15556"),
    # Besiroglu, Erdil, Barnett, You 2024, "Chinchilla Scaling: A replication attempt" (arXiv:2404.10102):
    # the same form refitted to data read off Hoffmann et al.'s plots; its exponents agree with
    # Hoffmann's Approaches 1 and 2 (N and D scale equally), which the rounded published fit does not.
    "besiroglu2024": LossFit("besiroglu2024", 1.8172, 482.01, 2085.43, 0.3478, 0.3658,
                             "Besiroglu et al. 2024 (Chinchilla replication), arXiv:2404.10102"),
}
DEFAULT_FIT = "hoffmann2022"
# The range the fit was made on (Hoffmann et al. 2022, abstract: "over 400 language models ranging
# from 70 million to over 16 billion parameters on 5 to 500 billion tokens"); outside it, extrapolation.
FIT_PARAMS_RANGE = (70e6, 16e9)
FIT_TOKENS_RANGE = (5e9, 500e9)
# The fits were made with a 32,000-token SentencePiece vocabulary (Hoffmann et al. 2022, section 3):
# a uniform guess over it loses ln(32000) = 10.4 nats per token, so a prediction above that is no prediction.
FIT_UNIFORM_LOSS = math.log(32000)

# Hoffmann et al. 2022, Table 3 (Approach 1): the compute-optimal model of N parameters trains on
# about 20 N tokens (1B parameters: 20.2B tokens; 10B: 205.1B; Chinchilla itself: 70B on 1.4T).
TOKENS_PER_PARAM = 20.0
# How far from 20 tokens per parameter counts as "far from compute-optimal" (either way). Our
# choice: a factor of 4 (5 or 80 tokens per parameter) is where the fit's loss at the same compute
# is clearly worse than on the frontier, while modest over-training (Llama-style) is not flagged.
FAR_FACTOR = 4.0

# Muennighoff et al. 2023, "Scaling Data-Constrained Language Models" (arXiv:2305.16264): "training
# with up to 4 epochs of repeated data yields negligible changes to loss compared to having unique
# data"; beyond that, repeated tokens are worth exponentially less.
NEAR_FRESH_EPOCHS = 4.0
# Their fitted decay constant R_D* for repeated data (huggingface/datablations README, "Parametric
# Fit": rd_star = 15.387756): the effective tokens of U unique tokens seen 1 + R times are
# D' = U + U R_D* (1 - exp(-R / R_D*)), so repetitions past ~R_D* add almost nothing.
REPEAT_DECAY = 15.387756


def effective_tokens(unique: float, tokens: float) -> float:
    """Training tokens counted as fresh data (Muennighoff et al. 2023): D itself for one epoch or less."""
    if unique <= 0 or tokens <= unique:
        return tokens
    repeats = tokens / unique - 1
    return unique + unique * REPEAT_DECAY * (1 - math.exp(-repeats / REPEAT_DECAY))


def compute_optimal_params(tokens: float) -> float:
    """The model size that D training tokens feed compute-optimally: D / 20 (Hoffmann et al. 2022, Table 3)."""
    return tokens / TOKENS_PER_PARAM


# ----------------------------------------------------------------------------------------------
# Hardware, energy and emissions


@dataclass(frozen=True)
class GPU:
    name: str
    peak_flops: float  # dense bf16 tensor-core FLOP/s, no sparsity
    watts: float  # nominal maximum board power
    recorded_mfu: float | None  # what our trainer measured on it (BENCHMARKS.md), if anything
    source: str


GPUS: dict[str, GPU] = {
    # NVIDIA H100 Tensor Core GPU datasheet: SXM, BF16 989 TFLOPS dense (1,979 with sparsity), max TDP
    # up to 700 W. Our trainer: GPT-2 small, torch.compile, batch 32 x 1024: 40.2% MFU (BENCHMARKS.md).
    "H100": GPU("H100 SXM", 989e12, 700.0, 0.402, "NVIDIA H100 datasheet (SXM); MFU: BENCHMARKS.md"),
    # NVIDIA H200 datasheet: SXM, same Hopper tensor cores (BF16 989 TFLOPS dense), max TDP up to 700 W.
    # Our trainer: GPT-2 small, torch.compile, batch 64 x 1024: 43.5% MFU (BENCHMARKS.md).
    "H200": GPU("H200 SXM", 989e12, 700.0, 0.435, "NVIDIA H200 datasheet (SXM); MFU: BENCHMARKS.md"),
    # NVIDIA A100 datasheet: SXM4, BF16 312 TFLOPS dense (624 with sparsity), max TDP 400 W. Not measured here.
    "A100": GPU("A100 SXM", 312e12, 400.0, None, "NVIDIA A100 datasheet (SXM4)"),
}
DEFAULT_GPU = "H100"
DEFAULT_MFU = 0.40  # where no run of ours measured one: about what our trainer reaches on an H100
# Ember, Global Electricity Review 2023: the carbon intensity of the world's electricity generation
# was 436 gCO2/kWh in 2022. Set --grid for your data centre (e.g. from its provider or electricityMaps).
DEFAULT_GRID = 436.0
GRID_SOURCE = "world average 2022, Ember Global Electricity Review 2023"
# AMD EPYC 9654 (96 cores, default TDP 360 W, AMD's product specifications): 3.75 W per core at full
# load, the socket's power spread over its cores; memory, disks and network are not counted.
DEFAULT_WATTS_PER_CORE = 360.0 / 96
WATTS_PER_CORE_SOURCE = "AMD EPYC 9654: 360 W TDP / 96 cores"


def gpu_spec(name: str) -> GPU:
    """The table entry for a GPU name as given on the command line or by torch (``NVIDIA H100 80GB HBM3``)."""
    key = next((k for k in GPUS if k.lower() in name.lower()), None)
    if key is None:
        raise CurationError(f"unknown GPU {name!r}; choose one of {', '.join(GPUS)}")
    return GPUS[key]


@dataclass(frozen=True)
class Hardware:
    """What the run trains on and where its electricity comes from (every figure resolved, with its source)."""

    gpu: str
    count: int
    peak_flops: float
    mfu: float
    mfu_source: str
    watts: float
    watts_source: str
    grid: float  # gCO2e per kWh
    grid_source: str
    pue: float = 1.0  # data-centre overhead (cooling, power delivery); 1.0: the boards alone

    @classmethod
    def resolve(cls, gpu: str = DEFAULT_GPU, count: int = 1, mfu: float | None = None, watts: float | None = None,
                grid: float | None = None, pue: float = 1.0) -> Hardware:
        spec = gpu_spec(gpu)
        if count < 1:
            raise CurationError(f"--gpus must be at least 1, got {count}")
        for name, value in (("--mfu", mfu), ("--watts", watts), ("--grid", grid)):
            if value is not None and value <= 0:
                raise CurationError(f"{name} must be positive, got {value}")
        if pue < 1:
            raise CurationError(f"--pue is at least 1 (the IT load itself), got {pue}")
        if mfu is not None and mfu > 1:
            raise CurationError(f"--mfu is a fraction (0.4 for 40%), got {mfu}")
        if mfu is None:
            mfu, mfu_source = ((spec.recorded_mfu, "the trainer's record, BENCHMARKS.md") if spec.recorded_mfu
                               else (DEFAULT_MFU, "default: no record for this GPU"))
        else:
            mfu_source = "given"
        watts_source = "measured (given)" if watts is not None else "nominal board power, datasheet"
        return cls(spec.name, count, spec.peak_flops, mfu, mfu_source, watts if watts is not None else spec.watts, watts_source,
                   grid if grid is not None else DEFAULT_GRID, "given" if grid is not None else GRID_SOURCE, pue)

    def gpu_hours(self, flops: float) -> float:
        return flops / (self.peak_flops * self.mfu) / 3600

    def kwh(self, gpu_hours: float) -> float:
        return gpu_hours * self.watts / 1000 * self.pue


def co2e_kg(kwh: float, grid: float) -> float:
    return kwh * grid / 1000


# ----------------------------------------------------------------------------------------------
# The plan


@dataclass
class PlanRow:
    model: str
    params: int
    tokens: float  # training tokens D
    data_tokens: float  # unique tokens (one epoch)
    flops: float
    loss: float  # the fit's prediction at (N, effective D)
    gpu_hours: float | None = None
    wall_hours: float | None = None
    kwh: float | None = None
    co2e_kg: float | None = None
    flops_note: str = ""
    warnings: list[str] = field(default_factory=list)

    @property
    def tokens_per_param(self) -> float:
        return self.tokens / self.params

    @property
    def extrapolated(self) -> bool:
        """Whether N or D lies outside the range the loss fit was made on."""
        return not (FIT_PARAMS_RANGE[0] <= self.params <= FIT_PARAMS_RANGE[1] and FIT_TOKENS_RANGE[0] <= self.tokens <= FIT_TOKENS_RANGE[1])

    @property
    def epochs(self) -> float:
        return self.tokens / self.data_tokens if self.data_tokens else math.inf

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "tokens_per_param": self.tokens_per_param, "epochs": self.epochs, "extrapolated": self.extrapolated}


@dataclass
class Plan:
    data_tokens: float
    train_tokens: float
    fit: LossFit
    hardware: Hardware | None
    rows: list[PlanRow]
    source: str = ""  # where the tokens were counted
    knowledge_cutoff: str | None = None

    @property
    def warnings(self) -> list[str]:
        repeated = repetition_warning(self.train_tokens, self.data_tokens)
        return ([repeated] if repeated else []) + [w for r in self.rows for w in r.warnings]

    def to_dict(self) -> dict[str, Any]:
        return {"data_tokens": self.data_tokens, "train_tokens": self.train_tokens, "source": self.source,
                "knowledge_cutoff": self.knowledge_cutoff, "fit": asdict(self.fit),
                "hardware": asdict(self.hardware) if self.hardware else None, "rows": [r.to_dict() for r in self.rows],
                "warnings": self.warnings}


def preset_models(vocab_size: int, seq_len: int) -> list[tuple[str, int, int]]:
    """(name, parameters, training FLOPs per token) of every preset at this vocabulary and context."""
    configs = [(name, GPTConfig.preset(name, vocab_size, seq_len)) for name in PRESETS]
    return [(name, c.num_params(), c.flops_per_token()) for name, c in configs]


def size_warnings(name: str, params: float, tokens: float, data_tokens: float) -> list[str]:
    out = []
    tpp, optimal_tokens = tokens / params, TOKENS_PER_PARAM * params
    if tpp < TOKENS_PER_PARAM / FAR_FACTOR:
        more = f" ({optimal_tokens / data_tokens:,.0f} epochs of this data)" if data_tokens else ""
        out.append(f"{name}: far from compute-optimal: {tpp:.3g} tokens per parameter, against about {TOKENS_PER_PARAM:.0f} "
                   f"(Hoffmann et al. 2022). It is under-trained for its size: it would want {_si(optimal_tokens)} tokens{more}, "
                   f"and {_si(tokens)} tokens feed about {_si(compute_optimal_params(tokens))} parameters.")
    elif tpp > TOKENS_PER_PARAM * FAR_FACTOR:
        out.append(f"{name}: far from compute-optimal: {tpp:,.0f} tokens per parameter, against about {TOKENS_PER_PARAM:.0f}. "
                   f"A model of about {_si(compute_optimal_params(tokens))} parameters would reach a lower loss for the same "
                   "compute (over-training a small model pays off only in cheaper inference).")
    return out


def repetition_warning(tokens: float, data_tokens: float) -> str | None:
    """A warning when training repeats the data more than the ~4 epochs that cost almost nothing."""
    epochs = tokens / data_tokens if data_tokens else 0.0
    if epochs <= NEAR_FRESH_EPOCHS:
        return None
    return (f"training repeats the data {epochs:,.1f} times: up to about {NEAR_FRESH_EPOCHS:.0f} epochs repeated tokens are nearly as "
            f"good as fresh ones; beyond that their value decays exponentially, with a constant of about {REPEAT_DECAY:.0f} "
            f"repetitions (Muennighoff et al. 2023). The predicted losses count {_si(effective_tokens(data_tokens, tokens))} "
            f"effective tokens of the {_si(tokens)} trained on: more data would help more than more epochs.")


def plan_row(name: str, params: int, flops_per_token: float, tokens: float, data_tokens: float, fit: LossFit,
             hardware: Hardware | None, flops_note: str = "") -> PlanRow:
    flops = flops_per_token * tokens
    row = PlanRow(name, int(params), tokens, data_tokens, flops, fit.loss(params, effective_tokens(data_tokens, tokens)),
                  flops_note=flops_note, warnings=size_warnings(name, params, tokens, data_tokens))
    if hardware is not None:
        row.gpu_hours = hardware.gpu_hours(flops)
        row.wall_hours = row.gpu_hours / hardware.count
        row.kwh = hardware.kwh(row.gpu_hours)
        row.co2e_kg = co2e_kg(row.kwh, hardware.grid)
    return row


def make_plan(data_tokens: float, models: list[tuple[str, int, int]], *, train_tokens: float | None = None, epochs: float | None = None,
              hardware: Hardware | None = None, fit: str = DEFAULT_FIT, optimal: bool = True, source: str = "",
              knowledge_cutoff: str | None = None) -> Plan:
    """One row per model (name, parameters, FLOPs per token) and, with ``optimal``, one for the
    compute-optimal size, all trained on ``train_tokens`` (default: ``epochs`` over the data, default 1)."""
    if fit not in FITS:
        raise CurationError(f"unknown loss fit {fit!r}; choose one of {', '.join(FITS)}")
    if data_tokens <= 0:
        raise CurationError("the data holds no training tokens: nothing to plan (is the train split empty?)")
    if train_tokens is None:
        train_tokens = data_tokens * (1.0 if epochs is None else epochs)
    if train_tokens <= 0:
        raise CurationError(f"training tokens must be positive, got {train_tokens}")
    loss_fit = FITS[fit]
    rows = [plan_row(name, params, fpt, train_tokens, data_tokens, loss_fit, hardware) for name, params, fpt in models]
    if optimal:
        n_opt = compute_optimal_params(train_tokens)
        rows.append(plan_row("compute-optimal", max(1, round(n_opt)), 6 * n_opt, train_tokens, data_tokens, loss_fit, hardware,
                             flops_note="6ND only (no shape, so no attention term)"))
    return Plan(data_tokens, train_tokens, loss_fit, hardware, rows, source, knowledge_cutoff)


def manifest_train_tokens(manifest: dict[str, Any]) -> int:
    """Tokens one epoch over the train split trains on: every row gives seq_len predictions."""
    return int(manifest["splits"]["train"]["sequences"]) * int(manifest["seq_len"])


def plan_for_manifest(manifest: dict[str, Any], source: str = "", **kwargs: Any) -> Plan:
    models = preset_models(int(manifest["vocab_size"]), int(manifest["seq_len"]))
    return make_plan(manifest_train_tokens(manifest), models, source=source, knowledge_cutoff=manifest.get("knowledge_cutoff"), **kwargs)


# ----------------------------------------------------------------------------------------------
# Text


def _si(x: float) -> str:
    for unit, div in (("T", 1e12), ("B", 1e9), ("M", 1e6), ("k", 1e3)):
        if abs(x) >= div:
            return f"{x / div:.3g}{unit}"
    return f"{x:.3g}"


def _g(x: float | None) -> str:
    return "-" if x is None else f"{x:.3g}"


def format_plan(plan: Plan) -> str:
    """The plan as the terminal shows it: what it assumes, one row per model, then the warnings."""
    fit, hw = plan.fit, plan.hardware
    epochs = plan.train_tokens / plan.data_tokens
    lines = [f"data: {plan.data_tokens:,.0f} training tokens{' in ' + plan.source if plan.source else ''}"
             + (f"; knowledge cut-off {plan.knowledge_cutoff}" if plan.knowledge_cutoff else ""),
             f"training on {plan.train_tokens:,.0f} tokens ({epochs:.3g} epoch{'s' if epochs != 1 else ''})"]
    if hw is not None:
        lines.append(f"hardware: {hw.count} x {hw.gpu}, {hw.peak_flops / 1e12:,.0f} TFLOP/s bf16 peak, MFU {100 * hw.mfu:.1f}% "
                     f"({hw.mfu_source}), {hw.watts:,.0f} W per GPU ({hw.watts_source})"
                     + (f", PUE {hw.pue:g}" if hw.pue != 1.0 else "") + f"; grid {hw.grid:,.0f} gCO2e/kWh ({hw.grid_source})")
    lines.append(f"loss: L = {fit.E} + {fit.A}/N^{fit.alpha} + {fit.B}/D^{fit.beta} ({fit.source}); fitted on MassiveText "
                 "with a 32k-token SentencePiece vocabulary, so compare its trend, not its absolute value, with GPT-2-token losses")
    head = f"{'model':<16}{'params':>9}{'tokens':>9}{'tok/param':>11}{'epochs':>9}{'FLOPs':>10}{'pred. loss':>11}"
    if hw is not None:
        head += f"{'GPU-h':>9}{'wall h':>9}{'kWh':>9}{'kg CO2e':>9}"
    lines += ["", head, "-" * len(head)]
    for r in plan.rows:
        line = (f"{r.model:<16}{_si(r.params):>9}{_si(r.tokens):>9}{r.tokens_per_param:>11.3g}{r.epochs:>9.3g}"
                f"{r.flops:>10.2e}{r.loss:>10.3f}{'*' if r.extrapolated else ' '}")
        if hw is not None:
            line += f"{_g(r.gpu_hours):>9}{_g(r.wall_hours):>9}{_g(r.kwh):>9}{_g(r.co2e_kg):>9}"
        lines.append(line)
    notes = [f"{r.model}: FLOPs are {r.flops_note}" for r in plan.rows if r.flops_note]
    if any(r.extrapolated for r in plan.rows):
        notes.append(f"* the fit was made on {_si(FIT_PARAMS_RANGE[0])}-{_si(FIT_PARAMS_RANGE[1])} parameters and "
                     f"{_si(FIT_TOKENS_RANGE[0])}-{_si(FIT_TOKENS_RANGE[1])} tokens: starred losses are extrapolations")
    if any(r.loss > FIT_UNIFORM_LOSS for r in plan.rows):
        notes.append(f"a predicted loss above {FIT_UNIFORM_LOSS:.1f} (a uniform guess over the fit's 32k vocabulary) means the fit "
                     "says nothing at this scale")
    notes.append("FLOPs: 6 per parameter per token (forward + backward, Kaplan et al. 2020) plus attention, "
                 "12 x layers x width x context (PaLM, Chowdhery et al. 2022, appendix B)")
    lines += [""] + [f"note: {n}" for n in notes]
    if plan.warnings:
        lines += [""] + [f"warning: {w}" for w in plan.warnings]
    return "\n".join(lines)


# ----------------------------------------------------------------------------------------------
# The command


def add_plan_arguments(p: argparse.ArgumentParser) -> argparse.ArgumentParser:
    """The options of ``curation plan``."""
    p.add_argument("tokenize_dir", nargs="?", help="the tokenize stage's output (OUTPUT/tokenize, or OUTPUT)")
    p.add_argument("--tokens", type=float, help="plan for this many training tokens (one epoch) instead of a run's")
    p.add_argument("--seq-len", type=int, default=1024, help="context length with --tokens (a run's comes from its manifest)")
    p.add_argument("--vocab-size", type=int, default=50257, help="vocabulary with --tokens (default: GPT-2's)")
    how_long = p.add_mutually_exclusive_group()
    how_long.add_argument("--epochs", type=float, help="epochs over the data (default 1)")
    how_long.add_argument("--train-tokens", type=float, help="training tokens (instead of --epochs)")
    p.add_argument("--gpu", default=DEFAULT_GPU, help=f"one of {', '.join(GPUS)} (default {DEFAULT_GPU})")
    p.add_argument("--gpus", type=int, default=1, help="how many GPUs (wall-clock hours = GPU-hours / GPUs)")
    p.add_argument("--mfu", type=float, help="model FLOPs utilization, a fraction (default: the trainer's record for the GPU, else 0.4)")
    p.add_argument("--watts", type=float, help="measured average board power per GPU (default: the GPU's nominal maximum)")
    p.add_argument("--pue", type=float, default=1.0, help="data-centre power usage effectiveness (default 1: the GPUs alone)")
    p.add_argument("--grid", type=float, help=f"grid carbon intensity in gCO2e/kWh (default {DEFAULT_GRID:g}, {GRID_SOURCE})")
    p.add_argument("--fit", default=DEFAULT_FIT, choices=sorted(FITS), help="which published loss fit predicts the loss")
    p.add_argument("--json", action="store_true", help="machine-readable output")
    return p


def plan_from_args(args: argparse.Namespace) -> Plan:
    hardware = Hardware.resolve(args.gpu, args.gpus, args.mfu, args.watts, args.grid, args.pue)
    kwargs = dict(train_tokens=args.train_tokens, epochs=args.epochs, hardware=hardware, fit=args.fit)
    if args.tokens is not None:
        if args.tokenize_dir:
            raise CurationError("give either a tokenize output or --tokens, not both")
        return make_plan(args.tokens, preset_models(args.vocab_size, args.seq_len), source="--tokens", **kwargs)
    if not args.tokenize_dir:
        raise CurationError("give a tokenize output (OUTPUT/tokenize) or --tokens N")
    from curation.io.fs import exists, join
    from curation.tokens import load_manifest

    folder = args.tokenize_dir
    if not exists(join(folder, "manifest.json")) and exists(join(folder, "tokenize", "manifest.json")):
        folder = join(folder, "tokenize")  # the run's output folder was given
    return plan_for_manifest(load_manifest(folder), source=folder, **kwargs)


def run(args: argparse.Namespace) -> int:
    plan = plan_from_args(args)
    print(json.dumps(plan.to_dict(), indent=1) if args.json else format_plan(plan))
    return 0
