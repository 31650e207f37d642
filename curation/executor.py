"""Where tasks run: on Ray (the default; embedded, or a cluster) or in this process (``--executor local``).

The task code is the same either way: a plain function and its arguments. The local executor runs
one task at a time in the calling process, so a debugger stops inside a step and unit tests need no
Ray; Ray runs one task per CPU of the cluster and re-runs a task whose worker died
(``TASK_RETRIES`` times). Both give the same shards, since every task's output depends only on its
input and settings.
"""

from __future__ import annotations

import atexit
import contextlib
import logging
import os
import socket
import time
from abc import ABC, abstractmethod
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from curation.errors import CurationError

log = logging.getLogger(__name__)

TASK_RETRIES = 3  # Ray re-runs a task whose worker died, at most this many times
EXECUTORS = ("ray", "local")
# An embedded Ray's processes try to connect to each other's sockets every 50 ms until they answer,
# for 10 s in all, as Ray's defaults allow (1000 ms, 10 attempts). With the defaults, the raylet's
# object manager, which connects to the object store the raylet has just started in a thread, slept
# a whole second whenever the store was not yet listening: in 36 of 113 starts on 2 cores (its log
# shows the gap between "create_and_mmap_buffer" and "ObjectManager server started"). That connect
# makes 300 attempts whatever the setting: 15 s at 50 ms before the raylet gives up.
PROMPT_CONNECT = {"raylet_client_connect_timeout_milliseconds": 50, "raylet_client_num_connect_attempts": 200}


