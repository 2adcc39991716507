"""The JSON contracts of `mailflow diagnose --json` and `mailflow check --json`."""

from __future__ import annotations

import json
from typing import Any

from bot.core.models import Diagnosis, Finding, fields_to_json

_DIAGNOSE_KEYS = ("status", "reply_code", "reason")


def finding_for_diagnose(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "severity": finding.severity.value,
        "status": finding.status,
        "reply_code": finding.reply_code,
        "reason": finding.reason,
        "summary": finding.summary,
        "explanation": finding.explanation,
        "fields": fields_to_json(finding.fields),
        "fixes": [fix.to_dict() for fix in finding.fixes],
        "probe": finding.probe,
    }


def finding_for_check(finding: Finding) -> dict[str, Any]:
    return {
        "id": finding.id,
        "severity": finding.severity.value,
        "host": finding.host,
        "ip": finding.ip,
        "summary": finding.summary,
        "explanation": finding.explanation,
        "fields": fields_to_json(finding.fields),
        "fixes": [fix.to_dict() for fix in finding.fixes],
    }


def diagnosis_to_json(diagnosis: Diagnosis) -> dict[str, Any]:
    return {
        "input": {"kind": diagnosis.input.kind, "bytes": diagnosis.input.bytes},
        "findings": [finding_for_diagnose(f) for f in diagnosis.findings],
    }


def dumps(document: dict[str, Any]) -> str:
    # ensure_ascii keeps the output safe for any terminal or pipe; it stays valid JSON.
    return json.dumps(document, indent=2, ensure_ascii=True)
