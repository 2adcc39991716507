"""A synthetic, realistic Get-ExchangeCertificate | Format-List dump of many certificates on
several servers (for the scale test and benchmarks/bench_config.py): each server has the hybrid
certificate, its self-signed one and many others (old renewals, web and internal certificates);
the last server's Default Frontend names no certificate."""

from __future__ import annotations

import hashlib

ISSUER = "CN=DigiCert Global G2 TLS RSA SHA256 2020 CA1, O=DigiCert Inc, C=US"
SUBJECT = "CN=mail.contoso.com, O=Contoso Ltd, L=Redmond, S=Washington, C=US"
HYBRID = "6A1C3D8F0B2E4A5C7D9E1F20314253647586970A"


def _thumb(seed: str) -> str:
    return hashlib.sha1(seed.encode()).hexdigest().upper()  # noqa: S324 (a made-up thumbprint)


def _cert(
    server: str, thumb: str, subject: str, issuer: str, *, domains: list[str], year: int
) -> str:
    rules = ", ".join(["System.Security.AccessControl.CryptoKeyAccessRule"] * 70)
    lines = [
        f"AccessRules        : {{{rules}}}",
        f"CertificateDomains : {{{', '.join(domains)}}}",
        "HasPrivateKey      : True",
        f"IsSelfSigned       : {subject == issuer}",
        f"Issuer             : {issuer}",
        f"NotAfter           : 3/1/{year} 11:59:59 PM",
        f"NotBefore          : 3/1/{year - 1} 12:00:00 AM",
        "PublicKeySize      : 2048",
        "RootCAType         : ThirdParty",
        f"SerialNumber       : {thumb[:32]}",
        "Services           : IMAP, POP, IIS, SMTP",
        "Status             : Valid",
        f"Subject            : {subject}",
        f"Thumbprint         : {thumb}",
        f"PSComputerName     : {server}.contoso.local",
        "",
    ]
    return "\n".join(lines)


def dump(certificates: int = 500, servers: int = 4) -> str:
    parts: list[str] = []
    for index in range(servers):
        server = f"EX{index + 1:02d}"
        parts.append(f"[PS] C:\\>Get-ExchangeCertificate -Server {server} | fl\n")
        parts.append(
            _cert(server, HYBRID, SUBJECT, ISSUER, domains=["mail.contoso.com"], year=2036)
        )
        parts.append(
            _cert(
                server, _thumb(server), f"CN={server}", f"CN={server}", domains=[server], year=2039
            )
        )
        for number in range(certificates // servers - 2):
            name = f"app{number}.contoso.com"
            thumb = _thumb(f"{server}-{number}")
            domains = [name, f"www.{name}"]
            parts.append(
                _cert(server, thumb, f"CN={name}", ISSUER, domains=domains, year=2030 + number % 9)
            )
    parts.append("[PS] C:\\>Get-ReceiveConnector | fl\n")
    for index in range(servers):
        server = f"EX{index + 1:02d}"
        name = "" if index == servers - 1 else f"<I>{ISSUER}<S>{SUBJECT}"
        caps = (
            "{}"
            if index == servers - 1
            else "{mail.protection.outlook.com:AcceptCloudServicesMail}"
        )
        parts.append(
            f"Identity              : {server}\\Default Frontend {server}\n"
            f"Name                  : Default Frontend {server}\n"
            f"Bindings              : {{[::]:25, 0.0.0.0:25}}\n"
            f"Fqdn                  : {server}.contoso.local\n"
            f"TlsCertificateName    : {name}\n"
            f"TlsDomainCapabilities : {caps}\n"
            f"Server                : {server}\n"
        )
    return "\n".join(parts)
