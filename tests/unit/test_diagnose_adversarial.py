"""Hostile and degenerate input: the diagnosis never raises, does not depend on line endings,
stays bounded on huge inputs, and no value from the input escapes into a mention or a command.

The samples are the data files of tests/data/diagnose (adversarial/ holds the hostile ones).
"""

from __future__ import annotations

import re
import tracemalloc
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from bot.core.models import Diagnosis
from bot.diagnosis import diagnose_bytes, diagnose_text
from bot.render.blocks import diagnosis_messages

DATA = Path(__file__).parents[1] / "data" / "diagnose"
SAMPLES = sorted(p for p in DATA.rglob("*") if p.is_file() and not p.name.endswith(".expect.toml"))
TEXT_SAMPLES = [p for p in SAMPLES if p.suffix != ".gz"]  # line endings mean nothing in gzip
_MENTION = re.compile(r"<[!@#]")
_Q = "'\u2018\u2019\u201a\u201b"  # what PowerShell reads as a single quote
_QUOTED = re.compile(f"[{_Q}](?:[^{_Q}]|[{_Q}]{{2}})*[{_Q}]")


def _projection(diagnosis: Diagnosis) -> list[tuple[Any, ...]]:
    return sorted(
        (
            f.id, f.severity.value, f.status, f.reason,
            tuple(sorted((k, str(v)) for k, v in f.fields.items())),
            tuple(number for number, _ in f.evidence),
            tuple((fix.title, fix.powershell, fix.shell) for fix in f.fixes),
        )
        for f in diagnosis.findings
    )  # fmt: skip


def _texts(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [text for item in value.values() for text in _texts(item)]
    if isinstance(value, list | tuple):
        return [text for item in value for text in _texts(item)]
    return []


@pytest.mark.parametrize("sample", TEXT_SAMPLES, ids=lambda p: str(p.relative_to(DATA)))
def test_line_endings_do_not_change_the_diagnosis(sample: Path) -> None:
    raw = sample.read_bytes()
    lf = raw.replace(b"\r\n", b"\n")
    crlf = lf.replace(b"\n", b"\r\n")
    assert _projection(diagnose_bytes(lf, sample.name)) == _projection(
        diagnose_bytes(crlf, sample.name)
    )


@pytest.mark.parametrize("sample", SAMPLES, ids=lambda p: str(p.relative_to(DATA)))
def test_no_input_value_becomes_a_mention_or_leaves_its_literal(sample: Path) -> None:
    diagnosis = diagnose_bytes(sample.read_bytes(), sample.name)
    for message in diagnosis_messages(diagnosis, source=sample.name):
        for text in [*_texts(message.blocks), message.text]:
            assert not _MENTION.search(text), text
    for finding in diagnosis.findings:
        values = [str(v) for v in finding.fields.values() if isinstance(v, str) and len(v) > 3]
        for fix in finding.fixes:
            outside = _QUOTED.sub("''", fix.powershell or "")
            leaked = [v for v in values if v in outside and not v.isalnum()]
            assert leaked == [], f"{finding.id}: {leaked} outside a literal in {fix.powershell}"


def test_an_injection_subject_stays_inside_its_literal() -> None:
    sample = DATA / "adversarial" / "injection_subject.eml"
    diagnosis = diagnose_bytes(sample.read_bytes(), sample.name)
    scripts = [fix.powershell for f in diagnosis.findings for fix in f.fixes if fix.powershell]
    assert scripts
    for script in scripts:
        assert "Remove-Mailbox" not in _QUOTED.sub("''", script)
        assert "whoami`@" not in _QUOTED.sub("''", script)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=3000))
def test_any_text_is_diagnosed_without_raising(text: str) -> None:
    diagnosis = diagnose_text(text)
    assert diagnosis.input.kind


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=3000), st.sampled_from(["x.eml", "x.txt", "x.csv", "x.json", "x.log"]))
def test_any_bytes_are_diagnosed_without_raising(data: bytes, name: str) -> None:
    diagnosis = diagnose_bytes(data, name)
    assert diagnosis.input.kind


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SAMPLES),
    st.data(),
)
def test_damaged_samples_are_diagnosed_without_raising(sample: Path, data: st.DataObject) -> None:
    raw = sample.read_bytes()
    at = data.draw(st.integers(0, len(raw)))
    cut = data.draw(st.integers(0, 64))
    junk = data.draw(
        st.one_of(
            st.binary(max_size=32),
            st.sampled_from(
                [b"\xed\xa0\x80", b"\x00", b"\r", b"\n\n--B1--\n", b"=?utf-8?b?7aCA?=", b"\xff\xfe"]
            ),
        )
    )
    diagnose_bytes(raw[:at] + junk + raw[at + cut :], sample.name)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(TEXT_SAMPLES), st.lists(st.booleans(), min_size=1, max_size=64))
def test_mixed_line_endings_read_like_lf(sample: Path, choices: list[bool]) -> None:
    lines = sample.read_bytes().replace(b"\r\n", b"\n").split(b"\n")
    mixed = b"".join(
        line + (b"\r\n" if choices[i % len(choices)] else b"\n") for i, line in enumerate(lines)
    )
    lf = b"\n".join(lines) + b"\n"
    assert _projection(diagnose_bytes(mixed, sample.name)) == _projection(
        diagnose_bytes(lf, sample.name)
    )


def test_ten_megabytes_of_newlines_are_quiet() -> None:
    diagnosis = diagnose_bytes(b"\n" * 10_000_000, "blank.txt")
    assert diagnosis.findings == () or all(f.severity.value == "info" for f in diagnosis.findings)


def test_a_hundred_thousand_short_lines_stay_small_in_memory() -> None:
    data = b"".join(b"line %d ok\n" % i for i in range(100_000))
    tracemalloc.start()
    try:
        diagnosis = diagnose_bytes(data, "short.log")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert not [f for f in diagnosis.findings if f.severity.value != "info"]
    assert peak < 40 * len(data), f"peak {peak} bytes for {len(data)} bytes of input"


def test_a_hundred_thousand_failures_are_itemised_up_to_the_cap() -> None:
    line = (
        "Dec  1 10:00:%02d mx postfix/smtp[%d]: 4F9D21C0A%05d: to=<u%d@fabrikam.example>, "
        "relay=mx2.fabrikam.example[198.51.100.25]:25, delay=1, dsn=4.4.1, status=deferred "
        "(connect to mx2.fabrikam.example[198.51.100.25]:25: Connection timed out)\n"
    )
    data = "".join(line % (i % 60, i, i, i % 50) for i in range(100_000)).encode()
    diagnosis = diagnose_bytes(data, "mail.log")
    assert diagnosis.findings
    assert len(diagnosis.findings) <= 60
    occurrences = sum(int(str(f.fields.get("occurrences", 1))) for f in diagnosis.findings)
    assert occurrences >= 100_000 or any(f.id == "diagnose.truncated" for f in diagnosis.findings)
