"""The Exchange objects the cross-check reads, built from one pasted or collected object.

`classify(props)` says which cmdlet wrote a property bag (by the properties only that cmdlet
has); `build(kind, props, ...)` turns it into one of the dataclasses below. Property names are
compared without case; values may be Format-List text or ConvertTo-Json values (see values.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from bot.core.diagnose.config import values as v

KINDS = (
    "ExchangeCertificate", "ReceiveConnector", "SendConnector", "HybridConfiguration",
    "AcceptedDomain", "InboundConnector", "OutboundConnector",
)  # fmt: skip
Evidence = tuple[tuple[int, str], ...]


class Props:
    """Case-insensitive view of one object's properties."""

    def __init__(self, raw: Mapping[str, object]) -> None:
        self._raw = {str(k).lower(): value for k, value in raw.items()}

    def has(self, *names: str) -> bool:
        return any(name.lower() in self._raw for name in names)

    def raw(self, *names: str) -> object:
        for name in names:
            value = self._raw.get(name.lower())
            if value not in (None, ""):
                return value
        return None

    def text(self, *names: str) -> str:
        return v.text(self.raw(*names))


def classify(props: Props) -> str | None:
    """Which cmdlet's object this is (one of KINDS), or None."""
    if props.has("Thumbprint") and props.has(
        "NotAfter", "Services", "CertificateDomains", "IsSelfSigned", "HasPrivateKey"
    ):
        return "ExchangeCertificate"
    if props.has("OnPremisesSmartHost", "ReceivingTransportServers", "SendingTransportServers"):
        return "HybridConfiguration"
    if props.has("DomainType") and props.has("DomainName"):
        return "AcceptedDomain"
    if props.has("ConnectorType") and props.has(
        "TlsSenderCertificateName", "SenderDomains", "SenderIPAddresses",
        "RestrictDomainsToCertificate",
    ):  # fmt: skip
        return "InboundConnector"
    if props.has("ConnectorType") and props.has(
        "RecipientDomains", "TlsSettings", "UseMXRecord", "SmartHosts"
    ):
        return "OutboundConnector"
    if props.has("AddressSpaces") or (props.has("SourceTransportServers", "DNSRoutingEnabled")):
        return "SendConnector"
    if props.has("Bindings", "RemoteIPRanges", "PermissionGroups") and props.has(
        "Identity", "Name"
    ):
        return "ReceiveConnector"
    return None


@dataclass(frozen=True, slots=True)
class Certificate:
    server: str  # short server name ("" when the dump does not say)
    thumbprint: str
    subject: str
    issuer: str
    domains: tuple[str, ...]
    not_after: datetime | None
    services: frozenset[str] | None
    status: str
    self_signed: bool | None
    private_key: bool | None
    evidence: Evidence = ()


@dataclass(frozen=True, slots=True)
class ReceiveConnector:
    server: str
    identity: str
    name: str
    fqdn: str
    bindings: tuple[str, ...]
    role: str
    tls_name: tuple[str, str] | None
    tls_name_text: str
    capabilities: tuple[str, ...]
    evidence: Evidence = ()


@dataclass(frozen=True, slots=True)
class SendConnector:
    identity: str
    address_spaces: tuple[str, ...]
    smart_hosts: tuple[str, ...]
    servers: tuple[str, ...]
    fqdn: str
    tls_auth_level: str
    tls_domain: str
    require_tls: bool | None
    cloud_services: bool | None
    tls_name: tuple[str, str] | None
    tls_name_text: str
    evidence: Evidence = ()


@dataclass(frozen=True, slots=True)
class Hybrid:
    smart_host: str
    receiving: tuple[str, ...]
    sending: tuple[str, ...]
    domains: tuple[str, ...]
    tls_name: tuple[str, str] | None
    tls_name_text: str
    evidence: Evidence = ()


@dataclass(frozen=True, slots=True)
class AcceptedDomain:
    domain: str
    domain_type: str
    evidence: Evidence = ()


@dataclass(frozen=True, slots=True)
class ExoConnector:
    direction: str  # "inbound" | "outbound"
    identity: str
    connector_type: str
    enabled: bool | None
    smart_hosts: tuple[str, ...] = ()
    tls_settings: str = ""
    tls_domain: str = ""
    tls_sender_certificate_name: str = ""
    evidence: Evidence = ()


ConfigObject = (
    Certificate | ReceiveConnector | SendConnector | Hybrid | AcceptedDomain | ExoConnector
)


def build(
    kind: str, props: Props, evidence: Evidence = (), default_server: str = ""
) -> ConfigObject | None:
    builder = _BUILDERS.get(kind)
    return builder(props, evidence, default_server) if builder else None


