"""Exchange configuration as admins paste or upload it: Format-List (and Format-Table) output of
Get-ExchangeCertificate, Get-ReceiveConnector, Get-SendConnector, Get-HybridConfiguration,
Get-AcceptedDomain and Exchange Online's Get-InboundConnector / Get-OutboundConnector; the same
objects as ConvertTo-Json (Windows PowerShell 5.1 or PowerShell 7); the document of
`mailflow collect` ({"ExchangeCertificate": [...], "ReceiveConnector": [...], ...}); and the
JSON of `mailflow check --json` (the certificates addresses presented in a live probe).

    [PS] C:\\>Get-ReceiveConnector -Server EX02 | fl       <- a prompt's -Server names the server
    Identity           : EX02\\Default Frontend EX02          of the objects below it
    TlsCertificateName :

The reader only collects objects (its parse returns no facts): the cross-check
(bot.core.diagnose.config.rules) judges them together once the whole case has been read.
"""

from __future__ import annotations

import itertools
import json
import re
from collections.abc import Iterator

from bot.core.diagnose.config.objects import KINDS, Evidence, Props, build, classify
from bot.core.diagnose.config.rules import ConfigSet, Probe
from bot.core.diagnose.decode import WINDOW_CHARS, Document
from bot.core.diagnose.decode.document import Segment
from bot.core.diagnose.decode.records import Record, records
from bot.core.diagnose.fact import Fact
from bot.core.diagnose.readers import Reader

MARKERS = (
    "TlsCertificateName", "CertificateDomains", "TlsDomainCapabilities", "OnPremisesSmartHost",
    "TlsSenderCertificateName", "ConnectorType", "DomainType", "AddressSpaces",
    "ReceivingTransportServers", "IsSelfSigned", "HasPrivateKey",
)  # fmt: skip
_PROBE_MARKERS = ('"mx"', '"attempts"', '"chain"')
_SERVER_ARGUMENT = re.compile(
    r"^.{0,200}?>\s*Get-\w+.{0,200}?-Server\s+['\"]?([A-Za-z0-9][\w.-]{0,63})", re.MULTILINE
)
_EVIDENCE_PROPERTIES = (
    "TlsCertificateName", "Thumbprint", "TlsSenderCertificateName", "TlsDomain", "Identity",
)  # fmt: skip


class ExchangeConfigReader(Reader):
    name = "exchange_config"

    def __init__(self) -> None:
        self.config = ConfigSet()
        # A JSON document larger than one window of the input, gathered until the input ends.
        self._pending: list[str] = []
        self._pending_chars = 0
        self._pending_line = 1

    def finish(self) -> list[Fact]:
        self._flush()
        return []

    def _flush(self) -> None:
        if self._pending:
            text = "".join(self._pending)
            self._pending, self._pending_chars = [], 0
            self._json(Segment(text, self._pending_line))

    def _gather(self, document: Document) -> bool:
        """Windows of a JSON document too large for one window; True when taken."""
        if document.index == 0:
            self._flush()
            return False
        if not self._pending:
            return False
        for segment in document.segments:
            self._pending_chars += len(segment.text)
            if self._pending_chars > MAX_JSON_CHARS:
                self._pending, self._pending_chars = [], 0
                return True
            self._pending.append(segment.text)
        return True

    def detect(self, document: Document) -> int:
        text = document.text
        if any(marker in text for marker in MARKERS):
            return 40
        if all(marker in text for marker in _PROBE_MARKERS) and '"thumbprint"' in text:
            return 40
        return 0

    def parse(self, document: Document) -> list[Fact]:
        if self._gather(document):
            return []
        for segment in document.segments:
            starts_json = segment.text.lstrip()[:1] in "[{"
            whole = starts_json and self._json(segment)
            if starts_json and not whole and _cut_at_window(document, segment):
                self._pending = [segment.text]
                self._pending_chars = len(segment.text)
                self._pending_line = segment.first_line
                return []
            if not whole and ("\n{" in segment.text or "\n[" in segment.text):
                for block in _json_blocks(segment):
                    self._json(block)
        for record in records(document):
            if record.shape == "json":
                continue
            props = Props(_unwrapped(document, record))
            kind = classify(props)
            if kind is None:
                continue
            line = record.line_of(*_EVIDENCE_PROPERTIES)
            evidence = _lines(document, line, line)
            default = _default_server(document, record.first_line)
            found = build(kind, props, evidence, default)
            if found is not None:
                self.config.add(found)
        return []

    def _json(self, segment: Segment) -> bool:
        """Read one JSON document; False when the text is not JSON."""
        try:
            data = json.loads(segment.text)
        except (ValueError, RecursionError):
            return False
        locator = _Locator(segment)
        if isinstance(data, dict) and "mx" in data and "target" in data:
            for probe in _probes(data, locator):
                self.config.add(probe)
            return True
        if isinstance(data, dict) and any(key in data for key in KINDS):
            for kind in KINDS:
                for item in _as_list(data.get(kind)):
                    self._object(kind, item, locator)
            return True
        for item in _as_list(data):
            if isinstance(item, dict):
                guessed = classify(Props(item))
                if guessed is not None:
                    self._object(guessed, item, locator)
        return True

    def _object(self, kind: str, item: object, locator: _Locator) -> None:
        if not isinstance(item, dict):
            return
        props = Props(item)
        anchor = props.text("Thumbprint", "Identity", "Name", "DomainName")
        found = build(kind, props, locator.evidence(anchor))
        if found is not None:
            self.config.add(found)


MAX_JSON_CHARS = 64 * 1024 * 1024  # a JSON document read across windows (collector output)


