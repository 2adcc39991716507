"""Our own registry of background jobs (checks, watches, file diagnoses).

Bolt does not keep references to the tasks it starts, and a task nobody references can be
garbage-collected mid-flight. Every long job is started here: the registry holds a strong
reference until the job ends, logs its exception, lets the job tell the user what went wrong,
and cancels everything cleanly on shutdown.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

log = logging.getLogger("mailflow.tasks")

ErrorReporter = Callable[[BaseException], Awaitable[None]]


class TaskRegistry:
    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[Any]] = set()
        self._keys: dict[str, asyncio.Task[Any]] = {}
        self._jobs: dict[asyncio.Task[Any], Coroutine[Any, Any, Any]] = {}
        self._closing = False

    def __len__(self) -> int:
        return len(self._tasks)

    def running(self, key: str) -> bool:
        task = self._keys.get(key)
        return task is not None and not task.done()

    def spawn(
        self,
        job: Coroutine[Any, Any, Any],
        *,
        name: str,
        key: str | None = None,
        on_error: ErrorReporter | None = None,
    ) -> asyncio.Task[Any] | None:
        """Start `job`. With a `key`, refuse (return None) while a job with that key runs."""
        if self._closing or (key is not None and self.running(key)):
            job.close()
            return None
        task = asyncio.get_running_loop().create_task(self._guard(job, name, on_error), name=name)
        self._tasks.add(task)
        self._jobs[task] = job
        task.add_done_callback(self._done)
        if key is not None:
            self._keys[key] = task
            task.add_done_callback(lambda done: self._forget(key, done))
        return task

    def _done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        job = self._jobs.pop(task, None)
        if job is not None:
            job.close()  # a job cancelled before it ever ran must not warn "never awaited"

    def _forget(self, key: str, task: asyncio.Task[Any]) -> None:
        if self._keys.get(key) is task:
            del self._keys[key]

    def cancel_key(self, key: str) -> bool:
        task = self._keys.get(key)
        if task is None or task.done():
            return False
        task.cancel()
        return True

    @staticmethod
    async def _guard(
        job: Coroutine[Any, Any, Any], name: str, on_error: ErrorReporter | None
    ) -> None:
        try:
            await job
        except asyncio.CancelledError:
            raise
        except Exception as exc:
            log.exception("background job %s failed", name)
            if on_error is not None:
                try:
                    await on_error(exc)
                except Exception:
                    log.exception("could not report the failure of %s", name)

    async def aclose(self, timeout: float = 2.0) -> None:
        """Cancel every job and wait (bounded) for them to finish their cleanup."""
        self._closing = True
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        if tasks:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait(tasks, timeout=timeout)
