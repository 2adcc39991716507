"""Helpers for the log-reader tests: run one reader over text and look at its facts the way
the parser observed them (kind, text, codes, and a flat view of the facts)."""

from __future__ import annotations

import random
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from bot.core.diagnose.decode import documents
from bot.core.diagnose.fact import Fact, FactKind
from bot.core.diagnose.readers import Reader
from bot.core.diagnose.readers.linesink import EventKind
from bot.core.models import FieldValue

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
_KINDS = {
    FactKind.DELIVERY: EventKind.SMTP_ERROR,
    FactKind.CERTIFICATE: EventKind.CERT_PRESENTED,
    FactKind.PEER_CERTIFICATE: EventKind.REMOTE_CERT,
    FactKind.TLS: EventKind.TLS_FAILURE,
}


@dataclass(frozen=True)
class Observed:
    kind: EventKind
    text: str
    status: str | None
    reply_code: str | None
    fields: dict[str, FieldValue] = field(default_factory=dict)
    source: str = ""
    lines: tuple[int, int] = (0, 0)


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def observe(fact: Fact) -> Observed:
    fields = fact.fields()
    if fact.certificate is not None and fact.certificate.self_signed is not None:
        fields["self_signed"] = "yes" if fact.certificate.self_signed else "no"
    fields["count"] = fact.count
    fields.pop("diagnostic", None)
    return Observed(_KINDS[fact.kind], fact.diagnostic, fact.status, fact.reply_code, fields,
                    fact.source, fact.lines)  # fmt: skip


def read(reader: Reader, chunks: Iterable[str]) -> list[Observed]:
    """All facts `reader` makes of the text given in `chunks` (joined as one input)."""
    data = [chunk.encode("utf-8") for chunk in chunks]
    facts: list[Fact] = []
    for document in documents(data):
        if reader.detect(document):
            facts.extend(reader.parse(document))
    facts.extend(reader.finish())
    return [observe(fact) for fact in facts]


def split_randomly(text: str, seed: int, pieces: int = 7) -> list[str]:
    rng = random.Random(seed)
    cuts = sorted(rng.randrange(0, len(text) + 1) for _ in range(pieces))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def of_kind(events: list[Observed], kind: EventKind) -> list[Observed]:
    return [event for event in events if event.kind is kind]
