"""The one task loop: every stage's work goes through ``run_tasks``.

Per-shard stages, the dedup phases and the tokenize phases all hand it a list of ``Task``s. It
keeps at most ``executor.slots()`` of them in flight, records each attempt (so retries of a task
whose worker died are counted, on disk, where a dead worker cannot forget them), records every
failure in the stage's ``_failed/`` folder, and draws one progress bar. A failure fails its task
alone: the others go on.

What a task logs at WARNING or above (a bad record, a page its extractor failed on) travels back
with its result and is logged again here, on the driver, under the same logger: the one-line
messages reach the console wherever the task ran, above the progress bar, without Ray's log
forwarding (which an embedded Ray runs without; see ``curation.executor``).
"""

from __future__ import annotations

import contextlib
import contextvars
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from curation.executor import Executor
from curation.layout import StageLayout

_ATTEMPT: contextvars.ContextVar[int] = contextvars.ContextVar("attempt", default=1)
MAX_WARNINGS_PER_TASK = 100  # then one line counts the rest


def current_attempt() -> int:
    """Which attempt at its task the running code is (1 outside the task runner)."""
    return _ATTEMPT.get()


@dataclass(frozen=True)
class Task:
    """``fn(*args)`` for one unit of a stage (a shard, a bucket, a phase part).

    ``name`` is what the stage's ``_failed`` record is called; ``input`` is what the task reads,
    named in its failure; ``attempts`` is the ``_attempts`` folder where each attempt is recorded
    (None: the task records its own, as a chain of stages does per stage). ``units`` is its weight
    on the progress bar.
    """

    name: str
    fn: Callable[..., Any]
    args: tuple = ()
    input: str = ""
    layout: StageLayout | None = None
    units: int = 1
    attempts: str | None = None


class TaskFailed(Exception):
    """Raised by task code that words its own failure (``{"shard", "input", "error", ...}``);
    ``recorded``: it is already written where it belongs (e.g. the stage of a chain that failed)."""

    def __init__(self, failure: dict[str, Any], recorded: bool = False):
        super().__init__(failure.get("error", ""))
        self.failure = failure
        self.recorded = recorded


def error_text(e: BaseException) -> str:
    cause = getattr(e, "cause", None) or e  # a Ray task error wraps the original exception
    return f"{type(cause).__name__}: {cause}"


def _fn_name(fn: Callable[..., Any]) -> str:
    while isinstance(fn, functools.partial):
        fn = fn.func
    return getattr(fn, "__name__", "task")


class _Collected(logging.Handler):
    """The records logged while a task runs, as (logger name, level, message)."""

    def __init__(self) -> None:
        super().__init__(logging.WARNING)
        self.records: list[tuple[str, int, str]] = []
        self.left_out = 0

    def emit(self, record: logging.LogRecord) -> None:
        if len(self.records) >= MAX_WARNINGS_PER_TASK:
            self.left_out += 1
            return
        try:
            message = record.getMessage()
        except Exception:  # noqa: BLE001 - a message with wrong arguments still says something
            message = str(record.msg)
        self.records.append((record.name, record.levelno, message))

    def lines(self, task: str) -> list[tuple[str, int, str]]:
        more = [(__name__, logging.WARNING, f"{task}: {self.left_out} more warning(s) not shown")] if self.left_out else []
        return self.records + more


@contextlib.contextmanager
def _collect_warnings() -> Iterator[_Collected]:
    """Route what is logged at WARNING or above to a ``_Collected`` instead of the root's handlers."""
    root = logging.getLogger()
    collected = _Collected()
    handlers, level = root.handlers[:], root.level
    root.handlers = [collected]
    if root.getEffectiveLevel() > logging.WARNING:
        root.setLevel(logging.WARNING)
    try:
        yield collected
    finally:
        root.handlers = handlers
        root.setLevel(level)


def _guarded(task: Task) -> dict[str, Any]:
    """Runs on the worker: count the attempt, run the task, record a failure where it happened;
    hand back what it logged."""
    attempt = task.layout.record_attempt(task.attempts) if task.layout is not None and task.attempts else 1
    token = _ATTEMPT.set(attempt)
    with _collect_warnings() as collected:
        try:
            outcome: dict[str, Any] = {"ok": True, "value": task.fn(*task.args)}
        except Exception as e:  # a bad input fails its task only
            failure = {"shard": task.name, "input": task.input, **(e.failure if isinstance(e, TaskFailed) else {"error": error_text(e)})}
            if task.layout is not None and not getattr(e, "recorded", False):
                try:
                    task.layout.write_failure(task.name, failure["input"], failure["error"])
                except Exception:  # noqa: BLE001 - the failure still reaches the driver
                    pass
            outcome = {"ok": False, "failure": failure}
        finally:
            _ATTEMPT.reset(token)
    outcome["warnings"] = collected.lines(task.name)
    return outcome


def run_tasks(
    executor: Executor,
    tasks: list[Task],
    *,
    desc: str,
    unit: str = "task",
    progress: bool = True,
    on_done: Callable[[Task, Any], str | None] | None = None,
    on_failure: Callable[[Task, dict[str, Any]], None] | None = None,
    total: int | None = None,
    initial: int = 0,
) -> list[dict[str, Any]]:
    """Run ``tasks``; return the failures (``{"shard", "input", "error"}``), in the order they happened.

    ``on_done(task, value)`` is called on the driver as each task succeeds; a string it returns
    becomes the progress bar's postfix (a rate, say). ``on_failure`` sees each failure as it happens.
    """
    from tqdm import tqdm

    failures: list[dict[str, Any]] = []
    if not tasks:
        return failures
    limit = max(executor.slots(), 1)
    queue = list(tasks)
    queue.reverse()  # pop() from the end: submission in list order
    pending: dict[Any, Task] = {}
    bar = tqdm(total=total if total is not None else sum(t.units for t in tasks) + initial, initial=initial,
               desc=f"{desc:>8}", unit=unit, disable=not progress, dynamic_ncols=True)
    console = contextlib.ExitStack()
    if progress:  # log lines go above the bar, not through it
        from tqdm.contrib.logging import logging_redirect_tqdm

        console.enter_context(logging_redirect_tqdm())
    try:
        while queue or pending:
            while queue and len(pending) < limit:
                task = queue.pop()
                pending[executor.submit(_guarded, task, name=_fn_name(task.fn))] = task
            handle = executor.next_done(list(pending))
            task = pending.pop(handle)
            try:
                outcome = executor.result(handle)
            except Exception as e:  # the worker died more often than Ray retries it
                outcome = {"ok": False, "failure": {"shard": task.name, "input": task.input, "error": error_text(e)}}
                if task.layout is not None:
                    task.layout.write_failure(task.name, task.input, outcome["failure"]["error"])
            for logger, level, message in outcome.get("warnings", ()):
                logging.getLogger(logger).log(level, "%s", message)
            if outcome["ok"]:
                postfix = on_done(task, outcome["value"]) if on_done else None
                if postfix:
                    bar.set_postfix_str(postfix)
            else:
                failures.append(outcome["failure"])
                bar.write(f"failed ({desc.strip()}): {outcome['failure']['input']}: {outcome['failure']['error']}")
                if on_failure:
                    on_failure(task, outcome["failure"])
            bar.update(task.units)
    finally:
        bar.close()
        console.close()
    return failures
