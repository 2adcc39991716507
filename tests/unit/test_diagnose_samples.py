"""Samples with their expected findings: tests/data/diagnose/<cause or reader>/<name>.<ext> and
<name>.expect.toml beside it.

    chat = true                 # pasted into a chat message (default: an uploaded/read file)
    kind = "queue"              # input.kind
    quiet = true                # no error or warning finding at all
    [[finding]]                 # a finding that must be there (more may be)
    id = "queue.tls_certificate_not_found"
    severity = "error"
    status = "4.7.5"
    reason = "failedstarttls"
    fields = { server = "SERVER2" }     # facts it must carry (exact values)
    no_fields = ["fqdn"]        # facts it must not carry (the input did not hold them)
    fixes = ["Enable-ExchangeCertificate"]   # text some step's title or command contains
    evidence = [4]              # input lines among its evidence
    [[absent]]
    id = "status.generic"       # a finding that must not be there
"""

from __future__ import annotations

import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.core.diagnose.causes import load_causes
from bot.core.models import Finding, Severity
from bot.diagnosis import diagnose_input, diagnose_text

DATA = Path(__file__).parents[1] / "data" / "diagnose"
EXPECTATIONS = sorted(DATA.rglob("*.expect.toml"))
_KEYS = {"chat", "kind", "quiet", "finding", "absent", "readers"}
_FINDING_KEYS = {"id", "severity", "status", "reason", "fields", "no_fields", "fixes", "evidence"}


def _sample(expect: Path) -> Path:
    stem = expect.name.removesuffix(".expect.toml")
    found = [p for p in expect.parent.iterdir() if p.name.startswith(stem + ".") and p != expect]
    assert len(found) == 1, f"{expect}: exactly one sample file {stem}.* expected"
    return found[0]


def _matches(finding: Finding, want: dict[str, Any]) -> list[str]:
    problems = []
    for key in ("status", "reason"):
        if key in want and getattr(finding, key) != want[key]:
            problems.append(f"{key} {getattr(finding, key)!r} != {want[key]!r}")
    if "severity" in want and finding.severity is not Severity(want["severity"]):
        problems.append(f"severity {finding.severity.value} != {want['severity']}")
    for name, value in want.get("fields", {}).items():
        got = finding.fields.get(name)
        if (list(got) if isinstance(got, tuple) else got) != value:
            problems.append(f"fields.{name} {got!r} != {value!r}")
    for name in want.get("no_fields", []):
        if name in finding.fields:
            problems.append(f"fields.{name} {finding.fields[name]!r} should be absent")
    steps = [f"{fix.title}\n{fix.powershell or ''}\n{fix.shell or ''}" for fix in finding.fixes]
    for text in want.get("fixes", []):
        if not any(text in step for step in steps):
            problems.append(f"no fix mentions {text!r}")
    lines = {line for line, _ in finding.evidence}
    for line in want.get("evidence", []):
        if line not in lines:
            problems.append(f"evidence lacks line {line} (has {sorted(lines)})")
    return problems


@pytest.mark.parametrize("expect", EXPECTATIONS, ids=lambda p: str(p.relative_to(DATA)))
def test_sample(expect: Path) -> None:
    want = tomllib.loads(expect.read_text(encoding="utf-8"))
    assert set(want) <= _KEYS, f"unknown keys {set(want) - _KEYS}"
    sample = _sample(expect)
    if want.get("chat"):
        diagnosis = diagnose_text(sample.read_text(encoding="utf-8"))
    else:
        diagnosis = diagnose_input(str(sample))
    if "kind" in want:
        assert diagnosis.input.kind == want["kind"]
    if want.get("quiet"):
        loud = [f.id for f in diagnosis.findings if f.severity is not Severity.INFO]
        assert loud == [], f"expected no error or warning, got {loud}"
    for item in want.get("finding", []):
        assert set(item) <= _FINDING_KEYS, f"unknown finding keys {set(item) - _FINDING_KEYS}"
        candidates = [f for f in diagnosis.findings if f.id == item["id"]]
        assert candidates, f"no {item['id']} among {[f.id for f in diagnosis.findings]}"
        reports = [_matches(f, item) for f in candidates]
        assert any(not r for r in reports), f"{item['id']}: {reports}"
    for item in want.get("absent", []):
        assert item["id"] not in {f.id for f in diagnosis.findings}


def test_every_cause_has_a_sample() -> None:
    expected: set[str] = set()
    for expect in EXPECTATIONS:
        want = tomllib.loads(expect.read_text(encoding="utf-8"))
        expected.update(item["id"] for item in want.get("finding", []))
    causes = set(load_causes().ids) - {"diagnose.truncated"}
    missing = sorted(causes - expected)
    assert missing == [], f"causes without a sample: {missing}"
