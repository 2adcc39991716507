"""Real DNS servers for the DANE tests, on loopback: zones signed at test time with bind9-utils
(dnssec-keygen, dnssec-signzone), served by knotd (authoritative; it binds any loopback address
and port) and resolved by unbound as a validating resolver that trusts the test zone's KSK and
never asks anything outside the test zones. scripts/install-dns.sh installs them; tests skip
with `dns_tools_unavailable()` as the reason when they are missing.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import shutil
import socket
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Self

import dns.message
import dns.query
import dns.rcode

from tests.fakes.lifecycle import LoopbackService

TOOLS = ("knotd", "unbound", "dnssec-keygen", "dnssec-signzone")
_SBIN = ("/usr/sbin", "/usr/bin", "/sbin")


def _tool(name: str) -> str | None:
    found = shutil.which(name)
    if found:
        return found
    for folder in _SBIN:
        path = Path(folder) / name
        if path.exists():
            return str(path)
    return None


def dns_tools_unavailable() -> str | None:
    missing = [name for name in TOOLS if _tool(name) is None]
    if missing:
        return f"{', '.join(missing)} not installed (scripts/install-dns.sh installs them)"
    return None


def free_port(host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on `host` right now."""
    for _ in range(100):
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as udp:
            udp.bind((host, 0))
            port: int = udp.getsockname()[1]
            with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as tcp:
                try:
                    tcp.bind((host, port))
                except OSError:
                    continue
                return port
    raise RuntimeError("no free port")


@dataclass(frozen=True)
class SignedZone:
    origin: str  # "dane.test"
    file: Path
    anchor: str  # the KSK as a DNSKEY line ("dane.test. IN DNSKEY 257 3 13 ...")
    signed: bool = True


def _run(*args: str, cwd: Path) -> str:
    done = subprocess.run(args, cwd=cwd, capture_output=True, text=True, check=False, timeout=60)
    if done.returncode != 0:
        raise RuntimeError(f"{args[0]} failed: {done.stderr.strip()[:500]}")
    return done.stdout.strip()


def zone_text(origin: str, records: Sequence[str]) -> str:
    head = [
        f"$ORIGIN {origin}.",
        "$TTL 300",
        "@ IN SOA ns hostmaster 1 3600 600 86400 300",
        "@ IN NS ns",
        "ns IN A 127.0.0.1",
    ]
    return "\n".join([*head, *records]) + "\n"


def write_unsigned(directory: Path, origin: str, records: Sequence[str]) -> SignedZone:
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{origin}.zone"
    path.write_text(zone_text(origin, records))
    return SignedZone(origin, path, "", signed=False)


def sign_zone(
    directory: Path,
    origin: str,
    records: Sequence[str],
    *,
    corrupt: Sequence[tuple[str, str]] = (),
    strip: Sequence[tuple[str, str]] = (),
    nsec3_opt_out: bool = False,
) -> SignedZone:
    """Sign with a fresh KSK and ZSK (ECDSA P-256, NSEC). `corrupt`: (owner, type) pairs whose
    RRSIG is then damaged, so that validation of that RRset fails (a bogus answer); `strip`:
    pairs whose RRSIG is removed (an unsigned answer from a signed zone, bogus too);
    `nsec3_opt_out`: NSEC3 (no salt) with opt-out instead of NSEC, as large TLDs sign."""
    directory.mkdir(parents=True, exist_ok=True)
    source = directory / f"{origin}.zone"
    source.write_text(zone_text(origin, records))
    keygen, signer = _tool("dnssec-keygen"), _tool("dnssec-signzone")
    assert keygen is not None and signer is not None
    ksk = _run(keygen, "-q", "-K", str(directory), "-a", "ECDSAP256SHA256", "-f", "KSK",
               "-n", "ZONE", origin, cwd=directory)  # fmt: skip
    _run(keygen, "-q", "-K", str(directory), "-a", "ECDSAP256SHA256", "-n", "ZONE", origin,
         cwd=directory)  # fmt: skip
    signed = directory / f"{origin}.signed"
    nsec3 = ["-3", "-", "-A"] if nsec3_opt_out else []
    _run(signer, "-q", "-K", str(directory), "-S", "-O", "full", *nsec3, "-o", origin,
         "-f", str(signed), str(source), cwd=directory)  # fmt: skip
    if corrupt or strip:
        signed.write_text(_corrupted(signed.read_text(), origin, corrupt, strip))
    key_lines = (directory / f"{ksk}.key").read_text().splitlines()
    anchor = next(line for line in key_lines if line and not line.startswith(";"))
    return SignedZone(origin, signed, anchor)


def _corrupted(
    text: str, origin: str, targets: Sequence[tuple[str, str]], strip: Sequence[tuple[str, str]]
) -> str:
    wanted = {(f"{owner}.{origin}.".lower(), rtype.upper()) for owner, rtype in targets}
    removed = {(f"{owner}.{origin}.".lower(), rtype.upper()) for owner, rtype in strip}
    lines = []
    for line in text.splitlines():
        fields = line.split()
        if len(fields) > 5 and fields[3] == "RRSIG" and (fields[0].lower(), fields[4]) in removed:
            continue
        if len(fields) > 12 and fields[3] == "RRSIG" and (fields[0].lower(), fields[4]) in wanted:
            signature = base64.b64decode("".join(fields[12:]))
            damaged = bytes([signature[0] ^ 0xFF]) + signature[1:]
            lines.append(" ".join([*fields[:12], base64.b64encode(damaged).decode()]))
        else:
            lines.append(line)
    return "\n".join(lines) + "\n"


