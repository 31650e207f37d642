"""Heavy resources (models, blocklists, tokenizers) load once per worker process.

Decorate a loader with ``@worker_resource``: the first call in a process loads, every later call
(in any task the process runs) returns the same object. Each load is counted in ``LOADS``, and
every shard's statistics record the loads it caused, so a run shows how often each resource was
loaded: at most once per worker process, however many shards there are. (Loads a Ray worker makes
while warming up, before its first shard, are in no shard's statistics: ``curation.stage.warm_up``.)
"""

from __future__ import annotations

import functools
import resource
import time
from collections import Counter
from collections.abc import Callable
from typing import TYPE_CHECKING, Any, TypeVar

if TYPE_CHECKING:  # kept light: the trainer's tokenizer loader uses worker_resource on a GPU image
    from curation.stats import StageStats

T = TypeVar("T")
LOADS: Counter = Counter()


def worker_resource(fn: Callable[..., T]) -> Callable[..., T]:
    name = fn.__name__

    @functools.cache
    def load(*args, **kwargs) -> T:
        LOADS[name] += 1
        return fn(*args, **kwargs)

    load.__doc__ = fn.__doc__
    load.__name__ = name
    return load


class TaskMeter:
    """What one task used: wall time, CPU time of its process, and the resources it loaded.
    Started when created; ``stage_stats`` closes the measurement into the task's statistics."""

    def __init__(self) -> None:
        self.t_wall = time.perf_counter()
        self.usage = resource.getrusage(resource.RUSAGE_SELF)
        self.loads = Counter(LOADS)

    def stage_stats(self, stage: str, steps: list, shards: int = 1, **extra: Any) -> StageStats:
        from curation.stats import StageStats

        now = resource.getrusage(resource.RUSAGE_SELF)
        return StageStats(
            stage=stage,
            steps=steps,
            shards=shards,
            wall_seconds=time.perf_counter() - self.t_wall,
            cpu_seconds=(now.ru_utime + now.ru_stime) - (self.usage.ru_utime + self.usage.ru_stime),
            resource_loads=Counter(LOADS) - self.loads,
            **extra,
        )
