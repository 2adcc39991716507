"""DNS lookups with a DNSSEC verdict, for the policy checks (DANE, MTA-STS, TLS-RPT).

Two ways to judge DNSSEC, and the evidence says which one was used:
- a resolver the operator configured as validating (`--dnssec-resolver`): its AD bit is trusted
  (secure), a SERVFAIL that goes away with checking disabled (CD) is bogus;
- otherwise our own validation with dnspython's `dns.dnssec`: every answer is asked with DO and
  CD, and its RRSIGs are checked against DNSKEYs proven by DS records from a trust anchor (the
  root's, config/root-anchors.txt, or a `--trust-anchor` file). An unsigned answer is insecure
  when a signed parent proves the delegation has no DS (NSEC/NSEC3), bogus when a signed parent
  has a DS for it, and indeterminate when the name servers return no DNSSEC data at all.
Nothing here judges findings; outcomes are values, never exceptions.
"""

from __future__ import annotations

import asyncio
import base64
import functools
import importlib
import time
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from types import ModuleType

import dns._features
import dns.asyncquery
import dns.exception
import dns.flags
import dns.message
import dns.name
import dns.rcode
import dns.rdata
import dns.rdataclass
import dns.rdatatype
import dns.rdtypes.ANY.DNSKEY
import dns.rdtypes.ANY.DS
import dns.rrset
from dns.exception import UnsupportedAlgorithm, ValidationFailure

from bot.core.paths import ConfigError, config_dir
from bot.core.policy_evidence import DnsAnswer, DnssecStatus
from bot.probe.resolver import Nameserver

ROOT_ANCHORS = config_dir() / "root-anchors.txt"
MAX_ANCHOR_BYTES = 1 << 20
_MAX_CHAIN = 12  # zone cuts followed from an anchor down to a signer
_PAYLOAD = 4096

Anchors = dict[dns.name.Name, tuple[dns.rdata.Rdata, ...]]  # zone -> DS / DNSKEY rdata


class TrustAnchorError(ConfigError):
    """A trust anchor file cannot be used; str() is one line."""


def parse_trust_anchors(text: str, source: str) -> Anchors:
    """DS or DNSKEY records in zone-file form (`name [ttl] [IN] DS|DNSKEY rdata`), one a line;
    `;` and `#` start comments."""
    anchors: dict[dns.name.Name, list[dns.rdata.Rdata]] = {}
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split(";", 1)[0].split("#", 1)[0].strip()
        if not line:
            continue
        tokens = line.split()
        kinds = [i for i, t in enumerate(tokens) if t.upper() in ("DS", "DNSKEY")]
        if not kinds or kinds[0] == 0:
            raise TrustAnchorError(f"{source}: line {number}: expected 'name IN DS|DNSKEY ...'")
        index = kinds[0]
        try:
            name = dns.name.from_text(tokens[0])
            rdtype = dns.rdatatype.from_text(tokens[index].upper())
            rdata = dns.rdata.from_text(dns.rdataclass.IN, rdtype, " ".join(tokens[index + 1 :]))
        except (dns.exception.DNSException, ValueError) as exc:
            raise TrustAnchorError(f"{source}: line {number}: {exc}") from None
        anchors.setdefault(name, []).append(rdata)
    if not anchors:
        raise TrustAnchorError(f"{source}: no DS or DNSKEY record")
    return {name: tuple(values) for name, values in anchors.items()}


def load_trust_anchors(path: Path | None = None) -> Anchors:
    path = path or ROOT_ANCHORS
    try:
        with path.open("rb") as handle:
            data = handle.read(MAX_ANCHOR_BYTES + 1)
    except OSError as exc:
        raise TrustAnchorError(f"cannot read {path}: {exc.strerror or exc}") from None
    if len(data) > MAX_ANCHOR_BYTES:
        raise TrustAnchorError(f"{path}: larger than 1 MiB")
    return parse_trust_anchors(data.decode("utf-8", "replace"), str(path))


