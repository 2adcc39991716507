"""Shared helpers for the trace-parser tests."""

from __future__ import annotations

import random
from pathlib import Path

from bot.core.traces import EventKind, MailEvent, Scan, scan

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"


def example(name: str) -> str:
    return (EXAMPLES / name).read_text(encoding="utf-8")


def run(text: str) -> tuple[Scan, list[MailEvent]]:
    result = scan([text])
    events = list(result)
    return result, events


def split_randomly(text: str, seed: int, pieces: int = 7) -> list[str]:
    rng = random.Random(seed)
    cuts = sorted(rng.randrange(0, len(text) + 1) for _ in range(pieces))
    return [text[a:b] for a, b in zip([0, *cuts], [*cuts, len(text)], strict=True)]


def of_kind(events: list[MailEvent], kind: EventKind) -> list[MailEvent]:
    return [event for event in events if event.kind is kind]
