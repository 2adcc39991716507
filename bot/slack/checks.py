"""One live check as Slack shows it: a parent message kept up to date while addresses finish,
then the report in its thread (or via response_url when the bot cannot post there)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections import OrderedDict
from dataclasses import dataclass

from bot.core.evidence import CheckEvidence
from bot.core.models import Diagnosis, InputInfo, Severity
from bot.render import blocks, replies
from bot.render.blocks import Message
from bot.slack.cases import CaseFiles, probe_piece
from bot.slack.engines import CheckProgress, CheckResult, CheckSpec, Engines
from bot.slack.poster import CannotPostError, Poster, Where
from bot.slack.store import Store

log = logging.getLogger("mailflow.checks")

PROGRESS_EVERY = 1.0  # seconds between chat.update calls for progress
INTERRUPTED_UPDATE_S = 2.0  # within the task registry's 5 s shutdown grace
EVIDENCE_KEPT = 200  # recent checks whose evidence "Show evidence" can still show


@dataclass(frozen=True, slots=True)
class Kept:
    label: str
    evidence: CheckEvidence


class EvidenceCache:
    """The evidence of recent checks, for the "Show evidence" button (bounded, in memory)."""

    def __init__(self, size: int = EVIDENCE_KEPT) -> None:
        self._size = size
        self._items: OrderedDict[str, Kept] = OrderedDict()

    def put(self, key: str, kept: Kept) -> None:
        self._items[key] = kept
        self._items.move_to_end(key)
        while len(self._items) > self._size:
            self._items.popitem(last=False)

    def get(self, key: str) -> Kept | None:
        return self._items.get(key)


def status_word(result: CheckResult) -> str:
    return result.verdict.status_word


def error_ids(result: CheckResult) -> list[str]:
    return sorted({f.id for f in result.findings if f.severity is Severity.ERROR})


async def run_to_end(engines: Engines, spec: CheckSpec) -> CheckResult:
    result: CheckResult | None = None
    async for item in engines.check(spec):
        if not isinstance(item, CheckProgress):
            result = item
    if result is None:
        raise RuntimeError("the probe ended without a report")
    return result


async def run_recorded(
    engines: Engines, store: Store, where: Where, spec: CheckSpec
) -> CheckResult:
    """A check without messages (a workflow step), recorded in the store like every other check
    so that the channel's summary and the App Home list it."""
    check_id = await store.check_started(where.channel, where.user, spec.label, spec.to_json())
    try:
        result = await run_to_end(engines, spec)
    except asyncio.CancelledError:
        with contextlib.suppress(Exception):
            async with asyncio.timeout(INTERRUPTED_UPDATE_S):
                await store.check_finished(check_id, "cancelled", "")
        raise
    except Exception as exc:
        await store.check_finished(check_id, "failed", type(exc).__name__)
        raise
    await store.check_finished(check_id, status_word(result), result.verdict.counts.text)
    return result


class CheckRunner:
    def __init__(
        self,
        engines: Engines,
        poster: Poster,
        store: Store,
        evidence: EvidenceCache,
        cases: CaseFiles | None = None,
    ) -> None:
        self._engines = engines
        self._poster = poster
        self._store = store
        self._evidence = evidence
        self._cases = cases

    async def run(self, where: Where, spec: CheckSpec) -> CheckResult | None:
        label = spec.label
        check_id = await self._store.check_started(where.channel, where.user, label, spec.to_json())
        parent_ts = await self._post_parent(where, blocks.progress_message(label, 0, None))
        try:
            result = await self._probe(where, spec, parent_ts)
        except asyncio.CancelledError:
            # Shutdown (a deploy): do not leave "Checking… 0/2" in the channel for ever.
            with contextlib.suppress(Exception):
                async with asyncio.timeout(INTERRUPTED_UPDATE_S):
                    await self._store.check_finished(check_id, "cancelled", "")
                    if parent_ts is not None:
                        message = blocks.parent_interrupted_message(label, spec.to_json())
                        await self._poster.update(where.channel, parent_ts, message)
            raise
        except Exception as exc:
            log.exception("check of %s failed", label)
            await self._store.check_finished(check_id, "failed", type(exc).__name__)
            await self._report_failure(where, parent_ts, label, exc)
            return None
        self._evidence.put(str(check_id), Kept(label, result.evidence))
        messages = blocks.check_report_messages(
            label,
            result.evidence,
            result.findings,
            result.elapsed_ms,
            verdict=result.verdict,
            spec_value=spec.to_json(),
            evidence_value=str(check_id),
        )
        if parent_ts is not None:
            done = blocks.parent_done_message(label, result.findings, result.elapsed_ms)
            await self._poster.update(where.channel, parent_ts, done)
            # In a thread already (a button in a thread): the whole exchange stays in it.
            await self._poster.post_all(where.channel, messages, where.thread_ts or parent_ts)
        else:
            await self._respond_all(where, messages)
        summary = result.verdict.counts.text
        await self._store.check_finished(check_id, status_word(result), summary)
        if where.thread_ts and parent_ts is not None and self._cases is not None:
            await self._join_case(where, label, result)
        return result

    async def _join_case(self, where: Where, label: str, result: CheckResult) -> None:
        """A probe started in a thread joins the thread's case file; when the thread holds
        more, the whole case is judged again and the reply names the pieces."""
        assert self._cases is not None and where.thread_ts is not None
        nothing = Diagnosis(InputInfo("probe", 0), ())
        piece = ("probe", f"the probe of {label}", probe_piece(result))
        judged = await self._cases.judge(where.channel, where.thread_ts, piece, nothing, label)
        if not judged.together or not judged.diagnosis.recognised:
            return
        messages = blocks.diagnosis_messages(
            judged.diagnosis, source=judged.source, probe_value=_probe_value
        )
        await self._poster.post_all(where.channel, messages, where.thread_ts)

    async def _post_parent(self, where: Where, message: Message) -> str | None:
        try:
            return await self._poster.post(where.channel, message, where.thread_ts)
        except CannotPostError:
            if where.response_url is None:
                raise
            return None

    async def _probe(self, where: Where, spec: CheckSpec, parent_ts: str | None) -> CheckResult:
        result: CheckResult | None = None
        last_update = time.monotonic()
        async for item in self._engines.check(spec):
            if not isinstance(item, CheckProgress):
                result = item
                continue
            now = time.monotonic()
            if parent_ts is not None and now - last_update >= PROGRESS_EVERY:
                last_update = now
                message = blocks.progress_message(spec.label, item.done, item.total, item.note)
                await self._poster.update(where.channel, parent_ts, message)
        if result is None:
            raise RuntimeError("the probe ended without a report")
        return result

    async def _respond_all(self, where: Where, messages: list[Message]) -> None:
        assert where.response_url is not None
        hint = replies.invite_hint()
        for message in [hint, *messages]:
            await self._poster.respond(where.response_url, message)

    async def _report_failure(
        self, where: Where, parent_ts: str | None, label: str, exc: Exception
    ) -> None:
        message = blocks.parent_failed_message(label, _user_facing(exc))
        if parent_ts is not None:
            await self._poster.update(where.channel, parent_ts, message)
        else:
            await self._poster.tell(where, message)


def _probe_value(host: str) -> str:
    return CheckSpec(host, host_mode=True, expected_names=(host,)).to_json()


def _user_facing(exc: BaseException) -> str:
    """A short reason for the user; details stay in the log."""
    if isinstance(exc, TimeoutError):
        return "the probe timed out"
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:200] if text else type(exc).__name__