def _dnssec_feature() -> bool:
    """What dnspython's own check (a scan of every installed distribution's metadata, tens of
    ms per process) would answer for the installed cryptography package."""
    import cryptography  # noqa: PLC0415 - loaded by the judgement anyway

    try:
        needed = dns._features._requirements["dnssec"]
        minimum = dns._features._tuple_from_text(needed[0].split(">=", 1)[1])
        return bool(dns._features._tuple_from_text(cryptography.__version__) >= minimum)
    except (AttributeError, KeyError, IndexError, TypeError, ValueError):
        return dns._features.have("dnssec")  # dnspython changed: let it decide


@functools.cache
def _dnssec() -> ModuleType:
    """dns.dnssec, imported once its optional feature is settled without the metadata scan."""
    dns._features.force("dnssec", _dnssec_feature())
    return importlib.import_module("dns.dnssec")


# --- queries ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Reply:
    message: dns.message.Message | None
    error: str | None = None


class _Querier:
    """Asks the nameservers in turn (UDP, TCP on truncation), each query bounded."""

    def __init__(self, servers: Sequence[Nameserver], timeout: float, deadline: float | None):
        self.servers = tuple(servers)
        self.timeout = timeout
        self.deadline = deadline

    def _budget(self) -> float:
        budget = self.timeout
        if self.deadline is not None:
            budget = min(budget, self.deadline - asyncio.get_running_loop().time())
        return budget

    async def ask(self, name: dns.name.Name, rdtype: str, *, cd: bool, ad: bool = False) -> _Reply:
        if not self.servers:
            return _Reply(None, "no nameserver configured")
        query = dns.message.make_query(name, rdtype, want_dnssec=True, payload=_PAYLOAD)
        query.flags |= dns.flags.RD
        if cd:
            query.flags |= dns.flags.CD
        if ad:
            query.flags |= dns.flags.AD  # RFC 6840 §5.7: ask for the AD bit
        error = "no nameserver answered"
        for server in self.servers:
            budget = self._budget()
            if budget <= 0:
                return _Reply(None, "timeout (check deadline)")
            try:
                async with asyncio.timeout(budget + 0.5):
                    response, _ = await dns.asyncquery.udp_with_fallback(
                        query, server.ip, timeout=min(2.0, budget), port=server.port
                    )
            except (dns.exception.Timeout, TimeoutError):
                error = "timeout"
                continue
            except (OSError, dns.exception.DNSException) as exc:
                error = f"query failed: {type(exc).__name__}"
                continue
            return _Reply(response)
        return _Reply(None, error)


def _rcode(message: dns.message.Message) -> str:
    return dns.rcode.to_text(message.rcode())


def _values(rrset: dns.rrset.RRset | None) -> tuple[str, ...]:
    if rrset is None:
        return ()
    if rrset.rdtype == dns.rdatatype.TXT:
        return tuple(b"".join(r.strings).decode("utf-8", "backslashreplace") for r in rrset)
    return tuple(r.to_text() for r in rrset)


def _final(
    message: dns.message.Message, name: dns.name.Name, rdtype: int
) -> dns.rrset.RRset | None:
    """The answer RRset of `rdtype` at the end of the CNAME chain in the answer section."""
    current = name
    for _ in range(_MAX_CHAIN):
        for rrset in message.answer:
            if rrset.name == current and rrset.rdtype == rdtype:
                return rrset
        cname = next(
            (r for r in message.answer if r.name == current and r.rdtype == dns.rdatatype.CNAME),
            None,
        )
        if cname is None:
            return None
        current = cname[0].target
    return None


def _sigs(section: Sequence[dns.rrset.RRset], rrset: dns.rrset.RRset) -> dns.rrset.RRset | None:
    for candidate in section:
        if (candidate.rdtype == dns.rdatatype.RRSIG and candidate.name == rrset.name
                and candidate.covers == rrset.rdtype):  # fmt: skip
            return candidate
    return None


# --- the AD-bit path --------------------------------------------------------------------------


