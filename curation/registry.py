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


@dataclass(frozen=True)
class StageKind:
    """A stage a pipeline file may have: which kinds of step it takes, and who runs it."""

    name: str
    accepts: tuple[str, ...]  # step kinds: "reader" (first step only), "document", "stage"
    runner: str | None = None  # "module:function" running the whole stage; None: shard by shard
    what: str = ""

    @property
    def per_shard(self) -> bool:
        return self.runner is None


# In the order data flows; a pipeline lists a subset of them, in this order.
STAGES: dict[str, StageKind] = {
    s.name: s
    for s in (
        StageKind("extract", ("reader", "document"), what="input files -> documents -> main text"),
        StageKind("filter", ("reader", "document"), what="documents -> documents"),
        StageKind("dedup", ("stage",), "curation.dedup.driver:run_dedup", "exact and near duplicates across every shard"),
        StageKind("tokenize", ("stage",), "curation.tokenization.driver:run_tokenize", "documents -> shuffled, packed token sequences"),
    )
}
STAGE_ORDER: tuple[str, ...] = tuple(STAGES)


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
