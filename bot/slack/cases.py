"""The incident case file: every paste, upload and probe in one thread is one case.

Each new diagnosis in a thread is made over everything the thread gathered so far (EX01's dump,
then EX02's, then a message trace, then a probe started from the thread) and says which pieces
it used. Pieces live in the store per channel and thread (bot.slack.store: bounded, pruned with
the rest of the history); a piece is kept only when it was recognised on its own (ordinary chat
in the thread is not evidence). Slash commands carry no thread: a probe joins a case through the
reply's Probe button or a mention in the thread (`@mailflow check contoso.com`).
"""

from __future__ import annotations

import asyncio
import json
import logging
import sqlite3
from dataclasses import dataclass

from bot.core.models import Diagnosis
from bot.render.jsonout import host_to_json
from bot.slack.engines import CheckResult, Engines
from bot.slack.store import CasePiece, Store

log = logging.getLogger("mailflow.cases")

MAX_LABELS = 6  # pieces named in a reply; the rest are counted


@dataclass(frozen=True, slots=True)
class Judged:
    diagnosis: Diagnosis
    source: str  # what the reply says it judged
    together: bool = False  # judged with earlier pieces of the thread


class CaseFiles:
    def __init__(self, store: Store, engines: Engines) -> None:
        self._store = store
        self._engines = engines

    async def judge(
        self,
        channel: str,
        thread_ts: str | None,
        piece: tuple[str, str, bytes],
        alone: Diagnosis,
        source: str,
    ) -> Judged:
        """Add `piece` (kind, label, content) to the thread's case file and judge the whole
        file; without a thread, or with only this piece, `alone` stands."""
        if thread_ts is None or (not alone.recognised and piece[0] != "probe"):
            return Judged(alone, source)
        kind, label, content = piece
        try:
            pieces = await self._store.add_case_piece(channel, thread_ts, kind, label, content)
        except (sqlite3.Error, RuntimeError):
            log.exception("could not add to the case file of %s/%s", channel, thread_ts)
            return Judged(alone, source)
        if len(pieces) < 2:
            return Judged(alone, source)
        inputs = [(p.kind, p.content) for p in pieces]
        diagnosis = await asyncio.to_thread(self._engines.diagnose_case, inputs)
        return Judged(diagnosis, case_source(pieces), together=True)


def case_source(pieces: list[CasePiece]) -> str:
    """ "this thread's case file (4 pieces: a paste, the file ex02.txt, ...)"."""
    labels = [p.label for p in pieces[:MAX_LABELS]]
    if len(pieces) > MAX_LABELS:
        labels.append(f"{len(pieces) - MAX_LABELS} more")
    return f"this thread's case file ({len(pieces)} pieces judged together: {', '.join(labels)})"


def probe_piece(result: CheckResult) -> bytes:
    """What a probe adds to the case: the addresses and the certificates they presented, in
    the layout of `mailflow check --json` (which the configuration reader understands)."""
    evidence = result.evidence
    document = {
        "target": evidence.target,
        "mx": [host_to_json(host, result.verdict) for host in evidence.hosts],
    }
    return json.dumps(document, ensure_ascii=True).encode("ascii")