class AdBitLookup:
    """DNSSEC as judged by a validating resolver the operator named."""

    def __init__(self, server: Nameserver, timeout: float, deadline: float | None) -> None:
        self.querier = _Querier((server,), timeout, deadline)
        self.validation = f"the AD bit of the validating resolver {server}"

    async def lookup(self, name: str, rdtype: str) -> DnsAnswer:
        qname = dns.name.from_text(name)
        reply = await self.querier.ask(qname, rdtype, cd=False, ad=True)
        if reply.message is None:
            return DnsAnswer(name, rdtype, error=reply.error)
        message = reply.message
        rcode = _rcode(message)
        if rcode == "SERVFAIL":
            retry = await self.querier.ask(qname, rdtype, cd=True)
            if retry.message is not None and _rcode(retry.message) in ("NOERROR", "NXDOMAIN"):
                values = _values(_final(retry.message, qname, dns.rdatatype.from_text(rdtype)))
                return DnsAnswer(name, rdtype, values, DnssecStatus.BOGUS, "SERVFAIL",
                                 "the validating resolver rejects the signatures (SERVFAIL; "
                                 "the data is there with checking disabled)")  # fmt: skip
            return DnsAnswer(name, rdtype, error="SERVFAIL")
        status = DnssecStatus.SECURE if message.flags & dns.flags.AD else DnssecStatus.INSECURE
        detail = "" if status is DnssecStatus.SECURE else "the validating resolver did not set AD"
        if rcode not in ("NOERROR", "NXDOMAIN"):
            return DnsAnswer(name, rdtype, error=rcode)
        values = _values(_final(message, qname, dns.rdatatype.from_text(rdtype)))
        error = "NXDOMAIN" if rcode == "NXDOMAIN" else None
        return DnsAnswer(name, rdtype, values, status, error, detail)


# --- our own validation -----------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _Keys:
    status: DnssecStatus
    keys: dns.rrset.RRset | None = None  # the zone's validated DNSKEY RRset when SECURE
    detail: str = ""


