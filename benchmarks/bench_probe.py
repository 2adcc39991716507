"""Probe benchmark: a whole `mailflow check` process against its peers, the fan-out of one check
over 1, 16, 64 and 128 addresses, and the peak memory of a check process at 128 addresses.

Run from the repository root:  python -m benchmarks.bench_probe

Everything runs on loopback. Servers run in separate processes so that their CPU is not billed
to the probe: a DNS server and scripted SMTP/STARTTLS servers on 127.0.1.1-128 (one shared
port) that wait LATENCY seconds before each reply, standing in for a network round trip (on
bare loopback every step takes microseconds and a fan-out benchmark would only measure CPU),
and one server on 127.0.2.1 with no added latency for the comparison with the peers.

1. Peers, on the same server, whole processes, in one run with alternating order:
   `mailflow check DOMAIN` (DNS, 2 attempts, judgement, report: what a user runs),
   `sslyze --starttls smtp --certinfo` (installed from PyPI into benchmarks/.venv-peers by this
   benchmark) and `openssl s_client -starttls smtp -brief`, plus one STARTTLS dialogue of our
   probe in-process. Targets (issue 8): the whole process <= 0.35x sslyze; one dialogue
   in-process <= 1x the openssl process; the whole process vs openssl is reported as the floor.
2. Fan-out: whole checks (in-process, attempts=2) of domains with 1, 16, 64 and 128 addresses
   (16 per MX host), rounds in rotating order. Target: <= 1.5x the slowest single handshake
   (the slowest attempt of the same check) up to 128 addresses; the ratio to the one-address
   check and our CPU per attempt are printed next to it.
3. Peak RSS of a `mailflow check` process at 128 addresses, the median of 5 processes
   (target < 120 MB).

A measurement, not a test: always exits 0.
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import shutil
import ssl
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from multiprocessing.queues import Queue
from pathlib import Path

from bot.core.domain import normalise_target
from bot.core.evidence import CheckEvidence
from bot.probe.engine import CheckRequest, run_check
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from bot.probe.smtp import probe_starttls
from tests.fakes.certs import CertFactory
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, free_common_port, server_context

FANOUT_SIZES = (1, 16, 64, 128)
PER_HOST = 16  # addresses per MX host in the fan-out domains
LATENCY = 0.05  # seconds before each server reply
FANOUT_ROUNDS = 7
PEER_ROUNDS = 9
DIALOGUE_RUNS = 20
RSS_RUNS = 5
DIRECT_HOST = "127.0.2.1"
DIRECT_DOMAIN = "direct.bench.test"
DIRECT_MX = "mx.direct.bench.test"
# 128 real MX addresses are 128 machines: the fake servers are spread over several processes
# so that their TLS work is not serialised in one event loop (which the probe would measure).
SERVER_PROCESSES = 4
REPO = Path(__file__).resolve().parents[1]
PEERS_VENV = REPO / "benchmarks" / ".venv-peers"
SSLYZE_REQUIREMENT = "sslyze>=6.0"


def _addresses() -> list[str]:
    return [f"127.0.1.{n}" for n in range(1, max(FANOUT_SIZES) + 1)]


def _domain(size: int) -> str:
    return f"fan{size}.bench.test"


def _zone() -> dict[str, dict[str, list[str]]]:
    zone: dict[str, dict[str, list[str]]] = {
        DIRECT_DOMAIN: {"MX": [f"10 {DIRECT_MX}"]},
        DIRECT_MX: {"A": [DIRECT_HOST]},
    }
    for size in FANOUT_SIZES:
        addresses = _addresses()[:size]
        hosts = [addresses[i : i + PER_HOST] for i in range(0, size, PER_HOST)]
        names = [f"mx{n}.{_domain(size)}" for n in range(len(hosts))]
        zone[_domain(size)] = {"MX": [f"10 {name}" for name in names]}
        zone.update({name: {"A": group} for name, group in zip(names, hosts, strict=True)})
    return zone


# --- servers (separate processes) ----------------------------------------------------------


def _serve(cert_dir: str, port: int, group: int, direct_port: int, ready: Queue[str]) -> None:
    asyncio.run(_serve_forever(Path(cert_dir), port, group, direct_port, ready))


async def _serve_forever(
    cert_dir: Path, port: int, group: int, direct_port: int, ready: Queue[str]
) -> None:
    """Server process `group`: every SERVER_PROCESSES-th address; group 0 also runs the DNS
    server and the direct (no latency) server."""
    logging.getLogger("asyncio").setLevel(logging.ERROR)  # "eof_received() has no effect"
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_dir / "leaf.pem", cert_dir / "leaf.key")
    servers = [
        await RawServer(ScriptedSmtp(name="mx.bench.test", tls=context, latency=LATENCY), ip, port)
        .start()
        for ip in _addresses()[group::SERVER_PROCESSES]
    ]  # fmt: skip
    if group:
        ready.put("")
    else:
        direct = ScriptedSmtp(name=DIRECT_MX, tls=context)
        servers.append(await RawServer(direct, DIRECT_HOST, direct_port).start())
        dns = await FakeDnsServer(_zone()).start()
        ready.put(dns.address)
    await asyncio.Event().wait()


def _server_cpu(pids: Sequence[int]) -> float:
    """CPU seconds (user + system) used so far by the server processes; 0 where /proc is not."""
    ticks = 0
    for pid in pids:
        try:
            stat = Path(f"/proc/{pid}/stat").read_text()
        except OSError:
            return 0.0
        fields = stat.rsplit(")", 1)[1].split()
        ticks += int(fields[11]) + int(fields[12])  # utime, stime (fields 14 and 15 of stat)
    return ticks / os.sysconf("SC_CLK_TCK")


@dataclass(frozen=True)
class Setup:
    dns: str
    port: int
    direct_port: int
    server_pids: tuple[int, ...]
    cert_dir: Path


# --- peers: whole processes ------------------------------------------------------------------


def _ensure_sslyze() -> Path | None:
    """sslyze in the benchmark's own venv (from PyPI), created on first use."""
    sslyze = PEERS_VENV / "bin" / "sslyze"
    if sslyze.exists():
        return sslyze
    print(f"installing {SSLYZE_REQUIREMENT} into {PEERS_VENV} (once)...", flush=True)
    try:
        subprocess.run([sys.executable, "-m", "venv", str(PEERS_VENV)], check=True)
        subprocess.run(
            [str(PEERS_VENV / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
             SSLYZE_REQUIREMENT],
            check=True, capture_output=True, timeout=600,
        )  # fmt: skip
    except (OSError, subprocess.SubprocessError) as exc:
        print(f"  sslyze could not be installed ({exc}); its comparison is skipped")
        return None
    return sslyze if sslyze.exists() else None


def _mailflow_command(setup: Setup, domain: str, port: int) -> list[str]:
    """What a user runs: the `mailflow` program of this venv, with the loopback DNS server and
    the test PKI's root as the CA file (so the servers are healthy)."""
    program = Path(sys.executable).with_name("mailflow")
    return [
        str(program), "check", domain, "--nameserver", setup.dns, "--allow-net", "127.0.0.0/8",
        "--port", str(port), "--ca-file", str(setup.cert_dir / "root.pem"), "--json",
    ]  # fmt: skip


@dataclass
class Peer:
    name: str
    command: list[str]
    ok: Callable[[subprocess.CompletedProcess[bytes]], bool]
    times: list[float] = field(default_factory=list)
    worked: int = 0

    def run_once(self) -> None:
        env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLOW_")}
        started = time.perf_counter()
        done = subprocess.run(
            self.command, stdin=subprocess.DEVNULL, capture_output=True, timeout=120,
            check=False, env=env,
        )  # fmt: skip
        self.times.append(time.perf_counter() - started)
        self.worked += self.ok(done)

    @property
    def median(self) -> float:
        return statistics.median(self.times)


def _sslyze_ok(done: subprocess.CompletedProcess[bytes]) -> bool:
    return done.returncode == 0 and b"SCANS COMPLETED" in done.stdout


def _peers(setup: Setup, sslyze: Path | None, openssl: str | None) -> list[Peer]:
    target = f"{DIRECT_HOST}:{setup.direct_port}"
    peers = [
        Peer(
            "mailflow check (whole process)",
            _mailflow_command(setup, DIRECT_DOMAIN, setup.direct_port),
            lambda done: done.returncode == 0 and b'"tls_version": "TLSv1.3"' in done.stdout,
        ),
        Peer(  # what DANE/MTA-STS/TLS-RPT (issue 12) cost here; see benchmarks/bench_policies
            "mailflow check --no-policies",
            [*_mailflow_command(setup, DIRECT_DOMAIN, setup.direct_port), "--no-policies"],
            lambda done: done.returncode == 0 and b'"tls_version": "TLSv1.3"' in done.stdout,
        ),
    ]
    if sslyze is not None:
        command = [
            str(sslyze), "--starttls", "smtp", "--certinfo", target,
            "--certinfo_ca_file", str(setup.cert_dir / "root.pem"),
        ]  # fmt: skip
        peers.append(Peer("sslyze --starttls smtp --certinfo", command, _sslyze_ok))
    if openssl is not None:
        command = [
            openssl, "s_client", "-starttls", "smtp", "-brief", "-connect", target,
            "-servername", DIRECT_MX,
            # like our probe, verify nothing: do not spend time loading the CA store
            "-no-CAfile", "-no-CApath", "-no-CAstore",
        ]  # fmt: skip
        peers.append(
            Peer(
                "openssl s_client -starttls smtp",
                command,
                lambda done: b"CONNECTION ESTABLISHED" in done.stderr,
            )
        )
    return peers


def _compare_peers(setup: Setup) -> None:
    openssl = shutil.which("openssl")
    peers = _peers(setup, _ensure_sslyze(), openssl)
    for peer in peers:
        peer.run_once()  # warm-up (page cache, bytecode)
        peer.times.clear()
        peer.worked = 0
    for round_ in range(PEER_ROUNDS):
        shift = round_ % len(peers)
        for peer in peers[shift:] + peers[:shift]:
            peer.run_once()
    print(
        f"Whole processes against {DIRECT_HOST} (no added latency), median of {PEER_ROUNDS}, "
        f"alternating order, {os.cpu_count()} CPUs"
    )
    for peer in peers:
        print(f"  {peer.name:36s} {peer.median * 1000:8.1f} ms   {peer.worked}/{PEER_ROUNDS} ok")
    ours = peers[0].median
    by_name = {peer.name.split()[0]: peer for peer in peers}
    if "sslyze" in by_name:
        ratio = ours / by_name["sslyze"].median
        print(f"  ratio mailflow/sslyze         {_verdict(ratio, 0.35)}")
    dialogue, cpu, ok = asyncio.run(_our_dialogues(setup.direct_port))
    print(
        f"  mailflow probe_starttls, one dialogue in-process {dialogue * 1000:7.2f} ms   "
        f"{ok}/{DIALOGUE_RUNS} ok (our CPU {cpu * 1000:.2f} ms per dialogue)"
    )
    if "openssl" in by_name:
        floor = by_name["openssl"].median
        print(f"  ratio dialogue/openssl process {_verdict(dialogue / floor, 1.0)}")
        print(f"  ratio mailflow/openssl         {ours / floor:.2f}x (the floor, info)")
    else:
        print("  openssl: not installed, its comparisons are skipped")


async def _our_dialogues(port: int) -> tuple[float, float, int]:
    """Median wall time (s) of one dialogue, our CPU (s) per dialogue, dialogues that worked."""
    times: list[float] = []
    ok = 0
    await probe_starttls(DIRECT_MX, DIRECT_HOST, port, step_timeout=10)  # warm-up
    cpu_before = time.process_time()
    for _ in range(DIALOGUE_RUNS):
        started = time.perf_counter()
        result = await probe_starttls(DIRECT_MX, DIRECT_HOST, port, step_timeout=10)
        times.append(time.perf_counter() - started)
        ok += result.tls_ok
    return statistics.median(times), (time.process_time() - cpu_before) / DIALOGUE_RUNS, ok


# --- fan-out: whole checks in-process --------------------------------------------------------


@dataclass
class Series:
    """Whole checks of one domain: wall time, slowest attempt, our CPU, the servers' CPU."""

    size: int
    wall: list[float] = field(default_factory=list)
    slowest: list[float] = field(default_factory=list)
    cpu: list[float] = field(default_factory=list)
    server_cpu: list[float] = field(default_factory=list)
    made: int = 0
    ok: int = 0


def _request(domain: str, setup: Setup) -> CheckRequest:
    return CheckRequest(
        target=normalise_target(domain),
        port=setup.port,
        nameservers=(parse_nameserver(setup.dns),),
        allow_nets=parse_allow_nets(["127.0.0.0/8"]),
        attempts=2,
        step_timeout=10,
    )


def _slowest_attempt(evidence: CheckEvidence) -> float:
    """The longest dialogue of the check, connect to QUIT, in seconds."""
    durations = [
        sum(a.timings_ms.values()) / 1000 for host in evidence.hosts for a in host.attempts
    ]
    return max(durations, default=0.0)


async def _one_check(series: Series, setup: Setup) -> None:
    server_before = _server_cpu(setup.server_pids)
    cpu_before = time.process_time()
    started = time.perf_counter()
    evidence = await run_check(_request(_domain(series.size), setup))
    series.wall.append(time.perf_counter() - started)
    series.cpu.append(time.process_time() - cpu_before)
    series.server_cpu.append(_server_cpu(setup.server_pids) - server_before)
    series.slowest.append(_slowest_attempt(evidence))
    attempts = [a for host in evidence.hosts for a in host.attempts]
    series.made, series.ok = len(attempts), sum(a.tls_ok for a in attempts)


async def _fanout(setup: Setup) -> list[Series]:
    all_series = [Series(size) for size in FANOUT_SIZES]
    for series in all_series:
        await run_check(_request(_domain(series.size), setup))  # warm-up
    for round_ in range(FANOUT_ROUNDS):
        shift = round_ % len(all_series)
        for series in all_series[shift:] + all_series[:shift]:
            await _one_check(series, setup)
    return all_series


def _report_fanout(all_series: list[Series]) -> None:
    print(
        f"\nFan-out: median of {FANOUT_ROUNDS} whole checks in-process, attempts=2, "
        f"{LATENCY * 1000:.0f} ms before each server reply, {PER_HOST} addresses per MX host, "
        "rotating order"
    )
    base = statistics.median(all_series[0].wall)
    for series in all_series:
        wall, slowest = statistics.median(series.wall), statistics.median(series.slowest)
        cpu = statistics.median(series.cpu)
        print(
            f"  {series.size:3d} address(es) {wall * 1000:7.1f} ms  slowest attempt "
            f"{slowest * 1000:6.1f} ms  {series.ok}/{series.made} attempts captured a chain\n"
            f"      ratio to its slowest handshake {_verdict(wall / slowest, 1.5)}; "
            f"to the 1-address check {wall / base:.2f}x\n"
            f"      CPU: ours {cpu * 1000:.1f} ms per check, {cpu / max(series.made, 1) * 1000:.2f}"
            f" ms per attempt (the engine: DNS and probes); "
            f"servers {statistics.median(series.server_cpu) * 1000:.0f} ms"
        )


def _peak_rss(setup: Setup) -> None:
    """`mailflow check` processes of the 128-address domain, their peak resident memory: the
    median of RSS_RUNS (how many handshakes overlap, and so the peak, varies from run to run)."""
    command = _mailflow_command(setup, _domain(max(FANOUT_SIZES)), setup.port)
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLOW_")}
    peaks, walls, codes = [], [], []
    for _ in range(RSS_RUNS):
        started = time.perf_counter()
        proc = subprocess.Popen(
            command, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL, env=env,
        )  # fmt: skip
        _, status, usage = os.wait4(proc.pid, 0)
        codes.append(os.waitstatus_to_exitcode(status))
        walls.append(time.perf_counter() - started)
        peaks.append(usage.ru_maxrss / 1024)  # KiB on Linux
    rss_mb = statistics.median(peaks)
    verdict = "met" if rss_mb < 120 else "NOT met"
    print(
        f"\nPeak RSS of `mailflow check` at {max(FANOUT_SIZES)} addresses: {rss_mb:.1f} MB, "
        f"median of {RSS_RUNS} (target < 120 MB: {verdict}); all runs "
        f"{', '.join(f'{p:.0f}' for p in peaks)} MB; a process took "
        f"{statistics.median(walls) * 1000:.0f} ms, exit {codes[0]}"
    )


def _verdict(ratio: float, target: float) -> str:
    return f"{ratio:.2f}x (target <= {target:.2f}x: {'met' if ratio <= target else 'NOT met'})"


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-probe-"))
    factory = CertFactory()
    root = factory.root_ca()
    intermediate = factory.intermediate(root)
    server_cert = factory.leaf(intermediate, ["mx.bench.test", DIRECT_MX])
    server_context(server_cert, work, "leaf")  # validates and writes leaf.pem / leaf.key
    (work / "root.pem").write_bytes(root.pem)
    port = free_common_port(_addresses())
    direct_port = free_common_port([DIRECT_HOST])
    ctx = multiprocessing.get_context("spawn")
    ready: Queue[str] = ctx.Queue()
    servers = [
        ctx.Process(target=_serve, args=(str(work), port, group, direct_port, ready), daemon=True)
        for group in range(SERVER_PROCESSES)
    ]
    for server in servers:
        server.start()
    try:
        dns = "".join(ready.get(timeout=60) for _ in servers)
        pids = tuple(server.pid for server in servers if server.pid is not None)
        setup = Setup(dns, port, direct_port, pids, work)
        _compare_peers(setup)
        _report_fanout(asyncio.run(_fanout(setup)))
        _peak_rss(setup)
    finally:
        for server in servers:
            server.terminate()
            server.join(10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
