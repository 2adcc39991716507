"""`mailflow collect`: the scripts only read, and what they write is what the cross-check reads."""

from __future__ import annotations

import json
import re

import pytest

from bot.collect import SIDES, script
from bot.core.diagnose.config.objects import KINDS
from bot.diagnosis import diagnose_bytes
from tests.unit.powershell_tokens import commands

ALLOWED = re.compile(
    r"Get-\w+|Select-Object|Where-Object|ForEach-Object|Sort-Object|ConvertTo-Json|Out-File"
    r"|Write-Output|Write-Host"
)


@pytest.mark.parametrize("side", SIDES)
def test_the_script_runs_only_allowed_commands(side: str) -> None:
    tokens = commands(script(side))
    assert tokens.commands, "the tokeniser found no command at all"
    refused = sorted({c for c in tokens.commands if not ALLOWED.fullmatch(c)})
    assert refused == []
    assert tokens.invocations == []


@pytest.mark.parametrize(
    ("text", "caught"),
    [
        (
            "Get-ReceiveConnector | Set-ReceiveConnector -TlsCertificateName $x",
            "Set-ReceiveConnector",
        ),
        ('Write-Host "done $(Remove-Item C:\\x -Recurse)"', "Remove-Item"),
        ("$a = iex $payload", "iex"),
        ("Get-Date; Restart-Service MSExchangeTransport", "Restart-Service"),
        ("Get-Mailbox | ForEach-Object { Disable-Mailbox $_ }", "Disable-Mailbox"),
    ],
)
def test_the_tokeniser_catches_a_changing_command(text: str, caught: str) -> None:
    assert caught in commands(text).commands


def test_the_tokeniser_catches_invocation_operators() -> None:
    assert commands("& $block").invocations
    assert commands("'& not code' ; # & comment").invocations == []


def _properties(side: str) -> dict[str, list[str]]:
    """The property names each key's Select-Object writes, read from the script itself."""
    found: dict[str, list[str]] = {}
    for line_key, body in re.findall(
        r"^\s*(\w+) = @\((.*?)(?=^\s*\w+ = @\(|^\}$)", script(side), re.M | re.S
    ):
        select = body[body.index("Select-Object") + len("Select-Object") :]
        names = re.findall(r"@\{n='(\w+)'", select)
        bare = re.sub(r"@\{n='\w+';e=\{(?:[^{}]|\{[^{}]*\})*\}\}", "", select)
        names += [n for n in re.findall(r"\b([A-Z]\w+)\b", bare) if n not in ("ForEach", "Object")]
        found[line_key] = names
    return found


def test_each_key_is_a_cmdlet_object_list() -> None:
    keys = set(_properties("onprem")) | set(_properties("exo"))
    assert keys == set(KINDS)


THUMB = "6A1C3D8F0B2E4A5C7D9E1F20314253647586970A"
ISSUER = "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US"
SUBJECT = "CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
VALUES: dict[str, object] = {
    "Server": "EX01", "Thumbprint": THUMB, "Subject": SUBJECT, "Issuer": ISSUER,
    "CertificateDomains": ["mail.contoso.com"], "NotAfter": "2036-03-01T22:59:59.0000000Z",
    "NotBefore": "2026-02-28T00:00:00.0000000Z", "Services": "IMAP, POP, IIS, SMTP",
    "Status": "Valid", "IsSelfSigned": False, "HasPrivateKey": True, "FriendlyName": "",
    "Name": "Default Frontend EX01", "Identity": "EX01\\Default Frontend EX01",
    "Bindings": ["[::]:25", "0.0.0.0:25"], "Fqdn": "EX01.contoso.local",
    "TransportRole": "FrontendTransport", "TlsCertificateName": "",
    "TlsDomainCapabilities": [], "AuthMechanism": "Tls, Integrated", "PermissionGroups":
    "AnonymousUsers, ExchangeServers", "Enabled": True, "AddressSpaces": [], "SmartHosts": [],
    "SourceTransportServers": ["EX01"], "RequireTLS": True, "TlsAuthLevel": "DomainValidation",
    "TlsDomain": "mail.protection.outlook.com", "CloudServicesMailEnabled": True,
    "OnPremisesSmartHost": "mail.contoso.com", "ReceivingTransportServers": ["EX01"],
    "SendingTransportServers": ["EX01"], "Domains": ["contoso.com"], "Features": [],
    "DomainName": "contoso.com", "DomainType": "Authoritative", "Default": True,
    "ConnectorType": "OnPremises", "RequireTls": True, "TlsSenderCertificateName":
    "mail.contoso.com", "SenderDomains": ["smtp:*;1"], "SenderIPAddresses": [],
    "RestrictDomainsToCertificate": False, "TlsSettings": "DomainValidation",
    "RecipientDomains": ["contoso.com"], "UseMXRecord": False,
}  # fmt: skip
OVERRIDES: dict[str, dict[str, object]] = {
    "SendConnector": {"Identity": "Outbound to Office 365", "Name": "Outbound to Office 365",
                      "AddressSpaces": ["smtp:contoso.mail.onmicrosoft.com;1"],
                      "TlsCertificateName": f"<I>{ISSUER}<S>{SUBJECT}", "Fqdn": "mail.contoso.com"},
    "HybridConfiguration": {"Identity": "Hybrid Configuration",
                            "TlsCertificateName": f"<I>{ISSUER}<S>{SUBJECT}"},
    "InboundConnector": {"Identity": "Inbound from contoso", "Name": "Inbound from contoso"},
    "OutboundConnector": {"Identity": "Outbound to contoso", "Name": "Outbound to contoso",
                          "SmartHosts": ["mail.contoso.com"], "TlsDomain": "mail.contoso.com"},
}  # fmt: skip


def test_the_collected_document_round_trips_into_diagnose() -> None:
    document: dict[str, list[dict[str, object]]] = {}
    for side in SIDES:
        for key, names in _properties(side).items():
            item = {name: OVERRIDES.get(key, {}).get(name, VALUES[name]) for name in names}
            document.setdefault(key, []).append(item)
    data = json.dumps(document, indent=2).replace("<", "\\u003c").encode("utf-8-sig")
    diagnosis = diagnose_bytes(data, "mailflow-onprem.json")
    assert diagnosis.input.kind == "exchange_config"
    ids = {f.id: f for f in diagnosis.findings}
    # EX01's Default Frontend names no certificate: the one finding of this configuration.
    assert ids["config.receive.no_certificate"].fields["thumbprint"] == THUMB
    checked = ids["config.checked"].fields["pieces"]
    assert checked == (
        "1 certificate, 1 receive connector, 1 send connector, 1 hybrid configuration, "
        "1 accepted domain, 1 Exchange Online inbound connector, "
        "1 Exchange Online outbound connector"
    )
    loud = {f.id for f in diagnosis.findings if f.severity.value != "info"}
    assert loud == {"config.receive.no_certificate", "config.receive.capability_missing"}