class Executor(ABC):
    """Runs ``fn(*args)`` somewhere and hands back results as they finish."""

    name: str

    @abstractmethod
    def slots(self) -> int:
        """How many tasks may run at once."""

    @abstractmethod
    def submit(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> Any:
        """Start ``fn(*args)``; return a handle. ``name`` labels the task (Ray shows it as the worker's
        process title, ``ray::<name>``)."""

    @abstractmethod
    def next_done(self, handles: list[Any]) -> Any:
        """Block until one of ``handles`` has finished; return it."""

    @abstractmethod
    def result(self, handle: Any) -> Any:
        """The return value of a finished task; raises what the task (or its dead worker) raised."""


class LocalExecutor(Executor):
    """One task at a time, in this process, in the order submitted."""

    name = "local"

    def __init__(self) -> None:
        self._queue: deque[int] = deque()
        self._calls: dict[int, tuple[Callable[..., Any], tuple]] = {}
        self._results: dict[int, tuple[bool, Any]] = {}
        self._next = 0

    def slots(self) -> int:
        return 1

    def submit(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> int:
        handle = self._next
        self._next += 1
        self._calls[handle] = (fn, args)
        self._queue.append(handle)
        return handle

    def next_done(self, handles: list[Any]) -> int:
        for h in handles:
            if h in self._results:
                return h
        while self._queue:  # run in submission order until one of the handles is done
            h = self._queue.popleft()
            fn, args = self._calls.pop(h)
            try:
                self._results[h] = (True, fn(*args))
            except Exception as e:  # noqa: BLE001 - handed to whoever asks for the result
                self._results[h] = (False, e)
            if h in handles:
                return h
        raise ValueError("none of these handles was submitted to this executor")

    def result(self, handle: int) -> Any:
        ok, value = self._results.pop(handle)
        if not ok:
            raise value
        return value


def _call(fn: Callable[..., Any], *args: Any) -> Any:
    return fn(*args)


class RayExecutor(Executor):
    """Tasks on Ray, one CPU each: embedded (``workers`` CPUs, default all) or the cluster at ``address``.

    ``warm_up`` (a function and its arguments) is sent once to each worker slot as soon as Ray is up,
    so workers load models and lists while the driver still plans, before the first shard arrives.
    """

    name = "ray"

    def __init__(self, address: str | None = None, workers: int | None = None,
                 warm_up: tuple[Callable[..., Any], tuple] | None = None):
        import ray

        connect_ray(address, workers)
        self._ray = ray
        self._remote = ray.remote(num_cpus=1, max_retries=TASK_RETRIES)(_call)
        self._workers = workers
        if warm_up is not None:
            fn, args = warm_up
            for _ in range(self.slots()):
                self._remote.options(name="warm_up").remote(fn, *args)  # nobody waits: a failure shows in the first shard

    def slots(self) -> int:
        return self._workers or max(int(self._ray.cluster_resources().get("CPU", 1)), 1)

    def submit(self, fn: Callable[..., Any], *args: Any, name: str | None = None) -> Any:
        remote = self._remote.options(name=name) if name else self._remote
        return remote.remote(fn, *args)

    def next_done(self, handles: list[Any]) -> Any:
        ready, _ = self._ray.wait(handles, num_returns=1)
        return ready[0]

    def result(self, handle: Any) -> Any:
        return self._ray.get(handle)


def make_executor(kind: str = "ray", address: str | None = None, workers: int | None = None,
                  warm_up: tuple[Callable[..., Any], tuple] | None = None) -> Executor:
    """An executor by name; ``warm_up`` runs on each Ray worker slot as soon as Ray is up (the local
    executor loads resources on first use)."""
    if kind == "local":
        if address:
            raise CurationError("--executor local runs in this process: it takes no --ray-address")
        return LocalExecutor()
    if kind == "ray":
        return RayExecutor(address, workers, warm_up)
    raise CurationError(f"unknown executor {kind!r}; choose one of {', '.join(EXECUTORS)}")


def connect_ray(address: str | None, workers: int | None) -> None:
    """Attach to ``address`` (or RAY_ADDRESS), else start an embedded Ray with ``workers`` CPUs."""
    import ray

    if ray.is_initialized():
        return
    # Without this an embedded ray.init() writes ~/.ray/auth_token, and later clusters turn auth on.
    os.environ.setdefault("RAY_AUTH_MODE", "disabled")
    address = address or os.environ.get("RAY_ADDRESS") or None
    # The driver's environment does not reach tasks on an existing cluster: pass what they need. An
    # embedded Ray's workers inherit it, and a runtime_env there would cost a second start of every
    # worker (the ones Ray starts ahead have none): about 1 s before the first task (Ray 2.60, 2 cores).
    env_vars = {k: v for k, v in os.environ.items() if k.startswith(("AWS_", "CURATION_"))}
    kwargs: dict[str, Any] = {"runtime_env": {"env_vars": env_vars}} if env_vars and address else {}
    if address:
        _check_answers(address)
    try:
        if address:
            ray.init(address=address, logging_level=logging.WARNING, **kwargs)
        else:
            with _without_unused_head_processes(), _prompt_node_wait():
                ray.init(
                    num_cpus=workers or os.cpu_count(),
                    include_dashboard=False,
                    logging_level=logging.WARNING,
                    object_store_memory=300 * 1024 * 1024,  # shards travel as files, not objects
                    log_to_driver=False,  # no log monitor: tasks hand back their warnings (curation.tasks)
                    _system_config=dict(PROMPT_CONNECT),  # a copy: Ray adds its spilling settings to the one it gets
                    **kwargs,
                )
            atexit.register(stop_embedded_ray)  # runs before Ray's own exit hook (registered earlier)
    except Exception as e:
        where = f"the Ray cluster at {address}" if address else "an embedded Ray"
        raise CurationError(f"could not start or reach {where}: {e} (check --ray-address / RAY_ADDRESS)") from None


# The head processes an embedded Ray starts that nothing here uses (``Node`` methods of Ray 2.60).
UNUSED_HEAD_PROCESSES = ("start_api_server", "start_monitor", "start_log_monitor")


@contextlib.contextmanager
def _without_unused_head_processes() -> Iterator[None]:
    """Start an embedded Ray without its API server, its autoscaler monitor and its log monitor.

    With ``include_dashboard=False`` Ray 2.60 still starts its dashboard process (for the job and
    state APIs and usage statistics), and ``ray.init`` waits for it to answer before it starts the
    raylet: 1-2 s of every run's start on 2 cores, where that Python process also competes for the
    CPUs with the raylet's own start. Ray runs without it when it fails to start; this takes that
    path without the wait. The autoscaler monitor (what ``ray start --no-monitor`` leaves out) has
    nothing to scale on one fixed node and costs 0.6 CPU-s while workers start. The log monitor
    (0.7-0.85 CPU-s of every run, most of it while Ray starts) tails the workers' log files to
    print them on the driver: what our steps log at WARNING or above comes back with each task's
    result instead (``curation.tasks``), and the rest of a worker's output stays in Ray's session
    logs (``/tmp/ray/session_latest/logs``; ``--executor local`` prints everything). Users who want
    Ray's dashboard, state API, autoscaler or log forwarding run a cluster (``RAY_ADDRESS``). Ray's
    methods are back once ``ray.init`` returns; should its internals differ, Ray starts as it
    always does.
    """
    try:
        from ray._private.node import Node

        originals = {name: getattr(Node, name) for name in UNUSED_HEAD_PROCESSES}
    except (ImportError, AttributeError):
        yield
        return
    for name in originals:
        setattr(Node, name, lambda self, *args, **kwargs: None)
    try:
        yield
    finally:
        for name, method in originals.items():
            setattr(Node, name, method)


@contextlib.contextmanager
def _prompt_node_wait() -> Iterator[None]:
    """Let an embedded ``ray.init`` go on as soon as its raylet has registered with the GCS.

    Ray 2.60 asks the GCS for the new node through a call that, while the node is missing, sleeps
    a whole second before it asks again; the raylet registers after its agents have started,
    1-2 s in on 2 cores, so ``ray.init`` idled 0.5 s on average and up to 1 s with the CPUs free
    (measured: 3.2 s against 2.7 s, five alternating starts). Here the node table is read every
    20 ms first, then Ray's own call finds the node at once. Should Ray's internals differ, or
    the table not answer, Ray waits as it always does.
    """
    try:
        import ray._private.services as services
        from ray._private.state import GlobalState

        original = services.get_node
        options = services._get_gcs_client_options
    except (ImportError, AttributeError):
        yield
        return

    def get_node(gcs_address: str, node_id: str, *args: Any, **kwargs: Any) -> Any:
        with contextlib.suppress(Exception):
            state = GlobalState()
            state._initialize_global_state(options(gcs_address))
            try:
                deadline = time.monotonic() + 10  # then Ray's own wait, should the raylet be slow or gone
                while time.monotonic() < deadline and not any(
                    n.get("NodeID") == node_id and n.get("Alive") for n in state.node_table()
                ):
                    time.sleep(0.02)
            finally:
                state.disconnect()
        return original(gcs_address, node_id, *args, **kwargs)

    services.get_node = get_node
    try:
        yield
    finally:
        services.get_node = original


def stop_embedded_ray() -> None:
    """``ray.shutdown()`` for the Ray this process started, without two waits that added 1.5-2 s to
    the exit of every run (measured with Ray 2.60 on 2 cores): Ray's exit hook sleeps 0.5 s before
    shutting down, and its autoscaler monitor takes 0.6-1 s to answer SIGTERM, after which Ray kills
    it anyway. The monitor holds nothing in an embedded single-node Ray: it is killed at once;
    the raylet, GCS and the rest stop as ``ray.shutdown()`` stops them (each within ~0.1 s)."""
    import ray

    if not ray.is_initialized():
        return
    try:
        from ray._private import ray_constants
        from ray._private import worker as ray_worker

        node = ray_worker._global_node
        monitors = node.all_processes.get(ray_constants.PROCESS_TYPE_MONITOR, []) if node is not None and node.is_head() else []
        for info in monitors:
            info.process.kill()
            info.process.wait(timeout=5)
    except Exception:  # noqa: BLE001 - Ray's internals moved: the plain shutdown below still stops everything
        pass
    ray.shutdown()


def _check_answers(address: str, timeout: float = 5.0) -> None:
    """Fail in seconds, not minutes, when nothing listens at a Ray address (ray.init retries long)."""
    hostport = address.split("://", 1)[-1]
    host, _, port = hostport.rpartition(":")
    if not host or not port.isdigit():
        return  # "auto" and other forms are Ray's to resolve
    try:
        socket.create_connection((host, int(port)), timeout=timeout).close()
    except OSError as e:
        raise CurationError(f"no Ray cluster answers at {address} ({e}); start one with `ray start --head` or fix --ray-address / RAY_ADDRESS") from None