async def _answers(host: str, port: int, name: str, *, timeout: float = 10.0) -> None:
    """Wait until the server at host:port answers SOA of `name`."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    query = dns.message.make_query(name, "SOA")
    while True:
        try:
            reply = await asyncio.to_thread(dns.query.udp, query, host, 0.5, port)
            if reply.rcode() == dns.rcode.NOERROR:
                return
        except (OSError, dns.exception.DNSException):
            pass
        if loop.time() > deadline:
            raise RuntimeError(f"DNS server on {host}:{port} did not answer for {name}")
        await asyncio.sleep(0.1)


class _Process(LoopbackService):
    def __init__(self, directory: Path, host: str) -> None:
        directory.mkdir(parents=True, exist_ok=True)
        self.directory = directory
        self.host = host
        self.port = 0
        self._process: asyncio.subprocess.Process | None = None

    @property
    def address(self) -> str:
        return f"{self.host}:{self.port}"

    async def _spawn(self, *args: str) -> None:
        self._process = await asyncio.create_subprocess_exec(
            *args, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.PIPE,
            cwd=self.directory,
        )  # fmt: skip

    async def stop(self) -> None:
        process = self._process
        if process is None or process.returncode is not None:
            return
        process.terminate()
        try:
            async with asyncio.timeout(5):
                await process.wait()
        except TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()

    async def _ready(self, name: str) -> None:
        try:
            await _answers(self.host, self.port, name)
        except RuntimeError:
            error = b""
            if self._process is not None and self._process.returncode is not None:
                assert self._process.stderr is not None
                error = await self._process.stderr.read()
            await self.stop()
            raise RuntimeError(f"{type(self).__name__} did not start: {error[-500:]!r}") from None


class KnotServer(_Process):
    """knotd serving the given zone files (presigned or unsigned) on host:port."""

    def __init__(self, directory: Path, zones: Sequence[SignedZone], host: str = "127.0.0.1"):
        super().__init__(directory, host)
        self.zones = tuple(zones)

    async def start(self) -> Self:
        self.port = free_port(self.host)
        knotd = _tool("knotd")
        assert knotd is not None
        conf = self.directory / "knot.conf"
        zones = "\n".join(f'  - domain: "{z.origin}."\n    file: "{z.file}"' for z in self.zones)
        conf.write_text(
            f'server:\n    listen: {self.host}@{self.port}\n    rundir: "{self.directory}"\n'
            f'database:\n    storage: "{self.directory}/knotdb"\n'
            f"log:\n  - target: stderr\n    any: error\n"
            f'template:\n  - id: default\n    storage: "{self.directory}"\n'
            f"    zonefile-sync: -1\n    zonefile-load: whole\n    journal-content: none\n"
            f"zone:\n{zones}\n"
        )
        await self._spawn(knotd, "-c", str(conf))
        await self._ready(self.zones[0].origin)
        return self


class UnboundResolver(_Process):
    """unbound validating with the test anchors, recursing only into the stub zones."""

    def __init__(
        self,
        directory: Path,
        stubs: Mapping[str, str],  # zone -> "IP@PORT" of its authoritative server
        anchors: Sequence[str],
        insecure: Sequence[str] = (),
        host: str = "127.0.0.1",
    ) -> None:
        super().__init__(directory, host)
        self.stubs = dict(stubs)
        self.anchors = tuple(anchors)
        self.insecure = tuple(insecure)

    async def start(self) -> Self:
        self.port = free_port(self.host)
        unbound = _tool("unbound")
        assert unbound is not None
        anchor_file = self.directory / "unbound-anchors.key"
        anchor_file.write_text("\n".join(self.anchors) + "\n")
        lines = [
            "server:",
            f"    interface: {self.host}@{self.port}",
            f"    port: {self.port}",
            '    username: ""', '    chroot: ""',
            f'    directory: "{self.directory}"', f'    pidfile: "{self.directory}/unbound.pid"',
            "    do-daemonize: no", "    use-syslog: no", "    verbosity: 0",
            "    do-not-query-localhost: no", "    qname-minimisation: no",
            '    module-config: "validator iterator"',
            f'    trust-anchor-file: "{anchor_file}"',
            "    val-log-level: 0", "    cache-max-ttl: 1", "    cache-max-negative-ttl: 1",
            '    local-zone: "." refuse',
            *(f'    local-zone: "{zone}." transparent' for zone in self.stubs),
            *(f'    domain-insecure: "{zone}."' for zone in self.insecure),
        ]  # fmt: skip
        for zone, where in self.stubs.items():
            lines += ["stub-zone:", f'    name: "{zone}."', f"    stub-addr: {where}"]
        conf = self.directory / "unbound.conf"
        conf.write_text("\n".join(lines) + "\n")
        await self._spawn(unbound, "-d", "-c", str(conf))
        await self._ready(next(iter(self.stubs)))
        return self