def _cut_at_window(document: Document, segment: Segment) -> bool:
    """Does this JSON text look cut off by the window end (the input goes on)?"""
    return not document.is_message and len(segment.text) >= WINDOW_CHARS - 1024 * 1024


_BLOCK_START = re.compile(r"^[\[{][ \t]*$", re.MULTILINE)
MAX_BLOCKS = 100


def _json_blocks(segment: Segment) -> Iterator[Segment]:
    """JSON documents pasted between other text: from a line that is only `{` or `[` to the
    next line that is only `}` or `]` (ConvertTo-Json's own layout)."""
    text = segment.text
    position = 0
    for _ in range(MAX_BLOCKS):
        found = _BLOCK_START.search(text, position)
        if found is None:
            return
        closing = "\n}" if found.group(0)[0] == "{" else "\n]"
        end = text.find(closing, found.end())
        if end < 0:
            return
        end += 2
        yield Segment(text[found.start() : end], segment.line(found.start()))
        position = end


_NO_SPACES = ("TlsCertificateName", "Thumbprint")


def _unwrapped(document: Document, record: Record) -> dict[str, str]:
    """Format-List cuts a long value at the console width, inside a word: the generic reader
    joins the pieces with a space, which a TlsCertificateName must not get. A piece that fills
    the line to the width of the longest line of the object was cut there: joined directly."""
    props = dict(record.props)
    for name in _NO_SPACES:
        first = record.lines.get(name)
        value = props.get(name)
        if first is None or not value or " " not in value:
            continue
        width = document.cached(
            f"config_width:{record.first_line}", lambda: _width(document, record)
        )
        lines = [text for _, text in _lines(document, first, record.last_line, 8)]
        if not lines or not isinstance(width, int):
            continue
        column = lines[0].find(" : ") + 3
        joined = lines[0][column:]
        for previous, line in itertools.pairwise(lines):
            if line[:column].strip() or not line.strip():
                break
            glue = "" if len(previous) >= width else " "
            joined += glue + line[column:].strip()
        props[name] = joined.strip()
    return props


def _lines(document: Document, first: int, last: int, limit: int = 3) -> Evidence:
    """Input lines first..last (at most `limit`) of the segment that holds them; unlike
    Document.line_texts it does not count the lines of the whole window on every call."""
    if first <= 0:
        return ()
    holder = None
    for segment in document.segments:
        if segment.first_line <= first:
            holder = segment
    if holder is None:
        return ()
    return holder.line_texts(first, min(max(first, last), first + limit - 1))


def _width(document: Document, record: Record) -> int:
    texts = _lines(document, record.first_line, record.last_line, 400)
    return max((len(text) for _, text in texts), default=0)


def _as_list(value: object) -> list[object]:
    if isinstance(value, list):
        return value[:50_000]
    return [value] if isinstance(value, dict) else []


_LOCATE_WITHIN = 256 * 1024
_EVIDENCE_SPAN = 200


class _Locator:
    """Input lines of JSON objects, found by their anchor value in one forward pass."""

    def __init__(self, segment: Segment) -> None:
        self._segment = segment
        self._offset = 0

    def evidence(self, anchor: str) -> Evidence:
        if not anchor:
            return ()
        needle = json.dumps(anchor)[1:-1]
        # Objects come in input order, each within a short distance of the one before: a value
        # written with other escapes is given up on after that distance, not searched for to
        # the end of the document every time.
        at = self._segment.text.find(needle, self._offset, self._offset + _LOCATE_WITHIN)
        if at < 0:
            return ()
        self._offset = at + len(needle)
        text = self._segment.text
        # The line around the value, but never more than a few hundred characters of it
        # (ConvertTo-Json -Compress writes the whole document on one line).
        start = max(text.rfind("\n", max(0, at - _EVIDENCE_SPAN), at) + 1, at - _EVIDENCE_SPAN)
        end = text.find("\n", at, at + _EVIDENCE_SPAN)
        end = at + _EVIDENCE_SPAN if end < 0 else end
        return ((self._segment.line(at), text[start:end].strip()),)


def _probes(data: dict[str, object], locator: _Locator) -> Iterator[Probe]:
    for host in _as_list(data.get("mx")) if isinstance(data.get("mx"), list) else []:
        if not isinstance(host, dict):
            continue
        for attempt in _as_list(host.get("attempts")):
            if not isinstance(attempt, dict):
                continue
            chain = attempt.get("chain")
            leaf = chain[0] if isinstance(chain, list) and chain else None
            if not isinstance(leaf, dict) or not isinstance(leaf.get("thumbprint"), str):
                continue
            thumbprint = str(leaf["thumbprint"]).upper()
            yield Probe(
                ip=str(attempt.get("ip") or ""),
                host=str(attempt.get("host") or host.get("host") or ""),
                thumbprint=thumbprint,
                subject=str(leaf.get("subject_windows") or leaf.get("subject") or ""),
                evidence=locator.evidence(thumbprint),
            )


def _default_server(document: Document, line: int) -> str:
    """The -Server of the last prompt line above `line` (several servers in one paste)."""
    prompts = document.cached("config_prompts", lambda: _prompts(document))
    assert isinstance(prompts, list)
    server = ""
    for number, name in prompts:
        if number > line:
            break
        server = name
    return server


def _prompts(document: Document) -> list[tuple[int, str]]:
    found: list[tuple[int, str]] = []
    for segment in document.segments:
        if "-Server" not in segment.text:
            continue
        for match in _SERVER_ARGUMENT.finditer(segment.text):
            found.append((segment.line(match.start()), match.group(1)))
    return found
