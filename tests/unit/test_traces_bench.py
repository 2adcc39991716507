"""The benchmark's generated protocol log is realistic enough to tell the intended story."""

from __future__ import annotations

from pathlib import Path

from benchmarks.bench_diagnose import MB, adversarial_paste, generate_log
from bot.core.traces import EventKind, InputKind, scan
from bot.inputs import open_input
from tests.unit.traces_helpers import of_kind


def test_generated_log_reads_as_intended(tmp_path: Path) -> None:
    path = tmp_path / "RECV2026112000-1.LOG"
    size = generate_log(path, 1.0)
    assert 0.95 * MB < size <= MB
    source = open_input(str(path))
    result = scan(source)
    events = list(result)
    assert result.kind is InputKind.PROTOCOL_LOG
    assert source.bytes == size
    certs = {str(e.fields["connector"]): e for e in of_kind(events, EventKind.CERT_PRESENTED)}
    server1 = certs["SERVER1\\Default Frontend SERVER1"].fields
    assert (server1["self_signed"], server1["exchange_online"]) == ("yes", "yes")
    frontend = certs["SERVER2\\Default Frontend SERVER2"].fields
    assert (frontend["self_signed"], frontend["exchange_online"]) == ("no", "yes")
    assert frontend["capabilities"] == "AcceptCloudServicesMail"
    client = certs["SERVER2\\Client Frontend SERVER2"].fields
    assert (client["capabilities"], client["exchange_online"]) == ("None", "no")
    [relay] = of_kind(events, EventKind.SMTP_ERROR)
    assert (relay.status, relay.reply_code) == ("5.7.54", "550")
    assert isinstance(relay.fields["count"], int) and relay.fields["count"] > 10


def test_adversarial_paste_is_deterministic_and_a_megabyte() -> None:
    paste = adversarial_paste()
    assert len(paste) == MB
    assert paste == adversarial_paste()
