"""Agreement with Sisimai's verdicts on its public corpus (../shared/corpus/sisimai).

A row (one failed recipient) agrees when some finding carries exactly its status and a reason of
the same family; Sisimai's invented X.0.9NN codes are judged by the reason only; feedback,
vacation and delivered rows agree when no finding is an error or a warning.

    python -m tests.corpus.sisimai [-v]      # per-family table (and the disagreements)
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

from bot.core.diagnose.pipeline import Knowledge, diagnose_bytes, load_knowledge
from bot.core.models import Finding, Severity

CORPUS = Path(__file__).resolve().parents[2].parent / "shared" / "corpus" / "sisimai"
FAMILIES = {
    "securityerror": "security", "failedstarttls": "security", "authfailure": "security",
    "blocked": "blocked", "badreputation": "blocked", "requireptr": "blocked",
    "mesgtoobig": "size", "exceedlimit": "size",
    "toomanyconn": "rate", "ratelimited": "rate", "speeding": "rate",
}  # fmt: skip
NOT_FAILURES = frozenset({"feedback", "vacation", "delivered"})


@dataclass(frozen=True)
class Row:
    sample: str
    family: str
    status: str
    reason: str
    pseudo: bool


@dataclass(frozen=True)
class Verdict:
    row: Row
    agrees: bool
    found: tuple[tuple[str | None, str | None, str], ...]


def family(reason: str | None) -> str:
    return FAMILIES.get(reason or "", reason or "")


def rows() -> list[Row]:
    out = []
    for line in (CORPUS / "expected.jsonl").read_text(encoding="utf-8").splitlines():
        item = json.loads(line)
        for row in item["rows"]:
            out.append(
                Row(
                    item["sample"],
                    item["family"],
                    row["status"],
                    row["reason"],
                    row["pseudo_status"],
                )
            )
    return out


def agrees(row: Row, findings: tuple[Finding, ...]) -> bool:
    if row.reason in NOT_FAILURES:
        return not any(f.severity in (Severity.ERROR, Severity.WARNING) for f in findings)
    if row.pseudo:
        return any(family(f.reason) == family(row.reason) for f in findings)
    return any(f.status == row.status and family(f.reason) == family(row.reason) for f in findings)


def judge(knowledge: Knowledge | None = None) -> list[Verdict]:
    book = knowledge or load_knowledge()
    cache: dict[str, tuple[Finding, ...]] = {}
    verdicts = []
    for row in rows():
        if row.sample not in cache:
            data = (CORPUS / "samples" / row.sample).read_bytes()
            cache[row.sample] = diagnose_bytes([data], knowledge=book).findings
        found = cache[row.sample]
        verdicts.append(
            Verdict(row, agrees(row, found), tuple((f.status, f.reason, f.id) for f in found[:4]))
        )
    return verdicts


def table(verdicts: list[Verdict]) -> str:
    total, good = Counter[str](), Counter[str]()
    for verdict in verdicts:
        total[verdict.row.family] += 1
        good[verdict.row.family] += verdict.agrees
    lines = [f"{name:28} {good[name]:3}/{total[name]:<3}" for name in sorted(total)]
    score = sum(good.values()) / max(1, sum(total.values()))
    lines.append(f"{'TOTAL':28} {sum(good.values()):3}/{sum(total.values()):<3} {score:.1%}")
    return "\n".join(lines)


def main() -> None:
    verdicts = judge()
    print(table(verdicts))
    if "-v" in sys.argv:
        for verdict in verdicts:
            if not verdict.agrees:
                row = verdict.row
                print(f"{row.sample:34} want {row.status:8} {row.reason:15} got {verdict.found}")


if __name__ == "__main__":
    main()
