"""The cheap tests that readers run before their regular expressions never turn away a text that
the expressions would accept: checked on every sample input of the repository and the corpus."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from bot.core.diagnose import enrich, findings
from bot.core.diagnose.decode.mime import parse_message
from bot.core.diagnose.readers import exchange_ndr, mta_log
from bot.core.diagnose.readers.mta import HeaderTestIndex, load_specs

_ROOT = Path(__file__).parents[2]
_CORPUS = _ROOT.parent / "shared" / "corpus"
_INPUTS = sorted(
    p
    for folder in (_ROOT / "tests" / "data" / "diagnose", _CORPUS)
    if folder.is_dir()
    for p in folder.rglob("*")
    if p.is_file() and not p.name.endswith(".toml") and p.stat().st_size < 2_000_000
)
_MTA_LOG_PLAIN = (
    r"\bpostfix(?:-[\w.-]{1,40})?/[\w/-]{1,40}\[\d{1,10}\]: |^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d"
    r"|\bdelivery \d{1,12}: (?:failure|deferral|success): \S|\bstarting delivery \d{1,12}: msg \d"
)


def _texts() -> list[str]:
    return [p.read_bytes().decode("utf-8", "replace")[:200_000] for p in _INPUTS]


@pytest.fixture(scope="module")
def texts() -> list[str]:
    found = _texts()
    assert len(found) > 300  # the samples were found
    return found


def test_the_ndr_prefilter_keeps_every_text_the_ndr_patterns_find(texts: list[str]) -> None:
    for text in texts:
        lowered = text.lower()
        passes = any(word in lowered for word in exchange_ndr._MARKER_WORDS)
        wanted = exchange_ndr._MARKERS.search(text) or exchange_ndr._COMPONENT.search(text)
        assert passes or not wanted, text[:200]


def test_the_mta_log_mark_is_the_plain_pattern(texts: list[str]) -> None:
    plain = re.compile(_MTA_LOG_PLAIN, re.MULTILINE)
    extra = [
        "x\n2026-01-02 03:04:05 y", "2026-01-02 03:04:05", "postfix/smtp[12]: x", "postfix",
        "@4000 delivery 7: deferral: Sorry", "x starting delivery 7: msg 9 to remote a@b",
        "the delivery 7: failure: ", "no delivery here",
    ]  # fmt: skip
    for text in [*texts, *extra]:
        head = text[:65536]
        assert mta_log._marked(head) == bool(plain.search(head)), head[:200]


def test_the_header_test_index_agrees_with_each_test_alone() -> None:
    specs = load_specs()
    index = HeaderTestIndex(specs)
    messages = 0
    for path in _INPUTS:
        if path.suffix != ".eml":
            continue
        headers = parse_message(path.read_bytes()[:200_000].decode("latin-1")).headers
        messages += 1
        results = index.evaluate(headers)
        for test, number in index.ids.items():
            values = headers.all(test.header)
            alone = bool(values) and (
                not test.patterns or any(p.search(v) for v in values for p in test.patterns)
            )
            assert results[number] == alone, (path.name, test.header)
    # the repository's own messages, and the corpus's when it lies beside the checkout
    assert messages > (300 if _CORPUS.is_dir() else 40)
    assert sum(len(s.tests) + len(s.vetoes) for s in specs) >= len(index.ids) > 50


def test_the_command_words_keep_every_text_the_command_patterns_find(texts: list[str]) -> None:
    extra = [
        "550 5.1.1 RCPT TO:<a@b> rejected", "in reply to end of DATA command", "AUTH failed",
        "TLS Negotiation failed", "after initial CONNECTION", ">>> HELO x", "\u017ftarttls x",
    ]  # fmt: skip
    found = 0
    for text in [*texts, *extra]:
        for line in text.splitlines()[:400]:
            wanted = next((c for p, c, _ in enrich._COMMANDS if p.search(line)), None)
            assert enrich.named_command(line) == wanted, line
            found += wanted is not None
    assert found > 100


def test_the_exchange_look_ahead_changes_no_match(texts: list[str]) -> None:
    plain = re.compile(
        r"\b(?:RESOLVER|STOREDRV|SMTPSEND|SMTPSUBMIT|QUEUE|ROUTING|CAT)\.[A-Z][A-Za-z]"
        r"|protection\.outlook\.com|prod\.outlook\.com|primary target IP address"
        r"|Unable to relay recipient in non-accepted domain"
        r"|\bATTR\d{1,3}\b|\bAS\(\d{3,}\)"
    )
    hits = 0
    for text in texts:
        for line in text.splitlines()[:400]:
            ours = findings._EXCHANGE_WORDS.search(line)
            theirs = plain.search(line)
            assert (ours and ours.span()) == (theirs and theirs.span()), line
            hits += theirs is not None
    assert hits > 20
