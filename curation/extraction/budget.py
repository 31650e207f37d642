"""How long one document may take to extract: a CPU-time budget, and a guard against hangs.

FineWeb (datatrove) drops a page whose extraction takes more than 1 s of *wall-clock* time. Wall
time depends on how busy the machine is: next to two CPU-bound processes on the same two cores, 57
of 181 real article pages that all come out on an idle machine were dropped that way. Two runs of
the same command on the same data must keep the same documents, so the budget here is *CPU time of
the extracting thread*, which the load of the machine changes far less (the slowest real page takes
1.8 s of CPU alone, 2.1 s at a load average of 11), set high enough that no real page of ordinary
size comes near it (``curation.extraction.base`` has the figure and why).

Wall-clock time is kept only to catch a document that *hangs*: waits (a lock, a sleep, I/O) without
using CPU. After ``wall_seconds`` of wall-clock time the guard looks at the thread's CPU clock: if
it moved less than 10 ms since the last look, the document is hung and stopped (its own reason,
``wall_timeout``); if it moved more, the document is working, however slowly, and the CPU budget is
its limit. A plain wall-clock limit would not do: Ray starts its workers at niceness 15, so next to
one ordinary process spinning on the same core a worker gets about 1% of it; a page needing 1.8 s
of CPU then took 158 s.

Both limits are interval timers (``setitimer``): nothing is paid per document beyond arming them.
``ITIMER_PROF`` counts the CPU time of the whole process, so when it fires the handler looks at the
thread's own clock (``time.thread_time``) and, if other threads (Ray's) spent part of it, waits for
the rest. Timers signal the main thread only: elsewhere no limit can be set, and the caller is told.
"""

from __future__ import annotations

import signal
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager

# Once a limit is passed, the exception is raised again this often until the block exits, in case
# the code inside catches it (it derives from BaseException, so only a bare `except:` would).
_RERAISE_S = 0.05
# Less CPU than this in a whole wall-clock window: the document is waiting, not working.
_PROGRESS_S = 0.01


class ExtractionTimeout(BaseException):
    """A document passed its budget. BaseException, like KeyboardInterrupt: extractors that catch
    ``Exception`` around their own steps must not swallow it."""

    reason = "timeout"


class CpuTimeout(ExtractionTimeout):
    reason = "cpu_timeout"


class WallTimeout(ExtractionTimeout):
    reason = "wall_timeout"


def can_limit() -> bool:
    """Whether ``budget`` can set timers here (signals reach the main thread only)."""
    return threading.current_thread() is threading.main_thread()


@contextmanager
def budget(cpu_seconds: float, wall_seconds: float = 0.0) -> Iterator[bool]:
    """Raise ``CpuTimeout`` once this thread has used ``cpu_seconds`` of CPU inside the block, and
    ``WallTimeout`` when it has used (almost) none in ``wall_seconds`` of wall-clock time (0 disables
    either). Yields whether a limit is in force (False outside the main thread, or with both off)."""
    cpu_on, wall_on = cpu_seconds > 0, wall_seconds > 0
    if not (cpu_on or wall_on) or not can_limit():
        yield False
        return
    start = time.thread_time()
    # Cleared first thing on the way out. A signal that arrived just before the timers were disarmed
    # still runs its handler afterwards (Python runs handlers between bytecodes); an inactive handler
    # must neither raise nor re-arm a timer, or the re-armed signal would find the default handler
    # restored and end the process.
    active = True

    def on_cpu(signum, frame):
        if not active:
            return
        used = time.thread_time() - start
        if used >= cpu_seconds:
            signal.setitimer(signal.ITIMER_PROF, _RERAISE_S)
            raise CpuTimeout(f"{used:.2f} s of CPU")
        # the process's clock ran ahead of the thread's (other threads' work): wait for the rest
        signal.setitimer(signal.ITIMER_PROF, max(cpu_seconds - used, 0.001))

    last_look = [start]

    def on_wall(signum, frame):
        if not active:
            return
        now = time.thread_time()
        if now - last_look[0] >= _PROGRESS_S:  # working, however slowly: the CPU budget is its limit
            last_look[0] = now
            signal.setitimer(signal.ITIMER_REAL, wall_seconds)
            return
        signal.setitimer(signal.ITIMER_REAL, _RERAISE_S)
        raise WallTimeout(f"no progress in {wall_seconds:g} s of wall-clock time")

    previous_cpu = signal.signal(signal.SIGPROF, on_cpu) if cpu_on else None
    previous_wall = signal.signal(signal.SIGALRM, on_wall) if wall_on else None
    if cpu_on:
        signal.setitimer(signal.ITIMER_PROF, cpu_seconds)
    if wall_on:
        signal.setitimer(signal.ITIMER_REAL, wall_seconds)
    try:
        yield True
    finally:
        active = False
        # disarm before restoring the handlers: a signal with no handler of ours would end the process
        if cpu_on:
            signal.setitimer(signal.ITIMER_PROF, 0)
            signal.signal(signal.SIGPROF, previous_cpu if previous_cpu is not None else signal.SIG_DFL)
        if wall_on:
            signal.setitimer(signal.ITIMER_REAL, 0)
            signal.signal(signal.SIGALRM, previous_wall if previous_wall is not None else signal.SIG_DFL)
