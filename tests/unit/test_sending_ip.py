"""The sender's IP a rejection names becomes `sending_ip`, never the receiver's `ip`
(cases in tests/data/enrich/sending_ip.toml)."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path
from typing import Any

import pytest

from bot.core.diagnose.sending_ip import SendingIpError, load_sending_ip_patterns, sending_ip_in
from bot.diagnosis import diagnose_text

CASES: list[dict[str, Any]] = tomllib.loads(
    (Path(__file__).parents[1] / "data" / "enrich" / "sending_ip.toml").read_text()
)["case"]


@pytest.mark.parametrize("case", CASES, ids=lambda c: c["text"][:50])
def test_the_sender_ip_is_read_only_where_the_words_name_it(case: dict[str, Any]) -> None:
    assert sending_ip_in(case["text"]) == case.get("sending_ip")


def test_the_blocklist_fix_checks_the_sender_not_the_receiver() -> None:
    diagnosis = diagnose_text(CASES[0]["text"])
    finding = next(f for f in diagnosis.findings if f.id == "bounce.blocked")
    assert finding.fields["sending_ip"] == "198.51.100.7"
    assert finding.fields.get("ip") == "192.0.2.25"
    scripts = [fix.powershell or "" for fix in finding.fixes]
    assert any("'198.51.100.7'" in script for script in scripts)
    assert not any("192.0.2.25" in script for script in scripts)


@pytest.mark.parametrize(
    ("patterns", "error"),
    [
        (r"['Client host \[([0-9.]+)\]']", "needs a (?P<ip>...) group"),
        (r"['(?P<ip>(a+)+)']", "(?P<ip>(a+)+)"),
    ],
)
def test_broken_patterns_are_refused(tmp_path: Path, patterns: str, error: str) -> None:
    path = tmp_path / "sending_ip.toml"
    path.write_text(f"schema = 1\npatterns = {patterns}\n")
    with pytest.raises(SendingIpError, match=re.escape(error)):
        load_sending_ip_patterns(path)
