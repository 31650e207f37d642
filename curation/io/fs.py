"""Filesystem access through fsspec: local paths and s3:// alike, with retries and atomic writes.

A shard or marker is never visible half-written: it is written under a temporary name in the
same folder and renamed when complete (on S3, where rename is copy+delete, the completion marker
written afterwards is what makes a shard count as done).
"""

from __future__ import annotations

import asyncio
import logging
import os
import time
import uuid
from collections.abc import Callable
from typing import Any, BinaryIO

import fsspec
from fsspec.core import url_to_fs
from fsspec.implementations.local import LocalFileSystem

from curation.errors import InputError

log = logging.getLogger(__name__)

RETRY_STATUSES = {408, 429, 500, 502, 503, 504}
RETRY_S3_CODES = {"SlowDown", "Throttling", "ThrottlingException", "RequestTimeout", "InternalError", "ServiceUnavailable", "503"}
MAX_ATTEMPTS = 6
BACKOFF_BASE = float(os.environ.get("CURATION_BACKOFF_BASE", "0.5"))  # seconds; doubled each retry


def filesystem(url: str) -> tuple[fsspec.AbstractFileSystem, str]:
    """The fsspec filesystem for ``url`` and the path within it."""
    return url_to_fs(url)


def join(base: str, *parts: str) -> str:
    return "/".join([base.rstrip("/"), *[p.strip("/") for p in parts]])


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: throttling, server errors, dropped connections, timeouts."""
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    if isinstance(status, int) and status in RETRY_STATUSES:
        return True
    response = getattr(exc, "response", None)
    if isinstance(response, dict):  # botocore ClientError
        if response.get("Error", {}).get("Code") in RETRY_S3_CODES:
            return True
    text = str(exc)
    if any(code in text for code in ("SlowDown", "503 Service", "Too Many Requests", "Please reduce your request rate")):
        return True
    if isinstance(exc, FileNotFoundError) and exc.__cause__ is not None and exc.__cause__ is not exc:
        return is_transient(exc.__cause__)  # fsspec's HTTP info()/exists() report a connection error as "not found"
    if isinstance(exc, (FileNotFoundError, PermissionError, IsADirectoryError, NotADirectoryError)):
        return False
    return isinstance(exc, (ConnectionError, TimeoutError, asyncio.TimeoutError)) or type(exc).__name__ in {
        "ClientConnectionError",
        "ClientConnectorError",  # connection refused, host unreachable
        "ClientConnectorDNSError",  # the host name does not resolve (no network, a typo)
        "gaierror",
        "ClientPayloadError",
        "ServerDisconnectedError",
        "ServerTimeoutError",
        "ClientOSError",
        "EndpointConnectionError",
        "ReadTimeoutError",
        "IncompleteRead",
    }


def gave_up(what: str, e: BaseException, attempts: int, started: float) -> InputError:
    """The one-line error for a source that failed every attempt: it names the URL and the retries."""
    if isinstance(e, FileNotFoundError) and e.__cause__ is not None:
        e = e.__cause__
    return InputError(f"cannot read {what}: {type(e).__name__}: {e} (gave up after {attempts} attempts: {attempts - 1} retries over {time.monotonic() - started:.1f}s)")


def with_retries(fn: Callable[[], Any], what: str, on_retry: Callable[[], None] | None = None) -> Any:
    """Call ``fn``, retrying transient errors with exponential backoff; a transient error that
    outlasts every retry becomes an ``InputError`` naming ``what`` and the attempts made."""
    started = time.monotonic()
    for attempt in range(MAX_ATTEMPTS):
        try:
            return fn()
        except Exception as e:
            if not is_transient(e):
                raise
            if attempt == MAX_ATTEMPTS - 1:
                raise gave_up(what, e, MAX_ATTEMPTS, started) from e
            delay = BACKOFF_BASE * 2**attempt
            log.info("transient error on %s (%s); retry %d in %.1fs", what, e, attempt + 1, delay)  # the final error names the attempts
            if on_retry:
                on_retry()
            time.sleep(delay)
    raise AssertionError("unreachable")


class RetryingReader:
    """A read-only binary stream that reopens its source and resumes where it was on transient errors.

    ``on_retry`` is called once per retry, so the caller can count them in its statistics.
    """

    def __init__(self, url: str, on_retry: Callable[[], None] | None = None):
        self.url = url
        self.on_retry = on_retry
        self.pos = 0
        self._f: BinaryIO | None = None
        self._open()

    def _open(self) -> None:
        def opener():
            fs, path = filesystem(self.url)
            kwargs = {"block_size": 0} if self.url.startswith(("http://", "https://")) else {}
            f = fs.open(path, "rb", **kwargs)
            if self.pos:
                try:
                    f.seek(self.pos)
                except (OSError, ValueError):  # a non-seekable stream: read past what we had
                    left = self.pos
                    while left:
                        got = f.read(min(left, 1 << 20))
                        if not got:
                            raise ConnectionError(f"{self.url}: stream ended at {self.pos - left} while resuming at {self.pos}") from None
                        left -= len(got)
            return f

        self._f = with_retries(opener, self.url, self.on_retry)

    def read(self, n: int = -1) -> bytes:
        started = time.monotonic()
        for attempt in range(MAX_ATTEMPTS):
            try:
                data = self._f.read(n)
                self.pos += len(data)
                return data
            except Exception as e:
                if not is_transient(e):
                    raise
                if attempt == MAX_ATTEMPTS - 1:
                    raise gave_up(f"{self.url} at byte {self.pos}", e, MAX_ATTEMPTS, started) from e
                if self.on_retry:
                    self.on_retry()
                log.warning("transient error reading %s at byte %d (%s); reopening", self.url, self.pos, e)
                time.sleep(BACKOFF_BASE * 2**attempt)
                self.close()
                self._open()
        raise AssertionError("unreachable")

    def close(self) -> None:
        if self._f is not None:
            try:
                self._f.close()
            except Exception:  # closing a broken connection must not hide the real error
                pass
            self._f = None

    def __enter__(self) -> "RetryingReader":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _tmp_name(path: str) -> str:
    head, _, tail = path.rpartition("/")
    return f"{head}/.tmp-{uuid.uuid4().hex[:12]}-{tail}"


class AtomicFile:
    """A file written under a temporary name in its folder and renamed into place by ``commit``
    (``abort`` deletes it): a writer that streams rows in, such as a shard's, never leaves a
    half-written file under the final name."""

    def __init__(self, url: str):
        self.fs, self.path = filesystem(url)
        self.fs.makedirs(self.path.rpartition("/")[0], exist_ok=True)
        self.tmp = _tmp_name(self.path)
        self.file: BinaryIO = self.fs.open(self.tmp, "wb")

    def commit(self) -> None:
        try:
            self.file.close()
            if isinstance(self.fs, LocalFileSystem):
                os.replace(self.tmp, self.path)
            else:
                self.fs.mv(self.tmp, self.path)
        except BaseException:
            self.abort()
            raise

    def abort(self) -> None:
        try:
            self.file.close()
        except Exception:  # closing a broken stream must not hide the real error
            pass
        try:
            self.fs.rm(self.tmp)
        except Exception:  # the temporary file may not exist
            pass


def atomic_write(url: str, write: Callable[[BinaryIO], None]) -> None:
    """Write ``url`` through ``write(file)`` under a temporary name, then rename it into place."""
    target = AtomicFile(url)
    try:
        write(target.file)
    except BaseException:
        target.abort()
        raise
    target.commit()


def atomic_write_bytes(url: str, data: bytes) -> None:
    atomic_write(url, lambda f: f.write(data))


def read_bytes(url: str) -> bytes:
    fs, path = filesystem(url)
    return with_retries(lambda: fs.cat_file(path), url)


def exists(url: str) -> bool:
    fs, path = filesystem(url)
    return fs.exists(path)


def list_files(url: str, suffix: str) -> list[str]:
    """Full URLs of the files directly in folder ``url`` whose names end with ``suffix`` (sorted)."""
    fs, path = filesystem(url)
    try:
        fs.invalidate_cache(path)
    except Exception:  # not every filesystem caches listings
        pass
    if not fs.exists(path):
        return []
    names = [p for p in fs.ls(path, detail=False) if p.rsplit("/", 1)[-1].endswith(suffix) and not p.rsplit("/", 1)[-1].startswith(".")]
    return sorted(_unstrip(url, path, p) for p in names)


def _unstrip(url: str, path: str, found: str) -> str:
    """Re-attach the protocol that fsspec strips from listed paths."""
    if "://" in url:
        proto = url.split("://", 1)[0]
        return f"{proto}://{found.lstrip('/')}" if proto != "file" else found
    return found
