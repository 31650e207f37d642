"""Heavy resources (models, blocklists, tokenizers) load once per worker process.

Decorate a loader with ``@worker_resource``: the first call in a process loads, every later call
(in any task the process runs) returns the same object. Each load is counted in ``LOADS``, and
every shard's statistics record the loads it caused, so a run shows how often each resource was
loaded: at most once per worker process, however many shards there are.
"""

from __future__ import annotations

import functools
from collections import Counter
from collections.abc import Callable
from typing import TypeVar

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
