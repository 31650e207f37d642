"""The one list of what a pipeline file may name: its stages, and the steps each stage accepts.

A step is named here as ``"module:Class"`` and imported only when a pipeline uses it, so checking a
pipeline file loads the modules of its own steps and nothing else. Adding a step is one line here
plus its class; a pipeline file may also name a step of its own code as ``my_package.steps:MyStep``.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Callable

from curation.errors import ConfigError

if TYPE_CHECKING:
    from curation.step import PipelineStep

STEPS: dict[str, str] = {
    # readers: input files -> documents
    "warc_reader": "curation.io.reader:WarcReader",
    "wet_reader": "curation.io.wet:WetReader",
    "parquet_reader": "curation.io.tables:ParquetReader",
    "jsonl_reader": "curation.io.jsonl:JsonlReader",
    "hf_dataset_reader": "curation.io.tables:HFDatasetReader",
    # document steps: extraction, filters, formatters
    "url_filter": "filters.url:URLFilter",
    "screen": "curation.extraction.screens:ExtractionScreen",
    "trafilatura": "curation.extraction.trafilatura:TrafilaturaExtractor",
    "resiliparse": "curation.extraction.resiliparse:ResiliparseExtractor",
    "language": "filters.language:LanguageFilter",
    "gopher_repetition": "filters.gopher:GopherRepetitionFilter",
    "gopher_quality": "filters.gopher:GopherQualityFilter",
    "c4_quality": "filters.c4:C4QualityFilter",
    "fineweb_quality": "filters.fineweb:FineWebQualityFilter",
    "quality_classifier": "filters.quality:QualityClassifierFilter",
    "pii_formatter": "filters.pii:PIIFormatter",
    "ftfy": "filters.formatters:FTFYFormatter",
    "symbol_lines": "filters.formatters:SymbolLinesFormatter",
    # whole-stage steps: carried out by their stage's runner
    "exact_dedup": "curation.dedup.exact:ExactDedup",
    "minhash_dedup": "curation.dedup.minhash:MinhashDedup",
    "tokenize": "curation.tokenization.step:TokenizeStep",
}

# The readers ``reader_for`` chooses from, in the order it tries them: the first whose file names
# (``ReaderStep.suffixes``) fit an input file reads it.
READERS: tuple[str, ...] = ("warc_reader", "wet_reader", "parquet_reader", "jsonl_reader", "hf_dataset_reader")


@dataclass(frozen=True)
class StageKind:
    """A stage a pipeline file may have: which kinds of step it takes, and who runs it."""

    name: str
    accepts: tuple[str, ...]  # step kinds: "reader" (first step only), "document", "stage"
    runner: str | None = None  # "module:function" running the whole stage; None: shard by shard
    what: str = ""
    documents: bool = True  # writes document shards (output_format, keep_rejected apply)
    in_files: bool = True  # a pipeline file may name it (False: a run adds it by itself)
    rank: int = 0  # a pipeline lists its stages by rank; stages of equal rank may come in either order

    @property
    def per_shard(self) -> bool:
        return self.runner is None


# In the order data flows; a pipeline lists a subset of them, in this order.
STAGES: dict[str, StageKind] = {
    s.name: s
    for s in (
        # A run that starts at a whole stage with --input first reads the input into document shards here.
        StageKind("read", ("reader",), what="input documents -> document shards", in_files=False),
        StageKind("extract", ("reader", "document"), what="input files -> documents -> main text", rank=1),
        # filter and dedup in either order: FineWeb filters, then de-duplicates; FineWeb-2 de-duplicates
        # each language, then filters
        StageKind("filter", ("reader", "document"), what="documents -> documents", rank=2),
        StageKind("dedup", ("stage",), "curation.dedup.driver:run_dedup", "exact and near duplicates across every shard", rank=2),
        StageKind("tokenize", ("stage",), "curation.tokenization.driver:run_tokenize", "documents -> shuffled, packed token sequences",
                  documents=False, rank=3),
    )
}
STAGE_ORDER: tuple[str, ...] = tuple(STAGES)  # the usual order; a run's own is its pipeline's (layout.stage_order)
FILE_STAGES: tuple[str, ...] = tuple(s for s in STAGE_ORDER if STAGES[s].in_files)  # the stages a pipeline file may list


def stage_order_rule() -> str:
    """The order a pipeline file lists its stages in, in words: "extract, then filter and dedup in either order, then tokenize"."""
    ranks: dict[int, list[str]] = {}
    for s in FILE_STAGES:
        ranks.setdefault(STAGES[s].rank, []).append(s)
    return ", then ".join(names[0] if len(names) == 1 else f"{' and '.join(names)} in either order" for _, names in sorted(ranks.items()))


def _load(target: str, what: str) -> Any:
    module, _, attr = target.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"cannot load {what} {target!r}: {e}") from None


def step_class(name: str) -> type[PipelineStep]:
    """The class of the step ``name`` (a registered name, or ``module:Class`` for a step of one's own)."""
    from curation.step import PipelineStep

    target = STEPS.get(name) or (name if ":" in name else None)
    if target is None:
        raise KeyError(name)
    cls = _load(target, "step")
    if not (isinstance(cls, type) and issubclass(cls, PipelineStep)):
        raise ConfigError(f"{target!r} is not a pipeline step (a subclass of curation.step.PipelineStep)")
    return cls


def stage_runner(stage: str) -> Callable[..., Any]:
    """The function that runs a whole stage (dedup, tokenize)."""
    runner = STAGES[stage].runner
    if runner is None:
        raise KeyError(f"stage {stage!r} runs shard by shard; it has no runner")
    return _load(runner, "stage runner")


def reader_for(url: str) -> str | None:
    """The name of the reader whose files ``url`` looks like (by its name), None when none does."""
    for name in READERS:
        if step_class(name).accepts(url):  # type: ignore[attr-defined]  (a ReaderStep)
            return name
    return None


def reader_suffixes() -> tuple[str, ...]:
    """Every file name ending some reader takes (what an input folder is searched for)."""
    return tuple(dict.fromkeys(suffix for name in READERS for suffix in step_class(name).suffixes))  # type: ignore[attr-defined]
