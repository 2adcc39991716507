"""Watch until fixed: re-probe every MAILFLOW_WATCH_INTERVAL for at most 24 h (MAILFLOW_WATCH_MAX
may shorten it), keep one status message up to date, and when the error findings clear post
"fixed after 3 min" (or "in under a minute") in its thread; when the time is up, say so in the
thread and stop.

Watches live in the store; `resume_all` restarts the active ones after a restart of the app.
"""

from __future__ import annotations

import asyncio
import logging
import time
from datetime import UTC, datetime

from bot.render import blocks, replies
from bot.render.blocks import Message
from bot.settings import DEFAULT_WATCH_INTERVAL, DEFAULT_WATCH_MAX
from bot.slack.checks import error_ids, run_to_end
from bot.slack.engines import CheckResult, CheckSpec, Engines
from bot.slack.poster import CannotPostError, Poster, Where
from bot.slack.store import Store, Watch, WatchState
from bot.slack.tasks import TaskRegistry

log = logging.getLogger("mailflow.watches")

WATCH_DURATION = DEFAULT_WATCH_MAX


def watch_key(watch_id: int) -> str:
    return f"watch:{watch_id}"


class WatchManager:
    def __init__(
        self,
        engines: Engines,
        poster: Poster,
        store: Store,
        tasks: TaskRegistry,
        *,
        interval: float = DEFAULT_WATCH_INTERVAL,
        max_duration: float = WATCH_DURATION,
    ) -> None:
        self._engines = engines
        self._poster = poster
        self._store = store
        self._tasks = tasks
        self._interval = interval
        self._max_duration = max_duration

    async def start(self, where: Where, spec: CheckSpec) -> Message:
        """Start watching; returns the answer for the user."""
        for active in await self._store.active_watches(where.channel):
            if active.label == spec.label:
                return replies.already_watching(spec.label)
        watch_id = await self._store.add_watch(
            channel=where.channel,
            user=where.user,
            label=spec.label,
            spec=spec.to_json(),
            duration=self._max_duration,
            thread_ts=where.thread_ts,
        )
        status = self._status(spec.label, time.time(), 0, "first check running…", watch_id)
        try:
            ts = await self._poster.post(where.channel, status, where.thread_ts)
        except CannotPostError:
            await self._store.end_watch(watch_id, WatchState.STOPPED, "cannot post in channel")
            raise
        await self._store.set_watch_message(watch_id, ts)
        watch = await self._store.watch(watch_id)
        assert watch is not None
        self._spawn(watch)
        return replies.watch_started(spec.label)

    async def resume_all(self) -> int:
        watches = await self._store.active_watches()
        for watch in watches:
            self._spawn(watch)
        if watches:
            log.info("resumed %d watches", len(watches))
        return len(watches)

    async def stop(self, channel: str, label_or_target: str) -> Watch | None:
        for watch in await self._store.active_watches(channel):
            spec = CheckSpec.from_json(watch.spec)
            names = {watch.label, spec.target, f"host={spec.target}" if spec.host_mode else ""}
            if label_or_target in names:
                await self.stop_watch(watch, by="stopped by request")
                return watch
        return None

    async def stop_id(self, watch_id: int) -> Watch | None:
        watch = await self._store.watch(watch_id)
        if watch is None or watch.state is not WatchState.ACTIVE:
            return None
        await self.stop_watch(watch, by="stopped by request")
        return watch

    async def stop_watch(self, watch: Watch, by: str) -> None:
        """End the watch now; the status message is updated in the background."""
        if await self._store.end_watch(watch.id, WatchState.STOPPED, by):
            self._tasks.cancel_key(watch_key(watch.id))
            if watch.message_ts:
                update = self._poster.update(
                    watch.channel, watch.message_ts, blocks.watch_stopped_message(watch.label)
                )
                self._tasks.spawn(update, name=f"watch stopped {watch.label}")

    def _spawn(self, watch: Watch) -> None:
        where = Where(watch.channel, watch.user_id)

        async def report(exc: BaseException) -> None:
            await self._store.end_watch(
                watch.id, WatchState.STOPPED, f"failed: {type(exc).__name__}"
            )
            message = blocks.parent_failed_message(watch.label, type(exc).__name__)
            await self._poster.tell(
                Where(where.channel, where.user, thread_ts=watch.reply_thread), message
            )

        self._tasks.spawn(
            self._loop(watch), name=f"watch {watch.label}", key=watch_key(watch.id), on_error=report
        )

    async def _loop(self, watch: Watch) -> None:
        spec = CheckSpec.from_json(watch.spec)
        baseline = list(watch.baseline)
        errors = baseline
        checks = watch.checks
        while time.time() < watch.expires_at:
            result = await run_to_end(self._engines, spec)
            errors = error_ids(result)
            checks += 1
            if checks == 1 and not baseline:
                baseline = errors
                await self._store.watch_checked(watch.id, baseline)
            else:
                await self._store.watch_checked(watch.id)
            if not errors:
                await self._fixed(watch, baseline, result)
                return
            last = f"{result.verdict.counts.text} ({', '.join(errors)[:300]})"
            await self._update_status(watch, checks, last)
            # Never sleep past the end: the last check happens before the time is up.
            await asyncio.sleep(min(self._interval, max(0.0, watch.expires_at - time.time())))
        await self._expired(watch, errors)

    async def _expired(self, watch: Watch, errors: list[str]) -> None:
        """The maximum watch time is over and errors remain: say so in the thread, stop."""
        limit = blocks.duration_text(watch.expires_at - watch.started_at)
        outcome = f"still failing after {limit}"
        if not await self._store.end_watch(watch.id, WatchState.EXPIRED, outcome):
            return  # stopped meanwhile
        if watch.message_ts:
            ended = blocks.watch_ended_message(watch.label, outcome, ok=False)
            await self._poster.update(watch.channel, watch.message_ts, ended)
        thread = Where(watch.channel, watch.user_id, thread_ts=watch.reply_thread)
        await self._poster.tell(thread, blocks.watch_expired_message(watch.label, limit, errors))

    async def _fixed(self, watch: Watch, baseline: list[str], result: CheckResult) -> None:
        took = time.time() - watch.started_at
        remaining = sorted({f.id for f in result.findings})
        outcome = (
            f"fixed {blocks.elapsed_text(took)}" if baseline else "no errors at the first check"
        )
        if not await self._store.end_watch(watch.id, WatchState.FIXED, outcome):
            return  # stopped meanwhile
        if baseline:
            message = blocks.fixed_message(watch.label, took, baseline, remaining, result.evidence)
        else:
            message = blocks.nothing_to_watch_message(watch.label)
        thread = Where(watch.channel, watch.user_id, thread_ts=watch.reply_thread)
        await self._poster.tell(thread, message)
        if watch.message_ts:
            ended = blocks.watch_ended_message(watch.label, outcome)
            await self._poster.update(watch.channel, watch.message_ts, ended)

    async def _update_status(self, watch: Watch, checks: int, last: str) -> None:
        if watch.message_ts:
            status = self._status(watch.label, watch.started_at, checks, last, watch.id)
            await self._poster.update(watch.channel, watch.message_ts, status)

    @staticmethod
    def _status(label: str, started: float, checks: int, last: str, watch_id: int) -> Message:
        base = blocks.watch_status_message(
            label, datetime.fromtimestamp(started, UTC), checks, last
        )
        return Message(base.text, (*base.blocks, blocks.watch_stop_button(label, watch_id)))