class ValidatingLookup:
    """DNSSEC validated here, from trust anchors, with dnspython's dns.dnssec."""

    def __init__(
        self,
        servers: Sequence[Nameserver],
        anchors: Anchors,
        *,
        source: str,
        timeout: float,
        deadline: float | None,
    ) -> None:
        self.querier = _Querier(servers, timeout, deadline)
        self.anchors = anchors
        self.validation = f"own DNSSEC validation from {source}"
        self._zones: dict[dns.name.Name, asyncio.Task[_Keys]] = {}

    async def lookup(self, name: str, rdtype: str) -> DnsAnswer:
        qname = dns.name.from_text(name)
        reply = await self.querier.ask(qname, rdtype, cd=True)
        if reply.message is None:
            return DnsAnswer(name, rdtype, error=reply.error)
        message = reply.message
        rcode = _rcode(message)
        if rcode not in ("NOERROR", "NXDOMAIN"):
            return DnsAnswer(name, rdtype, error=rcode)
        error = "NXDOMAIN" if rcode == "NXDOMAIN" else None
        final = _final(message, qname, dns.rdatatype.from_text(rdtype))
        values = _values(final)
        if not message.answer:
            status, detail = await self._negative(message)
            return DnsAnswer(name, rdtype, values, status, error, detail)
        status, detail = DnssecStatus.SECURE, ""
        for rrset in message.answer:  # each CNAME of the chain and the final RRset
            if rrset.rdtype == dns.rdatatype.RRSIG:
                continue
            status, detail = await self._rrset_status(rrset, _sigs(message.answer, rrset))
            if status is not DnssecStatus.SECURE:
                break
        return DnsAnswer(name, rdtype, values, status, error, detail)

    async def _negative(self, message: dns.message.Message) -> tuple[DnssecStatus, str]:
        """A denial: judged by the signature of the zone's SOA in the authority section (the
        NSEC/NSEC3 coverage itself is not re-proven)."""
        for rrset in message.authority:
            if rrset.rdtype == dns.rdatatype.SOA:
                return await self._rrset_status(rrset, _sigs(message.authority, rrset))
        return DnssecStatus.INDETERMINATE, "no SOA in the denial"

    async def _rrset_status(
        self, rrset: dns.rrset.RRset, sigs: dns.rrset.RRset | None
    ) -> tuple[DnssecStatus, str]:
        if sigs is None:
            return await self._unsigned(rrset.name)
        signer = sigs[0].signer
        keys = await self.zone_keys(signer)
        if keys.status is not DnssecStatus.SECURE or keys.keys is None:
            return keys.status, keys.detail
        try:
            _dnssec().validate(rrset, sigs, {signer: keys.keys}, now=time.time())
        except ValidationFailure as exc:
            return DnssecStatus.BOGUS, f"RRSIG of {_text(rrset.name)} does not validate ({exc})"
        return DnssecStatus.SECURE, f"signed by {_text(signer)}"

    async def _unsigned(self, owner: dns.name.Name) -> tuple[DnssecStatus, str]:
        """An answer without RRSIG: insecure only if its zone is provably unsigned."""
        zone = await self._zone_of(owner)
        if zone is None:
            return DnssecStatus.INDETERMINATE, "the name servers returned no DNSSEC data"
        keys = await self.zone_keys(zone)
        if keys.status is DnssecStatus.SECURE:
            return DnssecStatus.BOGUS, f"unsigned answer from the signed zone {_text(zone)}"
        return keys.status, keys.detail

    async def _zone_of(self, owner: dns.name.Name) -> dns.name.Name | None:
        reply = await self.querier.ask(owner, "SOA", cd=True)
        if reply.message is None:
            return None
        for rrset in (*reply.message.answer, *reply.message.authority):
            if rrset.rdtype == dns.rdatatype.SOA:
                return rrset.name
        return None

    def zone_keys(self, zone: dns.name.Name) -> asyncio.Task[_Keys]:
        """The zone's DNSKEY RRset proven from an anchor, once per zone and lookup."""
        if zone not in self._zones:
            self._zones[zone] = asyncio.ensure_future(self._zone_keys(zone, 0))
        return self._zones[zone]

    def _anchor_for(self, zone: dns.name.Name) -> dns.name.Name | None:
        candidates = [a for a in self.anchors if zone.is_subdomain(a)]
        return max(candidates, key=len) if candidates else None

    async def _zone_keys(self, zone: dns.name.Name, depth: int) -> _Keys:
        if self._anchor_for(zone) is None:
            return _Keys(
                DnssecStatus.INSECURE, detail=f"{_text(zone)} is outside the trust anchors"
            )
        if zone in self.anchors:
            return await self._dnskeys(zone, self.anchors[zone])
        if depth > _MAX_CHAIN:
            return _Keys(DnssecStatus.INDETERMINATE, detail="chain of trust too long")
        reply = await self.querier.ask(zone, "DS", cd=True)
        if reply.message is None:
            return _Keys(DnssecStatus.INDETERMINATE, detail=f"DS of {_text(zone)}: {reply.error}")
        message = reply.message
        ds = _final(message, zone, dns.rdatatype.DS)
        if ds is not None:
            sigs = _sigs(message.answer, ds)
            if sigs is None:
                return _Keys(DnssecStatus.INDETERMINATE, detail=f"DS of {_text(zone)} unsigned")
            status, detail = await self._rrset_status(ds, sigs)
            if status is not DnssecStatus.SECURE:
                return _Keys(status, detail=detail)
            return await self._dnskeys(zone, tuple(ds))
        return await self._no_ds(zone, message)

    async def _no_ds(self, zone: dns.name.Name, message: dns.message.Message) -> _Keys:
        """No DS at `zone`: a signed NSEC/NSEC3 from the parent proves an insecure delegation."""
        for rrset in message.authority:
            if rrset.rdtype not in (dns.rdatatype.NSEC, dns.rdatatype.NSEC3):
                continue
            if not _denies_ds(rrset, zone):
                continue  # a denial of something else (another name, a wildcard)
            status, detail = await self._rrset_status(rrset, _sigs(message.authority, rrset))
            if status is DnssecStatus.SECURE:
                return _Keys(DnssecStatus.INSECURE, detail=f"{_text(zone)} has no DS: unsigned")
            return _Keys(status, detail=detail)
        for rrset in message.authority:  # no denial records: is the parent signed at all?
            if rrset.rdtype == dns.rdatatype.SOA and rrset.name != zone:
                status, detail = await self._rrset_status(rrset, _sigs(message.authority, rrset))
                if status is DnssecStatus.SECURE:
                    return _Keys(DnssecStatus.BOGUS,
                                 detail=f"no proof that {_text(zone)} has no DS")  # fmt: skip
                return _Keys(status, detail=detail)
        if message.rcode() == dns.rcode.NOERROR and not message.authority:
            # the zone is not a delegation point: its parent's keys are the ones
            parent = zone.parent() if zone != dns.name.root else zone
            return await self.zone_keys(parent)
        return _Keys(DnssecStatus.INDETERMINATE, detail=f"no DNSSEC data for {_text(zone)}")

    async def _dnskeys(self, zone: dns.name.Name, proof: Sequence[dns.rdata.Rdata]) -> _Keys:
        reply = await self.querier.ask(zone, "DNSKEY", cd=True)
        if reply.message is None:
            return _Keys(
                DnssecStatus.INDETERMINATE, detail=f"DNSKEY of {_text(zone)}: {reply.error}"
            )
        keys = _final(reply.message, zone, dns.rdatatype.DNSKEY)
        if keys is None:
            return _Keys(DnssecStatus.INDETERMINATE, detail=f"no DNSKEY for {_text(zone)}")
        trusted = [k for k in keys if _proven(zone, k, proof)]
        if not trusted:
            return _Keys(DnssecStatus.BOGUS, detail=f"no DNSKEY of {_text(zone)} matches its DS")
        sigs = _sigs(reply.message.answer, keys)
        if sigs is None:
            return _Keys(DnssecStatus.BOGUS, detail=f"DNSKEY of {_text(zone)} is not signed")
        anchor_set = dns.rrset.from_rdata_list(zone, keys.ttl, trusted)
        try:
            _dnssec().validate(keys, sigs, {zone: anchor_set}, now=time.time())
        except ValidationFailure as exc:
            return _Keys(DnssecStatus.BOGUS, detail=f"DNSKEY of {_text(zone)}: {exc}")
        return _Keys(DnssecStatus.SECURE, keys)


