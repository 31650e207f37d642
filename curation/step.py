"""The base of every pipeline step, and the registry that maps pipeline-file names to steps.

A step is a small class: pydantic ``Params`` declare (and validate) its settings, and ``run`` is a
generator from documents to documents, so steps chain lazily and memory stays flat. Everything a
step learns goes into the ``StepStats`` it is handed; the stage runner counts documents and
characters in and out and times the step, so no step repeats that code.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import ClassVar

from pydantic import BaseModel, ConfigDict

from curation.document import Document
from curation.stats import StepStats


class StepParams(BaseModel):
    """Settings of a step as written in a pipeline file. Unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class PipelineStep:
    """One transformation of a document stream.

    Subclasses set ``name`` (the key used in pipeline files), ``Params`` and implement ``run``.
    Heavy resources (models, blocklists) must come from module-level cached loaders
    (``functools.cache``) so a worker process loads them once, whatever the number of tasks.
    """

    name: ClassVar[str]
    Params: ClassVar[type[StepParams]] = StepParams
    # metric name -> (low, high, bins): histograms this step fills with StepStats.observe.
    histograms: ClassVar[dict[str, tuple[float, float, int]]] = {}

    def __init__(self, params: StepParams | None = None, label: str | None = None):
        self.params = params if params is not None else self.Params()
        self.label = label or self.name  # unique within a pipeline, e.g. "c4_quality" or "c4_quality#2"

    def run(self, docs: Iterable[Document], stats: StepStats) -> Iterator[Document]:
        raise NotImplementedError(f"{type(self).__name__} must implement run()")

    def preflight(self) -> None:
        """Cheap checks on the driver before any work starts (a model file exists, ...): raise a
        ``CurationError`` naming the problem. Nothing heavy is loaded here."""


STEPS: dict[str, type[PipelineStep]] = {}


def register(cls: type[PipelineStep]) -> type[PipelineStep]:
    """Class decorator: make a step available to pipeline files under ``cls.name``."""
    if cls.name in STEPS and STEPS[cls.name] is not cls:
        raise ValueError(f"two steps are registered as {cls.name!r}: {STEPS[cls.name]} and {cls}")
    STEPS[cls.name] = cls
    return cls


def load_all_steps() -> dict[str, type[PipelineStep]]:
    """Import every module that registers steps, and return the registry."""
    import importlib
    import importlib.util

    import curation.extraction  # noqa: F401
    import curation.io.reader  # noqa: F401
    import filters  # noqa: F401  (filters/__init__ imports each filter module)

    for optional in ("curation.dedup", "curation.tokenization"):  # stages with their own runners
        if importlib.util.find_spec(optional) is not None:
            importlib.import_module(optional)
    return STEPS
