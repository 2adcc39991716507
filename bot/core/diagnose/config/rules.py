"""The cross-check: Exchange configuration objects (and live probes of the same case) -> Facts.

Each fact names the rule it breaks (`config_rule`, the finding id of config/causes/
exchange_config.toml) and carries the facts the finding and its fix need: the server, the
connector identity, the thumbprint of the certificate to use. The rules follow how Exchange
chooses a certificate: TlsCertificateName is matched on issuer and subject, attribute by
attribute; when several installed certificates match, the one with the latest NotAfter wins (a
renewal with identical names is healthy); without TlsCertificateName the connector's Fqdn
decides, i.e. usually the server's self-signed certificate.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import lru_cache

from bot.core import dn, names
from bot.core.diagnose.config.objects import (
    AcceptedDomain,
    Certificate,
    ConfigObject,
    Evidence,
    ExoConnector,
    Hybrid,
    ReceiveConnector,
    SendConnector,
)
from bot.core.diagnose.fact import Fact, FactKind
from bot.core.models import FieldValue

SOURCE = "exchange_config"
EXPIRING_DAYS = 30
EXO_CAPABILITY = "mail.protection.outlook.com:acceptcloudservicesmail"
EXO_TLS_DOMAIN = "mail.protection.outlook.com"
_BAD_STATUS = frozenset(
    {"revocationcheckfailure", "invalid", "untrusted", "dateinvalid", "revoked"}
)
_NOT_EXO_FACING = ("client frontend", "outbound proxy frontend", "client proxy")
_PRIVATE_SUFFIXES = (".local", ".lan", ".internal", ".corp", ".intra", ".localdomain", ".home")
MAX_OBJECTS = 20_000
# Connectors and probed addresses judged per case: each is compared with every certificate,
# so these bound the cross-check's work (an organisation has a few dozen servers).
MAX_FACING = 300
MAX_PROBES = 300


@dataclass(frozen=True, slots=True)
class Probe:
    """The leaf certificate one address presented in a live probe."""

    ip: str
    host: str
    thumbprint: str
    subject: str = ""
    evidence: Evidence = ()


NameKey = tuple[tuple[str, str], ...]


@lru_cache(maxsize=4096)
def name_key(issuer: str, subject: str) -> tuple[NameKey, NameKey]:
    """Issuer and subject compared attribute by attribute; spacing inside values is ignored,
    because Format-List wraps long values at the console width."""
    return _dn_key(issuer), _dn_key(subject)


def _dn_key(text: str) -> NameKey:
    return tuple(
        sorted((kind, "".join(value.split()).casefold()) for kind, value in dn.split(text))
    )


@dataclass
class ConfigSet:
    """Everything of one case, deduplicated (the same object pasted twice counts once)."""

    certificates: dict[tuple[str, str], Certificate] = field(default_factory=dict)
    receive: dict[str, ReceiveConnector] = field(default_factory=dict)
    send: dict[str, SendConnector] = field(default_factory=dict)
    hybrid: list[Hybrid] = field(default_factory=list)
    accepted: dict[str, AcceptedDomain] = field(default_factory=dict)
    exo: dict[tuple[str, str], ExoConnector] = field(default_factory=dict)
    probes: dict[tuple[str, str], Probe] = field(default_factory=dict)
    count: int = 0

    def add(self, item: ConfigObject | Probe) -> None:
        if self.count >= MAX_OBJECTS:
            return
        self.count += 1
        if isinstance(item, Certificate):
            self.certificates[(item.server, item.thumbprint)] = item
        elif isinstance(item, ReceiveConnector):
            self.receive[item.identity.lower()] = item
        elif isinstance(item, SendConnector):
            self.send[item.identity.lower()] = item
        elif isinstance(item, Hybrid):
            self.hybrid[:] = [item]
        elif isinstance(item, AcceptedDomain):
            self.accepted[item.domain] = item
        elif isinstance(item, ExoConnector):
            self.exo[(item.direction, item.identity.lower())] = item
        else:
            self.probes[(item.ip, item.thumbprint)] = item

    @property
    def empty(self) -> bool:
        return not (
            self.certificates or self.receive or self.send or self.hybrid or self.accepted
            or self.exo
        )  # fmt: skip

    def pieces(self) -> str:
        """What was read, for the case summary: "3 certificates, 2 receive connectors, ..."."""
        counts = (
            (len(self.certificates), "certificate"), (len(self.receive), "receive connector"),
            (len(self.send), "send connector"), (len(self.hybrid), "hybrid configuration"),
            (len(self.accepted), "accepted domain"),
            (sum(1 for c in self.exo.values() if c.direction == "inbound"),
             "Exchange Online inbound connector"),
            (sum(1 for c in self.exo.values() if c.direction == "outbound"),
             "Exchange Online outbound connector"),
            (len(self.probes), "probed address"),
        )  # fmt: skip
        return ", ".join(f"{n} {_plural(what, n)}" for n, what in counts if n)

    def servers(self) -> list[str]:
        found = {c.server for c in self.certificates.values()}
        found |= {r.server for r in self.receive.values()}
        return sorted(s for s in found if s)


def _plural(word: str, count: int) -> str:
    if count == 1:
        return word
    return word + ("es" if word.endswith("s") else "s")


@dataclass
class _Case:
    config: ConfigSet
    now: datetime
    trace_names: tuple[str, ...]
    by_server: dict[str, list[Certificate]] = field(default_factory=dict)
    by_key: dict[tuple[NameKey, NameKey], list[Certificate]] = field(default_factory=dict)
    by_thumbprint: dict[str, list[Certificate]] = field(default_factory=dict)
    keys: dict[tuple[str, str], tuple[NameKey, NameKey]] = field(default_factory=dict)
    facing: list[ReceiveConnector] = field(default_factory=list)
    replacements: dict[object, Certificate | None] = field(default_factory=dict)
    covering: dict[tuple[str, ...], Certificate | None] = field(default_factory=dict)
    facts: list[Fact] = field(default_factory=list)

    def __post_init__(self) -> None:
        for cert in self.config.certificates.values():
            self.by_server.setdefault(cert.server, []).append(cert)
            key = name_key(cert.issuer, cert.subject)
            self.keys[(cert.server, cert.thumbprint)] = key
            self.by_key.setdefault(key, []).append(cert)
            self.by_thumbprint.setdefault(cert.thumbprint, []).append(cert)


def cross_check(
    config: ConfigSet, now: datetime | None = None, trace_names: Iterable[str] = ()
) -> list[Fact]:
    """Every rule over the case's configuration; `now` is the latest time of the case's traces
    and logs (else the present), `trace_names` the names Exchange Online failed to validate."""
    if config.empty:
        return []
    case = _Case(config, now or datetime.now(UTC), _our_names(config, trace_names))
    facing = [r for r in config.receive.values() if _exo_facing(r, config)][:MAX_FACING]
    case.facing = facing
    hybrid_org = _hybrid_org(config, facing, case.trace_names)
    if hybrid_org:
        for connector in facing:
            _check_receive(case, connector)
        _check_consistency(case, facing)
    for sender in config.send.values():
        if _to_exo(sender):
            _check_send(case, sender, hybrid_org)
    for hybrid in config.hybrid:
        _check_hybrid(case, hybrid, facing)
    for exo in config.exo.values():
        if _to_on_premises(exo):
            if exo.direction == "outbound":
                _check_outbound(case, exo, facing)
            else:
                _check_inbound(case, exo)
    for probe in list(config.probes.values())[:MAX_PROBES]:
        _check_probe(case, probe, facing)
    return case.facts


def hybrid_names(config: ConfigSet, trace_names: Iterable[str] = ()) -> list[str]:
    """The names Exchange Online connects to in this configuration (OnPremisesSmartHost, the
    outbound connectors' smart hosts) and those of the case's traces."""
    return _expected_names(_Case(config, datetime.now(UTC), _our_names(config, trace_names)))


def _our_names(config: ConfigSet, trace_names: Iterable[str]) -> tuple[str, ...]:
    """The trace names that belong to this organisation: covered by one of its certificates,
    or in one of its domains (accepted, hybrid, or the parent of a name it uses). A 4.7.320
    about a partner's server says nothing about these servers."""
    domains = set(config.accepted)
    for hybrid in config.hybrid:
        domains.update(names.canonical(d) for d in hybrid.domains)
        if hybrid.smart_host:
            domains.add(_parent(hybrid.smart_host))
    cert_names: list[str] = []
    for cert in config.certificates.values():
        if not _self_signed(cert):
            cert_names.extend(_cert_names(cert))
    domains.update(_parent(n.removeprefix("*.")) for n in cert_names if "." in n)
    found = []
    for name in trace_names:
        canonical = names.canonical(name)
        parent = _parent(canonical)
        ours = names.covered(cert_names, canonical) or any(
            parent == d or parent.endswith("." + d) or canonical == d for d in domains if d
        )
        if ours:
            found.append(canonical)
    return tuple(found)


def _parent(name: str) -> str:
    canonical = names.canonical(name)
    return canonical.split(".", 1)[1] if canonical.count(".") >= 2 else canonical


# -- which objects matter --------------------------------------------------------------------


def _exo_facing(connector: ReceiveConnector, config: ConfigSet) -> bool:
    """A receive connector Exchange Online delivers to."""
    if any("mail.protection.outlook.com" in c.lower() for c in connector.capabilities):
        return True
    name = connector.name.lower()
    if name.startswith(_NOT_EXO_FACING) or not name.startswith("default frontend"):
        return False
    if connector.bindings and not any(b.rstrip().endswith(":25") for b in connector.bindings):
        return False
    hybrid = config.hybrid[0] if config.hybrid else None
    return not (hybrid and hybrid.receiving and connector.server not in hybrid.receiving)


def _hybrid_org(config: ConfigSet, facing: list[ReceiveConnector], traces: tuple[str, ...]) -> bool:
    """Does Exchange Online deliver to these servers at all? (Without any sign of it, a Default
    Frontend without TlsCertificateName is the normal set-up.)"""
    return bool(
        config.hybrid
        or traces
        or any(_to_exo(s) for s in config.send.values())
        or any(_to_on_premises(c) for c in config.exo.values())
        or any(r.tls_name or _has_capability(r) for r in facing)
    )


def _has_capability(connector: ReceiveConnector) -> bool:
    lowered = [c.lower() for c in connector.capabilities]
    return EXO_CAPABILITY in lowered or any("acceptoorgprotocol" in c for c in lowered)


def _to_exo(connector: SendConnector) -> bool:
    if connector.cloud_services:
        return True
    if connector.tls_domain.lower() == EXO_TLS_DOMAIN:
        return True
    if any(h.lower().endswith(".mail.protection.outlook.com") for h in connector.smart_hosts):
        return True
    for space in connector.address_spaces:
        domain = space.split(";", 1)[0].split(":", 1)[-1].strip().lower()
        if domain.endswith(".mail.onmicrosoft.com"):
            return True
    return connector.identity.lower().startswith("outbound to office 365")


def _to_on_premises(connector: ExoConnector) -> bool:
    if connector.enabled is False:
        return False
    kind = connector.connector_type.lower()
    if kind == "onpremises":
        return True
    if not kind.isdigit():
        return False
    # A number: the enum's value; judge by what only a connector to on-premises carries.
    return bool(connector.tls_sender_certificate_name or connector.smart_hosts)


def _expected_names(case: _Case, connector: ReceiveConnector | None = None) -> list[str]:
    found: list[str] = []
    for hybrid in case.config.hybrid:
        if hybrid.smart_host:
            found.append(hybrid.smart_host)
    for exo in case.config.exo.values():
        if exo.direction == "outbound" and _to_on_premises(exo):
            found.extend(exo.smart_hosts)  # its TlsDomain has a rule of its own
    found.extend(case.trace_names)
    if not found and connector is not None and _public(connector.fqdn):
        found.append(connector.fqdn)
    cleaned = [names.canonical(n) for n in found if n and "*" not in n and "." in n]
    return list(dict.fromkeys(n for n in cleaned if not _is_ip(n)))


def _public(name: str) -> bool:
    lowered = names.canonical(name)
    return "." in lowered and not lowered.endswith(_PRIVATE_SUFFIXES)


def _is_ip(name: str) -> bool:
    return name.replace(".", "").isdigit() or ":" in name


# -- certificates ----------------------------------------------------------------------------


def _cert_names(cert: Certificate) -> tuple[str, ...]:
    common = dn.common_name(cert.subject)
    return tuple(dict.fromkeys([*cert.domains, *([common] if common else [])]))


def _resolve(
    case: _Case, tls_name: tuple[str, str], servers: Iterable[str]
) -> tuple[Certificate | None, bool]:
    """The certificate Exchange uses for `tls_name` on `servers` (latest NotAfter among the
    matches), and whether the inventory of those servers is in the case at all."""
    wanted = [s for s in servers if s]
    inventory = [s for s in wanted if s in case.by_server]
    if not wanted or not inventory:
        inventory = list(case.by_server)
    issuer, subject = name_key(*tls_name)
    # A certificate from a table paste has no issuer: its subject alone must match.
    found = case.by_key.get((issuer, subject), []) + case.by_key.get(((), subject), [])
    matches = [c for c in found if c.server in inventory or not c.server]
    known = bool(case.by_server)
    return _latest(matches), known


def _latest(certs: Iterable[Certificate]) -> Certificate | None:
    ordered = sorted(
        certs, key=lambda c: c.not_after or datetime.min.replace(tzinfo=UTC), reverse=True
    )
    return ordered[0] if ordered else None


def _usable(case: _Case, cert: Certificate) -> bool:
    return (
        not _self_signed(cert)
        and (cert.not_after is None or cert.not_after > case.now)
        and cert.status.lower() not in _BAD_STATUS
        and cert.private_key is not False
    )


def _self_signed(cert: Certificate) -> bool:
    if cert.self_signed is not None:
        return cert.self_signed
    return bool(cert.subject) and dn.same(cert.subject, cert.issuer)


def _replacement(
    case: _Case, server: str, wanted: tuple[str, str] | None, expected: list[str]
) -> Certificate | None:
    memo = (server, name_key(*wanted) if wanted else None, tuple(expected))
    if memo not in case.replacements:
        case.replacements[memo] = _find_replacement(case, server, wanted, expected)
    return case.replacements[memo]


def _find_replacement(
    case: _Case, server: str, wanted: tuple[str, str] | None, expected: list[str]
) -> Certificate | None:
    """The certificate a connector on `server` should name: one installed there with the name
    the rest of the organisation uses, else one there that covers what Exchange Online expects,
    else such a certificate on another server (to be imported)."""
    key = name_key(*wanted) if wanted is not None else None
    local = [c for c in case.by_server.get(server, []) if _usable(case, c)]
    if key is not None:
        same = [c for c in local if case.keys.get((c.server, c.thumbprint)) == key]
        if same:
            return _latest(same)
    found = _latest(c for c in local if _covers_all(c, expected))
    if found is not None:
        return found
    if key is not None:
        anywhere = [c for c in case.by_key.get(key, []) if _usable(case, c)]
        if anywhere:
            return _latest(anywhere)
    memo = tuple(expected)
    if memo not in case.covering:
        usable = (c for c in case.config.certificates.values() if _usable(case, c))
        case.covering[memo] = _latest(c for c in usable if _covers_all(c, expected))
    return case.covering[memo]


def _covers_all(cert: Certificate, expected: list[str]) -> bool:
    return bool(expected) and all(names.covered(_cert_names(cert), n) for n in expected)


def _organisation_name(case: _Case, facing: list[ReceiveConnector]) -> tuple[str, str] | None:
    """The TlsCertificateName most connectors (or the hybrid configuration) use."""
    named = Counter(name_key(*r.tls_name) for r in facing if r.tls_name)
    texts = {name_key(*r.tls_name): r.tls_name for r in facing if r.tls_name}
    if named:
        return texts[named.most_common(1)[0][0]]
    for hybrid in case.config.hybrid:
        if hybrid.tls_name:
            return hybrid.tls_name
    return None


def _check_certificate(
    case: _Case, cert: Certificate, *, server: str, connector: str, expected: list[str],
    evidence: Evidence,
) -> None:  # fmt: skip
    base = {
        "thumbprint": cert.thumbprint,
        "server": server or cert.server,
        "connector": connector,
        "subject": cert.subject,
    }
    ev = (*evidence, *cert.evidence)
    server_name = server or cert.server
    better = _replacement(case, server_name, _organisation_name(case, case.facing), expected)
    if better is not None and better.thumbprint != cert.thumbprint:
        base["expected_thumbprint"] = better.thumbprint
        if better.server and server_name and better.server != server_name:
            base["source_server"] = better.server
    if cert.services is not None and "SMTP" not in cert.services:
        _emit(case, "config.certificate.not_smtp", ev, **base)
    if cert.not_after is not None:
        not_after = cert.not_after.isoformat()
        if cert.not_after <= case.now:
            _emit(case, "config.certificate.expired", ev, not_after=not_after, **base)
        elif cert.not_after <= case.now + timedelta(days=EXPIRING_DAYS):
            _emit(case, "config.certificate.expiring_soon", ev, not_after=not_after, **base)
    if cert.status.lower() in _BAD_STATUS:
        _emit(case, "config.certificate.status", ev, status=cert.status, **base)
    self_signed = _self_signed(cert)
    if self_signed:
        _emit(case, "config.certificate.self_signed", ev, **base)
    if cert.private_key is False:
        _emit(case, "config.certificate.no_private_key", ev, **base)
    cert_names = _cert_names(cert)
    uncovered = next((n for n in expected if not names.covered(cert_names, n)), None)
    if uncovered and not self_signed:
        _emit(case, "config.certificate.name_not_covered", ev, fqdn=uncovered, **base)


# -- receive connectors ----------------------------------------------------------------------


def _check_receive(case: _Case, connector: ReceiveConnector) -> None:
    expected = _expected_names(case, connector)
    facing = case.facing
    where = {"server": connector.server, "connector": connector.identity}
    if not _has_capability(connector):
        _emit(case, "config.receive.capability_missing", connector.evidence, **where)
    if connector.tls_name is None:
        wanted = _organisation_name(case, facing)
        cert = _replacement(case, connector.server, wanted, expected)
        _emit(
            case, "config.receive.no_certificate", connector.evidence,
            fqdn=expected[0] if expected else connector.fqdn, **where,
            **_suggestion(cert, connector.server),
        )  # fmt: skip
        return
    cert, known = _resolve(case, connector.tls_name, [connector.server])
    if cert is None:
        if known:
            _not_found(
                case, "receive", connector=connector.identity, server=connector.server,
                tls_name=connector.tls_name, text=connector.tls_name_text, expected=expected,
                evidence=connector.evidence,
            )  # fmt: skip
        return
    _check_certificate(
        case, cert, server=connector.server, connector=connector.identity, expected=expected,
        evidence=connector.evidence,
    )  # fmt: skip


def _suggestion(cert: Certificate | None, server: str) -> dict[str, FieldValue]:
    if cert is None:
        return {}
    found: dict[str, FieldValue] = {"thumbprint": cert.thumbprint}
    if cert.server and server and cert.server != server:
        found["source_server"] = cert.server
    return found


def _not_found(
    case: _Case, kind: str, *, connector: str, server: str, tls_name: tuple[str, str],
    text: str, expected: list[str], evidence: Evidence,
) -> None:  # fmt: skip
    """A TlsCertificateName that matches no installed certificate: usually a renewal after
    which the old certificate was removed. The likely replacement has the same subject name."""
    common = (dn.common_name(tls_name[1]) or "").lower()
    candidates = [
        c for c in (case.by_server.get(server) or case.config.certificates.values())
        if _usable(case, c)
        and ((common and common in (n.lower() for n in _cert_names(c)))
             or (expected and all(names.covered(_cert_names(c), n) for n in expected)))
    ]  # fmt: skip
    replacement = _latest(candidates)
    _emit(
        case, "config.connector.certificate_not_found", evidence, connector=connector,
        server=server, tls_certificate_name=text, connector_kind=kind,
        **_suggestion(replacement, server),
    )  # fmt: skip


def _check_consistency(case: _Case, facing: list[ReceiveConnector]) -> None:
    group = [c for c in facing if c.server]
    chosen: dict[str, Certificate | None] = {}
    keys: dict[str, object] = {}
    for connector in group:
        cert = (
            _resolve(case, connector.tls_name, [connector.server])[0]
            if connector.tls_name
            else None
        )
        chosen[connector.server] = cert
        keys[connector.server] = name_key(*connector.tls_name) if connector.tls_name else None
    if len(keys) < 2 or len(set(keys.values())) < 2:
        return
    detail = "; ".join(
        f"{server}: {_describe(cert, connector)}"
        for connector in sorted(group, key=lambda c: c.server)
        for server, cert in [(connector.server, chosen[connector.server])]
    )
    common = Counter(c.thumbprint for c in chosen.values() if c is not None).most_common(1)
    evidence = tuple(line for c in group for line in c.evidence[:1])
    _emit(
        case, "config.receive.inconsistent", evidence, servers=tuple(sorted(keys)),
        configured=detail, thumbprint=common[0][0] if common else "",
    )  # fmt: skip


def _describe(cert: Certificate | None, connector: ReceiveConnector) -> str:
    if connector.tls_name is None:
        return "none"
    if cert is None:
        return f"{dn.common_name(connector.tls_name[1]) or 'a certificate'} (not installed)"
    return f"{dn.common_name(cert.subject) or cert.subject} ({cert.thumbprint})"


# -- send connector, hybrid configuration ----------------------------------------------------


def _check_send(case: _Case, connector: SendConnector, hybrid_org: bool) -> None:
    where: dict[str, FieldValue] = {"connector": connector.identity}
    wrong: list[tuple[str, str]] = []
    if connector.require_tls is False:
        wrong.append(("RequireTLS", "$true"))
    level = connector.tls_auth_level
    if level and not level.isdigit() and level.lower() != "domainvalidation":
        wrong.append(("TlsAuthLevel", "DomainValidation"))
    if (
        level or connector.require_tls is not None
    ) and connector.tls_domain.lower() != EXO_TLS_DOMAIN:
        wrong.append(("TlsDomain", EXO_TLS_DOMAIN))
    if connector.cloud_services is False:
        wrong.append(("CloudServicesMailEnabled", "$true"))
    servers = connector.servers or (case.config.hybrid[0].sending if case.config.hybrid else ())
    if connector.tls_name is None and hybrid_org and (case.config.hybrid or _inbound_names(case)):
        wrong.append(("TlsCertificateName", ""))
    server = servers[0] if servers else ""
    if wrong:
        # The certificate the fix names: the connector's own, else the organisation's.
        named = _resolve(case, connector.tls_name, servers)[0] if connector.tls_name else None
        wanted = _organisation_name(case, case.facing)
        use = named or _replacement(case, server, wanted, _expected_names(case))
        where.update(_suggestion(use, server))
    for prop, value in wrong:
        _emit(
            case, "config.send.tls_settings", connector.evidence, property=prop,
            expected=value, server=server, **where,
        )  # fmt: skip
    if connector.tls_name is None:
        return
    cert, known = _resolve(case, connector.tls_name, servers)
    if cert is None:
        if known:
            _not_found(
                case, "send", connector=connector.identity,
                server=servers[0] if servers else "", tls_name=connector.tls_name,
                text=connector.tls_name_text, expected=[], evidence=connector.evidence,
            )  # fmt: skip
        return
    _check_certificate(
        case, cert, server=cert.server, connector=connector.identity, expected=[],
        evidence=connector.evidence,
    )  # fmt: skip


def _inbound_names(case: _Case) -> list[str]:
    return [
        c.tls_sender_certificate_name
        for c in case.config.exo.values()
        if c.direction == "inbound" and c.tls_sender_certificate_name and _to_on_premises(c)
    ]


def _check_hybrid(case: _Case, hybrid: Hybrid, facing: list[ReceiveConnector]) -> None:
    if hybrid.tls_name is None:
        return
    servers = (*hybrid.receiving, *hybrid.sending)
    cert, known = _resolve(case, hybrid.tls_name, servers)
    if cert is None and known:
        _not_found(
            case, "hybrid", connector="Hybrid Configuration",
            server=servers[0] if servers else "", tls_name=hybrid.tls_name,
            text=hybrid.tls_name_text, expected=_expected_names(case), evidence=hybrid.evidence,
        )  # fmt: skip
    elif cert is not None:
        _check_certificate(
            case, cert, server="", connector="Hybrid Configuration",
            expected=_expected_names(case), evidence=hybrid.evidence,
        )  # fmt: skip
    key = name_key(*hybrid.tls_name)
    named = [r.tls_name for r in facing if r.tls_name]
    named += [s.tls_name for s in case.config.send.values() if s.tls_name and _to_exo(s)]
    others = [n for n in named if n is not None and name_key(*n) != key]
    if others:
        _emit(
            case, "config.hybrid.certificate_mismatch", hybrid.evidence,
            tls_certificate_name=hybrid.tls_name_text,
            expected=f"<I>{others[0][0]}<S>{others[0][1]}",
            **_suggestion(_replacement(case, "", others[0], []), ""),
        )  # fmt: skip


# -- Exchange Online connectors --------------------------------------------------------------


def _named_certificates(case: _Case, facing: list[ReceiveConnector]) -> list[Certificate]:
    found: list[Certificate] = []
    for connector in facing:
        if connector.tls_name:
            cert, _ = _resolve(case, connector.tls_name, [connector.server])
            if cert is not None and cert not in found:
                found.append(cert)
    return found


def _pattern_covered(cert_names: Iterable[str], pattern: str) -> bool:
    """Does a certificate name satisfy a connector's name, which may be a wildcard itself?"""
    pattern = names.canonical(pattern)
    for name in cert_names:
        canonical = names.canonical(name)
        if canonical == pattern or names.matches(canonical, pattern):
            return True
        if pattern.startswith("*.") and "*" not in canonical and names.matches(pattern, canonical):
            return True
    return False


def _check_outbound(case: _Case, connector: ExoConnector, facing: list[ReceiveConnector]) -> None:
    if connector.tls_settings.lower() != "domainvalidation" or not connector.tls_domain:
        return
    certs = _named_certificates(case, facing)
    for cert in certs:
        if not _pattern_covered(_cert_names(cert), connector.tls_domain):
            covered = [n for n in _cert_names(cert) if "." in n]
            # Prefer a name the connector already delivers to (its smart host).
            hosts = [h for h in connector.smart_hosts if names.covered(covered, h)]
            covered = hosts + covered
            _emit(
                case, "config.exo.outbound_tls_domain", (*connector.evidence, *cert.evidence),
                connector=connector.identity, tls_domain=connector.tls_domain,
                thumbprint=cert.thumbprint, expected=covered[0] if covered else "",
            )  # fmt: skip
            return


def _send_certificates(case: _Case) -> list[Certificate]:
    found: list[Certificate] = []
    for connector in case.config.send.values():
        if _to_exo(connector) and connector.tls_name:
            servers = connector.servers or (
                case.config.hybrid[0].sending if case.config.hybrid else ()
            )
            cert, _ = _resolve(case, connector.tls_name, servers)
            if cert is not None:
                found.append(cert)
    if not found:
        for hybrid in case.config.hybrid:
            if hybrid.tls_name:
                cert, _ = _resolve(case, hybrid.tls_name, hybrid.sending)
                if cert is not None:
                    found.append(cert)
    return found


def _check_inbound(case: _Case, connector: ExoConnector) -> None:
    name = connector.tls_sender_certificate_name
    if not name:
        return
    for cert in _send_certificates(case):
        if not _pattern_covered(_cert_names(cert), name):
            covered = [n for n in _cert_names(cert) if "." in n]
            _emit(
                case, "config.exo.inbound_certificate_mismatch",
                (*connector.evidence, *cert.evidence), connector=connector.identity,
                tls_sender_certificate_name=name, thumbprint=cert.thumbprint,
                expected=covered[0] if covered else "",
            )  # fmt: skip
            break
    if case.config.accepted:
        domain = names.canonical(name).removeprefix("*.")
        accepted = any(domain == d or domain.endswith("." + d) for d in case.config.accepted)
        if not accepted:
            _emit(
                case, "config.exo.certificate_domain_not_accepted", connector.evidence,
                connector=connector.identity, domain=domain, tls_sender_certificate_name=name,
            )  # fmt: skip


# -- live probes of the same case ------------------------------------------------------------


def _check_probe(case: _Case, probe: Probe, facing: list[ReceiveConnector]) -> None:
    if not facing:
        return
    owners = case.by_thumbprint.get(probe.thumbprint, [])
    servers = {c.server for c in owners if c.server}
    candidates = [r for r in facing if r.server in servers] if servers else facing
    expected: Counter[str] = Counter()
    where: dict[str, FieldValue] = {}
    wanted = _organisation_name(case, facing)
    for connector in candidates:
        if connector.tls_name:
            cert, _ = _resolve(case, connector.tls_name, [connector.server])
        else:
            cert = _replacement(case, connector.server, wanted, _expected_names(case, connector))
        if cert is not None:
            expected[cert.thumbprint] += 1
            if servers and not where:
                where = {"server": connector.server, "connector": connector.identity}
    if not expected:
        return
    thumbprint = expected.most_common(1)[0][0]
    if thumbprint == probe.thumbprint:
        return
    _emit(
        case, "config.probe.presented_other_certificate", probe.evidence, ip=probe.ip,
        remote_host=probe.host, thumbprint=probe.thumbprint, expected_thumbprint=thumbprint,
        subject=probe.subject, **where,
    )  # fmt: skip


def _emit(case: _Case, rule: str, evidence: Evidence, **values: FieldValue) -> None:
    core = {
        k: values.pop(k)
        for k in ("server", "connector", "fqdn", "ip", "remote_host")
        if k in values
    }
    extra = {k: value for k, value in values.items() if value not in (None, "", ())}
    extra["config_rule"] = rule
    lines = evidence[0][0] if evidence else 0
    case.facts.append(
        Fact(
            source=SOURCE,
            kind=FactKind.CONFIG,
            reason="failedstarttls",  # each of these ends in a failed or refused TLS session
            lines=(lines, lines),
            evidence=tuple(dict.fromkeys(evidence))[:5],
            extra=extra,
            **{k: str(value) for k, value in core.items() if value},  # type: ignore[arg-type]
        )
    )
