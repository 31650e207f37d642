"""The base of every pipeline step: three kinds, their settings and the scores they describe.

A step is a small class: pydantic ``Params`` declare (and validate) its settings, and the kind
says how a stage drives it:

- ``ReaderStep``: turns one input file (or one part of it) into documents; the first step of the
  first stage of a run (``warc_reader``, ...).
- ``DocumentStep``: a generator from documents to documents (filters, extractors, formatters), so
  steps chain lazily and memory stays flat.
- ``StageStep``: settings of a step that must see every shard at once (de-duplication,
  tokenization); the runner of its stage does the work, so it has no per-document method.

Everything a step learns goes into the ``StepStats`` it is handed; the stage runner counts
documents and characters in and out and times the step, so no step repeats that code. This module
knows no concrete step: ``curation.registry`` names them all.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import ClassVar, Literal

from pydantic import BaseModel, ConfigDict

from curation.document import Document
from curation.stats import StepStats


class StepParams(BaseModel):
    """Settings of a step as written in a pipeline file. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


@dataclass(frozen=True)
class Threshold:
    """A setting of the step that holds a threshold on a score, and which side of it is dropped.

    ``side``: ``min`` drops a document below the value, ``max`` above it, ``atleast`` at or above it.
    A setting that is None (or 0 where ``zero_is_off``) switches the check off.
    """

    setting: str
    side: Literal["min", "max", "atleast"]
    zero_is_off: bool = True


@dataclass(frozen=True)
class Score:
    """A quantity a step computes for each document: how to bin it, what it is measured in, which
    setting thresholds it and which drop reasons it explains. The statistics fill one histogram
    per score, and the report draws it, marks the threshold and shows the score beside the dropped
    documents it explains, with no table of its own."""

    name: str  # the metadata key and histogram name
    low: float = 0.0
    high: float = 1.0
    bins: int = 50
    thresholds: tuple[Threshold, ...] = ()
    unit: str = ""  # what the axis measures, e.g. "words"; empty: a ratio
    explains: tuple[str, ...] = ()  # drop reasons this score explains (besides a reason named like the score)
    counts: str = "documents"  # what the histogram counts
    note: str = ""  # one line for a reader of the chart


class PipelineStep(ABC):
    """What every step has: a registered ``name``, validated ``Params``, the ``scores`` it records.

    Heavy resources (models, blocklists) must come from per-process cached loaders
    (``curation.resources.worker_resource``) so a worker loads them once, whatever the number of tasks.
    """

    kind: ClassVar[str]
    name: ClassVar[str]
    Params: ClassVar[type[StepParams]] = StepParams
    scores: ClassVar[tuple[Score, ...]] = ()
    uses: ClassVar[tuple[str, ...]] = ("text",)  # the document fields (id, url, date, text) the step reads

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        self.params = params if params is not None else self.Params()
        self.label = label or self.name  # unique within a stage, e.g. "c4_quality" or "c4_quality#2"

    @classmethod
    def histogram_bins(cls) -> dict[str, tuple[float, float, int]]:
        """Bins of the histograms this step fills with ``StepStats.observe``."""
        return {s.name: (s.low, s.high, s.bins) for s in cls.scores}

    def new_stats(self) -> StepStats:
        return StepStats(self.label, bins=self.histogram_bins())

    def needs(self) -> tuple[str, ...]:
        """The document fields this step reads (``uses``; a step whose settings decide overrides this).
        A run whose input lacks one of them stops before any work, naming the field, file and step."""
        return self.uses

    def preflight(self) -> None:  # noqa: B027 - a hook: most steps have nothing to check
        """Cheap checks on the driver before any work starts (a model file exists, ...): raise a
        ``CurationError`` naming the problem. Nothing heavy is loaded here."""

    def check_pipeline(self, stages: dict[str, list[PipelineStep]]) -> None:  # noqa: B027 - a hook: most steps stand alone
        """Settings that must agree with other steps of the same pipeline (``stages``: every stage's
        built steps, in order): raise a ``ConfigError`` naming both. Called when the file is loaded."""

    def warm_up(self) -> None:  # noqa: B027 - a hook: most steps load nothing
        """Load the heavy resources this step will need (through their per-process loaders). Workers
        call it while the driver still plans, so the first shard does not wait for them."""


class ReaderStep(PipelineStep):
    """Input files -> documents. ``read`` opens the file itself (local, s3://, https://), so a reader
    can stream a WARC or seek to a Parquet row group as its format needs."""

    kind: ClassVar[str] = "reader"
    uses: ClassVar[tuple[str, ...]] = ()
    suffixes: ClassVar[tuple[str, ...]] = ()  # file names this reader takes, e.g. (".warc", ".warc.gz")
    splittable: ClassVar[bool] = False  # whether ``read`` honours ``part`` / ``parts`` (large files in small runs)
    html: ClassVar[bool] = False  # its documents hold HTML: they start at the extract stage
    crawl_listing: ClassVar[str | None] = None  # what a Common Crawl crawl id names for it, e.g. "warc.paths.gz"

    @classmethod
    def accepts(cls, url: str) -> bool:
        """Whether ``url`` looks like one of this reader's files (by name)."""
        return url.lower().endswith(cls.suffixes)

    def fields(self, url: str) -> set[str] | None:
        """The document fields (id, url, date, text) the file ``url`` fills, from its schema or first
        records; None when every document has them all (a WARC record always has an id, url and date)."""
        return None

    @abstractmethod
    def read(self, url: str, stats: StepStats, part: int = 0, parts: int = 1) -> Iterator[Document]:
        """The documents of ``url`` (of its ``part``-th of ``parts`` parts when splittable). Damaged
        records are counted in ``stats`` and skipped; a file with nothing readable raises ``InputError``."""


class DocumentStep(PipelineStep):
    """Documents -> documents: drop, rewrite or annotate each one."""

    kind: ClassVar[str] = "document"

    @abstractmethod
    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        """Yield the documents that go on; count drops with ``stats.drop(doc, reason)``."""


class StageStep(PipelineStep):
    """Settings of a step that needs every shard of its stage at once; ``stage`` names the stage
    whose runner (``curation.registry.stage_runner``) carries it out."""

    kind: ClassVar[str] = "stage"
    stage: ClassVar[str]
