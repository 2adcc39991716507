"""A 2 MB Get-ExchangeCertificate dump of 500 certificates on four servers is read whole (the
time is measured in benchmarks/bench_config.py, not asserted here)."""

import json

from bot.core.diagnose.config.synthetic import HYBRID, dump
from bot.core.diagnose.decode import WINDOW_CHARS
from bot.diagnosis import diagnose_bytes


def test_five_hundred_certificates() -> None:
    text = dump(500, 4)
    assert len(text) > 2_000_000
    diagnosis = diagnose_bytes(text.encode("utf-8"), "certificates.txt")
    by_id = {f.id: f for f in diagnosis.findings}
    assert by_id["config.checked"].fields["pieces"] == "500 certificates, 4 receive connectors"
    missing = by_id["config.receive.no_certificate"]
    assert (missing.fields["server"], missing.fields["thumbprint"]) == ("EX04", HYBRID)


def test_a_collected_document_larger_than_a_window_is_read_whole() -> None:
    """The input is cut into 4 MB windows; a JSON document is gathered across them."""
    certificates = [
        {"Server": f"EX{i % 40:02d}", "Thumbprint": f"{i:040X}", "Subject": f"CN=h{i}.contoso.com",
         "Issuer": "CN=Contoso Issuing CA", "CertificateDomains": [f"h{i}.contoso.com"],
         "NotAfter": "2036-01-01T00:00:00Z", "Services": "IIS, SMTP", "Status": "Valid",
         "IsSelfSigned": False, "HasPrivateKey": True}
        for i in range(16_000)
    ]  # fmt: skip
    connectors = [
        {"Identity": "EX39\\Default Frontend EX39", "Name": "Default Frontend EX39",
         "Server": "EX39", "Bindings": ["0.0.0.0:25"], "TlsCertificateName": "",
         "TlsDomainCapabilities": ["mail.protection.outlook.com:AcceptCloudServicesMail"]}
    ]  # fmt: skip
    data = json.dumps({"ExchangeCertificate": certificates, "ReceiveConnector": connectors})
    assert len(data) > WINDOW_CHARS
    diagnosis = diagnose_bytes(data.encode("utf-8"), "mailflow-onprem.json")
    by_id = {f.id: f for f in diagnosis.findings}
    pieces = by_id["config.checked"].fields["pieces"]
    assert pieces == "16000 certificates, 1 receive connector"
    assert by_id["config.receive.no_certificate"].fields["server"] == "EX39"