def _types_after(text: str, skip: int) -> set[str]:
    return {token.upper() for token in text.split()[skip:]}


def _denies_ds(rrset: dns.rrset.RRset, zone: dns.name.Name) -> bool:
    """Whether this NSEC/NSEC3 record says `zone` has no DS: it matches the name and lacks DS in
    its type bitmap, or (NSEC) covers the name, or (NSEC3) covers it with the opt-out flag."""
    for rdata in rrset:
        if rrset.rdtype == dns.rdatatype.NSEC:
            if rrset.name == zone:
                return "DS" not in _types_after(rdata.to_text(), 1)
            if rrset.name < zone < rdata.next or (rdata.next <= rrset.name < zone):
                return True  # the name does not exist (the last NSEC wraps to the apex)
            continue
        try:
            hashed = _dnssec().nsec3_hash(zone, rdata.salt, rdata.iterations, rdata.algorithm)
        except (ValueError, UnsupportedAlgorithm):
            continue
        owner = rrset.name.labels[0].decode("ascii").upper()
        if owner == hashed:
            return "DS" not in _types_after(rdata.to_text(), 5)
        following = base64.b32hexencode(rdata.next).decode("ascii").rstrip("=").upper()
        covers = owner < hashed < following or (following <= owner < hashed)
        if covers and rdata.flags & 1:  # opt-out: unsigned delegations are not listed
            return True
    return False


def _proven(zone: dns.name.Name, key: dns.rdata.Rdata, proof: Sequence[dns.rdata.Rdata]) -> bool:
    for item in proof:
        if isinstance(item, dns.rdtypes.ANY.DNSKEY.DNSKEY):
            if item == key:
                return True
        elif isinstance(item, dns.rdtypes.ANY.DS.DS):
            try:
                if _dnssec().make_ds(zone, key, item.digest_type) == item:
                    return True
            except (UnsupportedAlgorithm, ValueError):
                continue
    return False


def _text(name: dns.name.Name) -> str:
    return name.to_text(omit_final_dot=name != dns.name.root)


DnssecLookup = AdBitLookup | ValidatingLookup
