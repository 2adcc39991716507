"""Batch work over forked worker processes, results in input order.

    for result in ordered_map(lambda: input_items(paths), diagnose_and_render, jobs=4): ...

Each worker enumerates the same items (the enumeration is cheap and deterministic: a sorted
directory walk, mbox offsets) and does every `jobs`-th of them, so nothing but results crosses a
pipe. The parent enumerates too, reads item i from worker i % jobs and yields in input order;
pipes give back-pressure, so memory stays bounded by the pipe buffers. When a worker is gone
(it crashed or was killed), the parent does that worker's remaining items itself: nothing is
lost, and an error the work raises shows up exactly as in a serial run.

Fork after everything the work needs is loaded, so that workers share it copy-on-write.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import sys
from collections.abc import Callable, Generator, Iterable
from typing import BinaryIO, TypeVar

_T = TypeVar("_T")
_HEADER = struct.Struct("<?I")  # ok flag, payload length
MAX_JOBS = 16


def default_jobs() -> int:
    """The CPUs this process may run on, at most MAX_JOBS."""
    try:
        count = len(os.sched_getaffinity(0))
    except (AttributeError, OSError):
        count = os.cpu_count() or 1
    return max(1, min(count, MAX_JOBS))


def can_fork() -> bool:
    return hasattr(os, "fork") and sys.platform != "win32"


def ordered_map(
    make_items: Callable[[], Iterable[_T]],
    work: Callable[[_T], tuple[bool, str]],
    jobs: int,
) -> Generator[tuple[bool, str], None, None]:
    """work(item) for every item of make_items(), in order, over `jobs` worker processes."""
    if jobs <= 1 or not can_fork():
        yield from map(work, make_items())
        return
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        with contextlib.suppress(ValueError, OSError):
            stream.flush()
    workers = [_Worker.start(make_items, work, slot, jobs) for slot in range(jobs)]
    try:
        for index, item in enumerate(make_items()):
            result = workers[index % jobs].result()
            yield result if result is not None else work(item)
    finally:
        for worker in workers:
            worker.stop()


class _Worker:
    def __init__(self, pid: int, pipe: BinaryIO) -> None:
        self.pid = pid
        self.pipe: BinaryIO | None = pipe

    @classmethod
    def start(
        cls,
        make_items: Callable[[], Iterable[_T]],
        work: Callable[[_T], tuple[bool, str]],
        slot: int,
        jobs: int,
    ) -> _Worker:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            os.close(read_end)
            _serve(make_items, work, slot, jobs, write_end)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "rb"))

    def result(self) -> tuple[bool, str] | None:
        """The worker's next result; None when it is gone."""
        if self.pipe is None:
            return None
        header = self.pipe.read(_HEADER.size)
        if len(header) == _HEADER.size:
            ok, length = _HEADER.unpack(header)
            payload = self.pipe.read(length)
            if len(payload) == length:
                return ok, payload.decode("utf-8", "surrogatepass")
        self.stop()
        return None

    def stop(self) -> None:
        if self.pipe is None:
            return
        self.pipe.close()
        self.pipe = None
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signal.SIGTERM)  # done already, or the consumer stopped early
        with contextlib.suppress(ChildProcessError):
            os.waitpid(self.pid, 0)


def _serve(
    make_items: Callable[[], Iterable[_T]],
    work: Callable[[_T], tuple[bool, str]],
    slot: int,
    jobs: int,
    fd: int,
) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        with os.fdopen(fd, "wb") as pipe:
            for index, item in enumerate(make_items()):
                if index % jobs == slot:
                    ok, text = work(item)
                    payload = text.encode("utf-8", "surrogatepass")
                    pipe.write(_HEADER.pack(ok, len(payload)) + payload)
                    pipe.flush()
    except BaseException:  # the parent redoes the item, and reports its error as a serial run would
        code = 1
    os._exit(code)  # no atexit handlers, no flushing of the parent's inherited buffers
