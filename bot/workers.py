"""Batch work over forked worker processes, results in input order.

    for result in ordered_map(lambda: input_items(paths), diagnose_and_render, jobs=4): ...

Each worker enumerates the same items (the enumeration is cheap and deterministic: a sorted
directory walk, mbox offsets) and does every `jobs`-th of them, so nothing but results crosses a
pipe. The parent enumerates too, reads item i from worker i % jobs and yields in input order;
pipes give back-pressure, so memory stays bounded by the pipe buffers. Each result carries its
item's key (a path), so a worker that enumerated something else (a directory that changed in
between) is noticed. When a worker is gone (it crashed, was killed, or is out of step), the parent
does that worker's remaining items itself: nothing is lost or repeated, and an error the work
raises shows up exactly as in a serial run.

Fork after everything the work needs is loaded, so that workers share it copy-on-write.
"""

from __future__ import annotations

import contextlib
import os
import signal
import struct
import sys
from collections.abc import Callable, Generator, Iterable
from dataclasses import dataclass
from typing import Any, BinaryIO, Generic, TypeVar

_T = TypeVar("_T")
_HEADER = struct.Struct("<?II")  # ok flag, key length, payload length
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
    key: Callable[[_T], str] = str,
) -> Generator[tuple[bool, str], None, None]:
    """work(item) for every item of make_items(), in order, over `jobs` worker processes;
    `key(item)` names an item the same way in every process."""
    if jobs <= 1 or not can_fork():
        yield from map(work, make_items())
        return
    for stream in (sys.stdout, sys.stderr):  # nothing buffered may be written twice
        with contextlib.suppress(ValueError, OSError):
            stream.flush()
    task = _Task(make_items, work, key, jobs)
    workers: list[_Worker] = []
    for slot in range(jobs):
        workers.append(_Worker.start(task, slot, [w.fileno for w in workers]))
    try:
        for index, item in enumerate(make_items()):
            result = workers[index % jobs].result(key(item))
            yield result if result is not None else work(item)
    finally:
        for worker in workers:
            worker.stop()


@dataclass(frozen=True)
class _Task(Generic[_T]):
    make_items: Callable[[], Iterable[_T]]
    work: Callable[[_T], tuple[bool, str]]
    key: Callable[[_T], str]
    jobs: int


class _Worker:
    def __init__(self, pid: int, pipe: BinaryIO) -> None:
        self.pid = pid
        self.pipe: BinaryIO | None = pipe
        self.fileno = pipe.fileno()

    @classmethod
    def start(cls, task: _Task[Any], slot: int, inherited: list[int]) -> _Worker:
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the worker: never returns
            for fd in (read_end, *inherited):  # the parent's ends of the other workers' pipes
                os.close(fd)
            _serve(task, slot, write_end)
        os.close(write_end)
        return cls(pid, os.fdopen(read_end, "rb"))

    def result(self, expected: str) -> tuple[bool, str] | None:
        """The worker's result for the item named `expected`; None when the worker is gone or
        sent another item's (it is stopped then)."""
        if self.pipe is None:
            return None
        header = self.pipe.read(_HEADER.size)
        if len(header) == _HEADER.size:
            ok, key_length, length = _HEADER.unpack(header)
            key = self.pipe.read(key_length)
            payload = self.pipe.read(length)
            if len(payload) == length and key == _encode(expected):
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


def _encode(text: str) -> bytes:
    return text.encode("utf-8", "surrogatepass")


def _serve(task: _Task[Any], slot: int, fd: int) -> None:
    code = 0
    try:
        signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
        with os.fdopen(fd, "wb") as pipe:
            for index, item in enumerate(task.make_items()):
                if index % task.jobs == slot:
                    ok, text = task.work(item)
                    key, payload = _encode(task.key(item)), _encode(text)
                    pipe.write(_HEADER.pack(ok, len(key), len(payload)) + key + payload)
                    pipe.flush()
    except BaseException:  # the parent redoes the item, and reports its error as a serial run would
        code = 1
    os._exit(code)  # no atexit handlers, no flushing of the parent's inherited buffers