def _server_of(props: Props, identity: str, default: str) -> str:
    # The object's own server first: in a remote session PSComputerName is the server the
    # session is connected to, which need not be the one the object belongs to.
    for name in ("Server", "ServerName"):
        found = props.text(name)
        if found:
            return v.short_server(found)
    if "\\" in identity:
        return v.short_server(identity)
    for name in ("PSComputerName", "ComputerName"):
        found = props.text(name)
        if found:
            return v.short_server(found)
    return v.short_server(default) if default else ""


def _certificate(props: Props, evidence: Evidence, default: str) -> Certificate | None:
    thumbprint = "".join(props.text("Thumbprint").split()).upper()
    if not thumbprint:
        return None
    identity = props.text("Identity")
    return Certificate(
        server=_server_of(props, identity, default),
        thumbprint=thumbprint[:64],
        subject=props.text("Subject"),
        issuer=props.text("Issuer"),
        domains=v.items(props.raw("CertificateDomains", "DnsNameList")),
        not_after=v.when(props.raw("NotAfter")),
        services=v.services(props.raw("Services")),
        status=v.status(props.raw("Status")),
        self_signed=v.flag(props.raw("IsSelfSigned")),
        private_key=v.flag(props.raw("HasPrivateKey")),
        evidence=evidence,
    )


def _receive(props: Props, evidence: Evidence, default: str) -> ReceiveConnector | None:
    identity = props.text("Identity") or props.text("Name")
    if not identity:
        return None
    server = _server_of(props, identity, default)
    name = props.text("Name") or identity.split("\\", 1)[-1]
    if "\\" not in identity and server:
        identity = f"{server}\\{identity}"
    return ReceiveConnector(
        server=server,
        identity=identity,
        name=name,
        fqdn=props.text("Fqdn"),
        bindings=v.items(props.raw("Bindings")),
        role=v.enum_name(props.raw("TransportRole")),
        tls_name=v.tls_name(props.raw("TlsCertificateName")),
        tls_name_text=props.text("TlsCertificateName"),
        capabilities=v.items(props.raw("TlsDomainCapabilities")),
        evidence=evidence,
    )


def _send(props: Props, evidence: Evidence, default: str) -> SendConnector | None:
    identity = props.text("Identity") or props.text("Name")
    if not identity:
        return None
    servers = tuple(v.short_server(s) for s in v.items(props.raw("SourceTransportServers")))
    return SendConnector(
        identity=identity,
        address_spaces=v.items(props.raw("AddressSpaces")),
        smart_hosts=v.items(props.raw("SmartHosts")),
        servers=tuple(s for s in servers if s),
        fqdn=props.text("Fqdn"),
        tls_auth_level=v.enum_name(props.raw("TlsAuthLevel")),
        tls_domain=props.text("TlsDomain"),
        require_tls=v.flag(props.raw("RequireTLS")),
        cloud_services=v.flag(props.raw("CloudServicesMailEnabled")),
        tls_name=v.tls_name(props.raw("TlsCertificateName")),
        tls_name_text=props.text("TlsCertificateName"),
        evidence=evidence,
    )


def _hybrid(props: Props, evidence: Evidence, _default: str) -> Hybrid:
    return Hybrid(
        smart_host=props.text("OnPremisesSmartHost"),
        receiving=tuple(v.short_server(s) for s in v.items(props.raw("ReceivingTransportServers"))),
        sending=tuple(v.short_server(s) for s in v.items(props.raw("SendingTransportServers"))),
        domains=v.items(props.raw("Domains")),
        tls_name=v.tls_name(props.raw("TlsCertificateName")),
        tls_name_text=props.text("TlsCertificateName"),
        evidence=evidence,
    )


def _accepted(props: Props, evidence: Evidence, _default: str) -> AcceptedDomain | None:
    domain = props.text("DomainName")
    if not domain:
        return None
    return AcceptedDomain(
        domain.lower().lstrip("*."),
        v.enum_name(props.raw("DomainType")),
        evidence,
    )


def _exo(direction: str):  # type: ignore[no-untyped-def]
    def build_one(props: Props, evidence: Evidence, _default: str) -> ExoConnector | None:
        identity = props.text("Identity") or props.text("Name")
        if not identity:
            return None
        return ExoConnector(
            direction=direction,
            identity=identity,
            connector_type=v.enum_name(props.raw("ConnectorType")),
            enabled=v.flag(props.raw("Enabled")),
            smart_hosts=v.items(props.raw("SmartHosts")),
            tls_settings=v.enum_name(props.raw("TlsSettings")),
            tls_domain=props.text("TlsDomain"),
            tls_sender_certificate_name=props.text("TlsSenderCertificateName"),
            evidence=evidence,
        )

    return build_one


_BUILDERS = {
    "ExchangeCertificate": _certificate,
    "ReceiveConnector": _receive,
    "SendConnector": _send,
    "HybridConfiguration": _hybrid,
    "AcceptedDomain": _accepted,
    "InboundConnector": _exo("inbound"),
    "OutboundConnector": _exo("outbound"),
}
