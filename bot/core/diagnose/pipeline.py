"""The diagnosis pipeline: decode -> readers -> enrich -> reasons -> causes -> playbooks.

    diagnosis = diagnose_bytes([data])            # or diagnose_text(pasted_text)

Pure: it takes bytes or text and returns a Diagnosis; reading files and talking to Slack happen
elsewhere. Memory stays bounded for inputs of any size (documents are windows of the input and
facts are folded into findings as they come).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from functools import cache

from bot.core.diagnose.causes import CauseBook, load_causes
from bot.core.diagnose.config import CaseObserver, case_facts, join_findings
from bot.core.diagnose.decode import Document, documents, text_documents
from bot.core.diagnose.enrich import MessageContext, enrich, prefer_status
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.findings import FindingBuilder
from bot.core.diagnose.mailbox_providers import load_mailbox_providers
from bot.core.diagnose.playbooks import Playbooks, load_playbooks
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.amazonses import load_spec as load_notification_spec
from bot.core.diagnose.readers.bounce import forwarded_bounces
from bot.core.diagnose.readers.exchange_config import ExchangeConfigReader
from bot.core.diagnose.readers.merge import merge_facts
from bot.core.diagnose.readers.message import message_context
from bot.core.diagnose.readers.mta import load_specs
from bot.core.diagnose.readers.registry import new_readers
from bot.core.diagnose.readers.webhooks import load_services as load_webhook_services
from bot.core.diagnose.reasons import ReasonBook, classify, load_reasons, provider_of
from bot.core.diagnose.sending_ip import load_sending_ip_patterns
from bot.core.models import Diagnosis, InputInfo

MAX_FACTS_PER_DOCUMENT = 200_000


@dataclass(frozen=True)
class Knowledge:
    """Everything the pipeline reads from config/, loaded and validated once."""

    reasons: ReasonBook
    causes: CauseBook
    playbooks: Playbooks


def load_knowledge() -> Knowledge:
    """Load and validate everything the diagnosis reads from config/ (raises ConfigError)."""
    load_specs()
    load_notification_spec()
    load_webhook_services()
    load_sending_ip_patterns()
    load_mailbox_providers()
    return Knowledge(load_reasons(), load_causes(), load_playbooks())


def diagnose_bytes(
    chunks: Iterable[bytes],
    size: Callable[[], int] | None = None,
    knowledge: Knowledge | None = None,
    prepare: Callable[[Document], None] | None = None,
) -> Diagnosis:
    """Diagnose an input given as byte chunks; `size` is asked for the byte count at the end.
    `prepare` sees each of the input's documents before the readers do (bot.scan_ahead gives
    them what another process derived from the same input)."""
    counted = _Counter(chunks)
    docs = documents(counted)
    if prepare is not None:
        docs = _prepared(docs, prepare)
    return _diagnose(docs, lambda: size() if size else counted.bytes, knowledge)


def _prepared(docs: Iterator[Document], prepare: Callable[[Document], None]) -> Iterator[Document]:
    for document in docs:
        prepare(document)
        yield document


def diagnose_case(
    inputs: Iterable[Iterable[bytes] | str], knowledge: Knowledge | None = None
) -> Diagnosis:
    """Several inputs judged as one case (`mailflow diagnose --together`, a Slack thread's
    incident case file): each is decoded on its own (a JSON file stays one JSON document), and
    all their facts meet in one set of findings. A str is a chat paste, bytes chunks a file."""
    counters: list[_Counter] = []
    texts = [0]

    def docs() -> Iterator[Document]:
        for item in inputs:
            if isinstance(item, str):
                texts[0] += len(item.encode("utf-8", "surrogatepass"))
                yield from text_documents(item)
            else:
                counter = _Counter(item)
                counters.append(counter)
                yield from documents(counter)

    return _diagnose(docs(), lambda: texts[0] + sum(c.bytes for c in counters), knowledge)


def diagnose_text(text: str, knowledge: Knowledge | None = None) -> Diagnosis:
    size = len(text.encode("utf-8", "surrogatepass"))
    return _diagnose(text_documents(text), lambda: size, knowledge)


def _diagnose(
    docs: Iterable[Document], size: Callable[[], int], knowledge: Knowledge | None
) -> Diagnosis:
    book = knowledge or load_knowledge()
    readers = new_readers()
    builder = FindingBuilder(book.causes, book.playbooks, book.reasons.descriptions)
    sources: dict[str, int] = {}
    kind = "empty"
    observer = CaseObserver()
    for document in _with_forwarded_bounces(docs):
        facts = _read(document, readers, sources)
        if document.index == 0:
            kind = _kind(document, sources)
        _judge(facts, document, book, builder, observer)
    held: list[Fact] = []
    for reader in readers:
        finished = reader.finish()
        if finished:
            sources.setdefault(reader.name, 1)
            held.extend(finished)
    _judge(merge_facts(held, sources), None, book, builder, observer)
    configured = _configuration(readers, observer)
    if configured:
        sources["exchange_config"] = 40
        _judge(configured, None, book, builder, None)
    findings = builder.findings()
    if configured:
        findings = join_findings(findings)
    if kind in ("empty", "text") and set(sources) - {"text"}:
        kind = _kind(None, sources)
    return Diagnosis(InputInfo(kind, size()), findings)


def _with_forwarded_bounces(docs: Iterable[Document]) -> Iterator[Document]:
    """Each document, then the bounces a message carries as forwarded attachments."""
    for document in docs:
        yield document
        if document.message is not None and document.index == 0:
            yield from forwarded_bounces(document)


def _read(document: Document, readers: list[Reader], sources: dict[str, int]) -> list[Fact]:
    claims: list[tuple[int, Reader, Document]] = []
    rest = document  # what the readers that do not own records read (see bot.core.diagnose.readers)
    for reader in readers:
        if reader.owns_records:
            score = reader.detect(document)
            if score > 0:
                claims.append((score, reader, document))
                rest = reader.foreign(rest)
    for reader in readers:
        if reader.owns_records or (reader.first_window_only and document.index > 0):
            continue
        if not rest.segments:
            break
        score = reader.detect(rest)
        if score > 0:
            claims.append((score, reader, rest))
    facts: list[Fact] = []
    scores: dict[str, int] = {}
    for score, reader, view in claims:
        found = reader.parse(view)
        if found:
            scores[reader.name] = score
            sources[reader.name] = max(score, sources.get(reader.name, 0))
            facts.extend(found[: MAX_FACTS_PER_DOCUMENT - len(facts)])
    merged = merge_facts(facts, scores)
    return [
        fact
        if fact.evidence or not fact.lines[0]
        else fact.with_(evidence=_evidence(document, fact))
        for fact in merged
    ]


_STATUS_CODE = re.compile(r"(?<![\d.])[245]\.\d{1,3}\.\d{1,3}(?![\d.])")
_EVIDENCE_TEXT = 4000  # characters of a fact's text searched for nested codes
_EVIDENCE_CODES = 5
_EVIDENCE_LINES = 3
_EVIDENCE_SCAN = 200  # lines of a long span looked at for the reply


def _evidence(document: Document, fact: Fact) -> tuple[tuple[int, str], ...]:
    """The lines a fact rests on: all of a short span; of a longer one, its first line (the
    recipient or the event) and the first lines that carry its code, else the next lines."""
    first, last = fact.lines
    if last - first < _EVIDENCE_LINES:
        return document.line_texts(first, last)
    lines = [
        line
        for line in document.line_texts(first, min(last, first + _EVIDENCE_SCAN), _EVIDENCE_SCAN)
        if line[1].strip()
    ]
    # its own codes and those of the replies nested in its text ("400 4.4.7 ... -> 451 4.7.320")
    nested = _STATUS_CODE.findall(fact.diagnostic[:_EVIDENCE_TEXT])[:_EVIDENCE_CODES]
    codes = list(dict.fromkeys(code for code in (fact.status, fact.reply_code, *nested) if code))
    coded = [line for line in lines[1:] if any(code in line[1] for code in codes)]
    chosen = lines[:1] + (coded or lines[1:])[: _EVIDENCE_LINES - 1]
    return tuple(sorted(chosen))


def _configuration(readers: list[Reader], observer: CaseObserver) -> list[Fact]:
    """The configuration cross-check over everything the case held (bot.core.diagnose.config)."""
    for reader in readers:
        if isinstance(reader, ExchangeConfigReader):
            return case_facts(reader.config, observer)
    return []


def _judge(
    facts: list[Fact],
    document: Document | None,
    book: Knowledge,
    builder: FindingBuilder,
    observer: CaseObserver | None,
) -> None:
    context: MessageContext | None = message_context(document) if document is not None else None
    for fact in facts:
        enriched = prefer_status(enrich(fact, context))
        if observer is not None:
            observer.see(enriched)
        provider = provider_of(enriched, book.reasons)
        if provider is not None:
            enriched = enriched.with_(provider=provider.name)
        elif (
            enriched.source in ("message_trace", "exchange_ndr") and _microsoft(enriched)
        ) or _EXCHANGE_COMPONENT.search(enriched.diagnostic[:4000]):
            enriched = enriched.with_(provider="microsoft")
        reason = classify(enriched, book.reasons)
        builder.add(enriched, reason)


def _microsoft(fact: Fact) -> bool:
    """A message trace or NDR that Exchange Online wrote (its codes follow Microsoft's table)."""
    if fact.source == "message_trace":
        return True
    name = fact.reporting_mta or ""
    return name.endswith((".outlook.com", ".outlook.cn"))


# The component codes only Exchange writes into its replies ("550 5.1.10
# RESOLVER.ADR.RecipientNotFound; ..."): the reply is Exchange's, wherever it was pasted from.
_EXCHANGE_COMPONENT = re.compile(
    r"(?=[RSQC])\b(?:RESOLVER|STOREDRV|SMTPSEND|SMTPSUBMIT|QUEUE|ROUTING|CAT)\.[A-Z][A-Za-z]{2,40}\b"
)


_LEGACY_KINDS = {
    "exchange_ndr": "ndr", "rfc3464": "dsn", "postfix_log": "postfix", "exim_log": "exim",
}  # fmt: skip


def _kind(document: Document | None, sources: dict[str, int]) -> str:
    if document is not None and document.is_message:
        return "dsn"
    if not sources:
        if document is not None and document.text.strip():
            return "text"
        return "empty"
    specific = {name: score for name, score in sources.items() if name != "text"}
    top = max(specific.values(), default=0)
    surest = [name for name, score in specific.items() if score == top]
    if len(surest) > 1:
        return "mixed"
    name = surest[0] if surest else "text"
    if name in _bounce_readers():
        return "bounce"  # an MTA's bounce text pasted without its headers
    return _LEGACY_KINDS.get(name, name)


@cache
def _bounce_readers() -> frozenset[str]:
    return frozenset(spec.name for spec in load_specs())


class _Counter:
    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = chunks
        self.bytes = 0

    def __iter__(self):  # type: ignore[no-untyped-def]
        for chunk in self._chunks:
            self.bytes += len(chunk)
            yield chunk
