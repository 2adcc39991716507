"""A 2 MB Get-ExchangeCertificate dump of 500 certificates on four servers is read whole (the
time is measured in benchmarks/bench_config.py, not asserted here)."""

from bot.core.diagnose.config.synthetic import HYBRID, dump
from bot.diagnosis import diagnose_bytes


def test_five_hundred_certificates() -> None:
    text = dump(500, 4)
    assert len(text) > 2_000_000
    diagnosis = diagnose_bytes(text.encode("utf-8"), "certificates.txt")
    by_id = {f.id: f for f in diagnosis.findings}
    assert by_id["config.checked"].fields["pieces"] == "500 certificates, 4 receive connectors"
    missing = by_id["config.receive.no_certificate"]
    assert (missing.fields["server"], missing.fields["thumbprint"]) == ("EX04", HYBRID)
