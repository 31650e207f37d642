"""The contract between the pipeline driver and a stage's runner: what a runner is given, what it returns.

Per-shard stages (extract, filter) are run by ``curation.execution``; whole stages (dedup, tokenize)
by the function ``curation.registry.STAGES`` names for them. Every runner gets a ``StageContext``
and returns a ``StageResult``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from curation.errors import CurationError
from curation.layout import StageLayout
from curation.stats import StageStats

if TYPE_CHECKING:
    from curation.config import PipelineConfig, StageSpec
    from curation.executor import Executor


@dataclass(frozen=True)
class StageContext:
    """What a stage runner needs to know about the run."""

    config: PipelineConfig
    stage: StageSpec
    output: str  # the run's output folder; the stage writes OUTPUT/<stage.name>
    input_stage: str | None  # the stage whose shards this one reads (None: it reads input files)
    executor: Executor
    force: bool = False
    progress: bool = True

    @property
    def layout(self) -> StageLayout:
        return StageLayout(self.output, self.stage.name, self.stage.output_format)

    def input_layout(self) -> StageLayout:
        """The folder of the stage whose finished shards this stage reads."""
        if self.input_stage is None:
            raise CurationError(f"stage {self.stage.name!r} needs an earlier stage's output, but it is the first stage of {self.config.path}")
        return StageLayout(self.output, self.input_stage)


@dataclass
class StageResult:
    stage: str
    shards_total: int
    shards_skipped: int  # already done before this run
    shards_failed: list[dict[str, Any]] = field(default_factory=list)
    wall_seconds: float = 0.0
    stats: StageStats | None = None
    after: str | None = None  # the stage this one ran with, shard by shard (its wall time starts when that one ended)
