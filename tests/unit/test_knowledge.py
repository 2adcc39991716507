"""Loading and validating config/knowledge, and the RFC 3463 table."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

import pytest

from bot.core import enhanced_status as es
from bot.core.knowledge import (
    DEFAULT_DIRECTORY,
    KNOWN_FIELDS,
    KnowledgeError,
    load_knowledge,
    regex_problem,
    render_text,
)
from bot.core.models import BOUNCE_REASONS, Severity

ROOT = Path(__file__).resolve().parents[2]

VALID_RULE = """
[[rule]]
id = "test.sample"
severity = "error"
reason = "failedstarttls"
summary = "{fqdn|The host} failed"
explanation = "Because."
[rule.match]
status = ["4.7.320"]
[[rule.fix]]
title = "Fix {fqdn}"
powershell = "Set-X -Identity {{fqdn}}"
"""


def kb_dir(tmp_path: Path, *rule_files: str) -> Path:
    shutil.copy(DEFAULT_DIRECTORY / "rfc3463.toml", tmp_path / "rfc3463.toml")
    for index, text in enumerate(rule_files):
        (tmp_path / f"rules{index}.toml").write_text(text, encoding="utf-8")
    return tmp_path


def test_default_knowledge_loads_and_is_cached() -> None:
    kb = load_knowledge()
    assert kb is load_knowledge()
    assert len(kb.rules) > 60
    assert Path(kb.directory) == ROOT / "config" / "knowledge"


def test_every_id_is_dotted_and_every_id_variant_unique() -> None:
    kb = load_knowledge()
    keys = [(rule.id, rule.variant) for rule in kb.rules]
    assert len(keys) == len(set(keys))
    for rule in kb.rules:
        assert re.fullmatch(r"[a-z][a-z0-9_]*(\.[a-z][a-z0-9_]*)+", rule.id), rule.id
        assert rule.reason in BOUNCE_REASONS or rule.reason == "status"
        assert isinstance(rule.severity, Severity)


def test_brief_ids_exist() -> None:
    ids = set(load_knowledge().ids)
    assert {
        "exo.tls.subject_mismatch",
        "ndr.recipient_not_found",
        "queue.tls_certificate_not_found",
        "status.generic",
    } <= ids


def test_loads_from_any_working_directory(tmp_path: Path) -> None:
    code = "from bot.core.knowledge import load_knowledge; print(len(load_knowledge().rules))"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
        check=False, timeout=60,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) == len(load_knowledge().rules)


def test_a_valid_tmp_directory_loads(tmp_path: Path) -> None:
    kb = load_knowledge(kb_dir(tmp_path, VALID_RULE))
    assert [rule.id for rule in kb.rules] == ["test.sample"]
    assert kb.rule("test.sample").fixes[0].powershell == "Set-X -Identity {{fqdn}}"


BROKEN: list[tuple[str, str, str]] = [
    (
        "unknown rule key",
        VALID_RULE.replace(
            'reason = "failedstarttls"', 'reason = "failedstarttls"\ncolour = "red"'
        ),
        "unknown rule keys",
    ),
    (
        "unknown match key",
        VALID_RULE.replace('status = ["4.7.320"]', 'status = ["4.7.320"]\nstatuz = "x"'),
        "unknown match keys",
    ),
    (
        "unknown fix key",
        VALID_RULE.replace('title = "Fix {fqdn}"', 'title = "Fix {fqdn}"\nshell = "bash"'),
        "unknown fix keys",
    ),
    (
        "bad severity",
        VALID_RULE.replace('severity = "error"', 'severity = "critical"'),
        "severity 'critical'",
    ),
    (
        "bad reason",
        VALID_RULE.replace('reason = "failedstarttls"', 'reason = "tlsbroken"'),
        "unknown reason 'tlsbroken'",
    ),
    ("undotted id", VALID_RULE.replace('id = "test.sample"', 'id = "sample"'), "dotted"),
    (
        "unknown text placeholder",
        VALID_RULE.replace('"{fqdn|The host} failed"', '"{hostname} failed"'),
        "unknown placeholder {hostname}",
    ),
    ("stray brace", VALID_RULE.replace('"Because."', '"Because {."'), "stray brace"),
    (
        "unknown script placeholder",
        VALID_RULE.replace("{{fqdn}}", "{{hostname}}"),
        "unknown placeholders ['hostname']",
    ),
    ("malformed script placeholder", VALID_RULE.replace("{{fqdn}}", "{{ fqdn }}"), "malformed"),
    (
        "nested quantifier",
        VALID_RULE.replace('status = ["4.7.320"]', "text = ['(a+)+b']"),
        "nested quantifier",
    ),
    (
        "repeated alternation",
        VALID_RULE.replace('status = ["4.7.320"]', "text = ['(a|aa)*b']"),
        "nested quantifier",
    ),
    (
        "uncompilable regex",
        VALID_RULE.replace('status = ["4.7.320"]', "text = ['[abc']"),
        "does not compile",
    ),
    ("look-behind", VALID_RULE.replace('status = ["4.7.320"]', "text = ['(?<=x)y']"), "only plain"),
    (
        "back-reference",
        VALID_RULE.replace('status = ["4.7.320"]', "text = ['(a)\\1']"),
        "back-references",
    ),
    ("reversed range", VALID_RULE.replace('["4.7.320"]', '["5.7.649-606"]'), "range ends before"),
    ("bad status", VALID_RULE.replace('["4.7.320"]', '["5.x.1"]'), "not an enhanced status"),
    (
        "bad reply code",
        VALID_RULE.replace('status = ["4.7.320"]', 'reply_code = ["99"]'),
        "three-digit",
    ),
    (
        "unknown kind",
        VALID_RULE.replace('status = ["4.7.320"]', 'kind = ["smtp_errors"]'),
        "kind 'smtp_errors'",
    ),
    (
        "unknown check",
        VALID_RULE.replace('status = ["4.7.320"]', 'check = "magic"'),
        "unknown check",
    ),
    (
        "empty match",
        VALID_RULE.replace('status = ["4.7.320"]', 'requires = ["fqdn"]'),
        "at least one",
    ),
    (
        "unknown probe field",
        VALID_RULE.replace("summary =", 'probe = ["host"]\nsummary ='),
        "unknown fields ['host']",
    ),
    ("invalid toml", VALID_RULE.replace('severity = "error"', "severity = error"), "invalid TOML"),
]


@pytest.mark.parametrize(("name", "text", "message"), BROKEN, ids=[b[0] for b in BROKEN])
def test_broken_rules_are_rejected_naming_file_and_rule(
    tmp_path: Path, name: str, text: str, message: str
) -> None:
    with pytest.raises(KnowledgeError) as caught:
        load_knowledge(kb_dir(tmp_path, text))
    error = str(caught.value)
    assert "rules0.toml" in error
    assert message in error
    if name not in ("invalid toml", "undotted id"):
        assert "test.sample" in error


def test_duplicate_ids_across_files_are_rejected(tmp_path: Path) -> None:
    with pytest.raises(KnowledgeError, match=r"rules0.toml and rules1.toml: rule 'test.sample'"):
        load_knowledge(kb_dir(tmp_path, VALID_RULE, VALID_RULE))


def test_variants_make_the_same_id_legal(tmp_path: Path) -> None:
    other = VALID_RULE.replace('id = "test.sample"', 'id = "test.sample"\nvariant = "b"')
    kb = load_knowledge(kb_dir(tmp_path, VALID_RULE, other))
    assert sorted(r.variant for r in kb.rules) == ["", "b"]


def test_missing_status_table_and_missing_directory(tmp_path: Path) -> None:
    (tmp_path / "only.toml").write_text(VALID_RULE, encoding="utf-8")
    with pytest.raises(KnowledgeError, match="enhanced_status"):
        load_knowledge(tmp_path)
    with pytest.raises(KnowledgeError, match="not found"):
        load_knowledge(tmp_path / "nope")
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(KnowledgeError, match=r"no \*\.toml"):
        load_knowledge(empty)


def test_broken_status_table_is_rejected(tmp_path: Path) -> None:
    kb_dir(tmp_path)
    table = tmp_path / "rfc3463.toml"
    table.write_text(
        table.read_text(encoding="utf-8").replace('code = "X.1.1"', 'code = "X.1.2"'),
        encoding="utf-8",
    )
    with pytest.raises(KnowledgeError, match=r"rfc3463.toml: enhanced_status: detail X.1.2"):
        load_knowledge(tmp_path)


@pytest.mark.parametrize(
    ("pattern", "ok"),
    [
        ("SubjectMismatch", True),
        ("subject ?mismatch", True),
        ("certificate verif(y|ication) (failed|error)", True),
        ("250[- ]X{4,}", True),
        ("(?:abc)?d", True),
        ("[)(]+", True),
        (r"\(a+\)+", True),
        ("(a+)+", False),
        ("(a|b)*", False),
        ("(?:x.*){2}", False),
        ("((a))+", False),
        ("(a", False),
        ("a)", False),
        ("(?i)a", False),
        ("(?P<n>a)", False),
        (r"(a)\1", False),
        ("x" * 301, False),
    ],
)
def test_regex_problem(pattern: str, ok: bool) -> None:
    assert (regex_problem(pattern) is None) is ok


def test_knowledge_patterns_stay_fast_on_hostile_text() -> None:
    hostile = ["X" * 2048, "a " * 1024, "250-" + "X" * 2044, "certificate " * 170, "\u00e9" * 2048]
    patterns = [
        p
        for rule in load_knowledge().rules
        for p in (rule.text, rule.not_text, *(fp for _, fp in rule.field_patterns))
        if p is not None
    ]
    assert len(patterns) > 20
    start = time.perf_counter()
    for pattern in patterns:
        for text in hostile:
            pattern.search(text)
    assert time.perf_counter() - start < 5.0  # blow-up guard; speed: benchmarks/


def test_render_text_placeholders_and_fallbacks() -> None:
    assert (
        render_text("{fqdn|the host} at {ip}", {"fqdn": "mx.contoso.com"}) == "mx.contoso.com at ?"
    )
    assert render_text("{fqdn|the host}", {}) == "the host"
    assert {"fqdn", "connector", "expected_name", "tls_certificate_name"} <= KNOWN_FIELDS


# ---- enhanced status codes -----------------------------------------------------------------


def test_parse_exact_codes() -> None:
    assert es.parse("4.7.320") == es.EnhancedStatus(4, 7, 320)
    assert str(es.parse(" 5.1.10 ")) == "5.1.10"
    for bad in (None, "", "3.1.1", "5.1", "5.1.1.1", "5.1.1000", "x.1.1", "5.a.1"):
        assert es.parse(bad) is None


def test_patterns_and_ranges() -> None:
    banned = es.parse_pattern("5.7.606-649")
    assert banned.matches(es.EnhancedStatus(5, 7, 606)) and banned.matches(
        es.EnhancedStatus(5, 7, 649)
    )
    assert not banned.matches(es.EnhancedStatus(5, 7, 650))
    assert not banned.matches(es.EnhancedStatus(4, 7, 606))
    either = es.parse_pattern("x.7.321")
    assert either.matches(es.EnhancedStatus(4, 7, 321)) and either.matches(
        es.EnhancedStatus(5, 7, 321)
    )
    assert not either.matches(es.EnhancedStatus(2, 7, 321))
    assert str(banned) == "5.7.606-649" and str(either) == "x.7.321"
    assert es.parse_pattern("4.7.320").exact and not banned.exact
    with pytest.raises(ValueError, match="range"):
        es.parse_pattern("5.7.9-1")


def test_rfc3463_meanings() -> None:
    table = load_knowledge().status_table
    user = table.describe(es.EnhancedStatus(5, 1, 1))
    assert user.class_meaning.startswith("Permanent failure")
    assert user.subject_meaning == "Addressing"
    assert user.detail_meaning == "Bad destination mailbox address"
    assert user.reason == "userunknown" and user.standard
    assert table.describe(es.EnhancedStatus(5, 1, 10)).reason == "notaccept"  # RFC 7505 null MX
    assert table.describe(es.EnhancedStatus(4, 4, 1)).reason == "expired"
    assert table.describe(es.EnhancedStatus(5, 6, 3)).reason == "contenterror"  # x.6.x
    assert table.describe(es.EnhancedStatus(5, 7, 1)).reason == "securityerror"  # x.7.x
    assert (
        table.describe(es.EnhancedStatus(5, 7, 26)).detail_meaning
        == "Multiple authentication checks failed"
    )
    assert (
        table.describe(es.EnhancedStatus(5, 7, 30)).detail_meaning == "REQUIRETLS support required"
    )
    vendor = table.describe(es.EnhancedStatus(4, 7, 320))
    assert not vendor.standard and "vendor-specific" in vendor.detail_meaning
    assert vendor.reason == "securityerror"
    other = table.describe(es.EnhancedStatus(5, 3, 0))
    assert other.detail_meaning == "Other or undefined mail system status"
    assert table.describe(es.EnhancedStatus(2, 0, 0)).reason == "delivered"
    assert len(table.details) >= 70


def test_every_subject_and_class_is_described() -> None:
    table = load_knowledge().status_table
    assert set(table.classes) == {2, 4, 5}
    assert set(table.subjects) == set(range(8))
    for subject, detail in table.details:
        assert 0 <= subject <= 7 and detail >= 0
