"""Probe benchmark: fan-out (1 vs 24 addresses) and per-handshake cost vs `openssl s_client`.

Run from the repository root:  python -m benchmarks.bench_probe

Servers run in a separate process so that their CPU is not billed to the probe's event loop:
a loopback DNS server and scripted SMTP/STARTTLS servers on 127.0.1.1-24 (one shared port)
that wait LATENCY seconds before each reply, standing in for a network round trip (on bare
loopback every step takes microseconds and a fan-out benchmark would only measure CPU), plus
one server on 127.0.2.1 with no added latency for the handshake comparison.

Next to each wall time the benchmark prints the CPU time our process spent per check (all of
it is serialised in the probe's one event loop) and the CPU the server processes spent (from
/proc, 10 ms ticks), so that a ratio above target can be told apart: our per-attempt cost, or
server work competing for the machine's cores. The 1- and 24-address checks are alternated so
that both medians see the same machine load.

Targets (issue 3): 24 addresses within 1.5x the wall time of 1 address; our per-handshake time
within 1.5x of `openssl s_client -starttls smtp` against the same server in the same run.
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
from collections.abc import Sequence
from dataclasses import dataclass
from multiprocessing.queues import Queue
from pathlib import Path

from bot.core.domain import normalise_target
from bot.probe.engine import CheckRequest, run_check
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from bot.probe.smtp import probe_starttls
from tests.fakes.certs import CertFactory
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, free_common_port, server_context

ADDRESSES = 24
LATENCY = 0.05  # seconds before each server reply
FANOUT_RUNS = 7
HANDSHAKE_RUNS = 20
MX_NAME = "mx.bench.test"
DIRECT_HOST = "127.0.2.1"
# 24 real MX addresses are 24 machines: the fake servers are spread over several processes so
# that their TLS work is not serialised in one event loop (which the probe would then measure).
SERVER_PROCESSES = 4


def _addresses() -> list[str]:
    return [f"127.0.1.{n}" for n in range(1, ADDRESSES + 1)]


def _zone() -> dict[str, dict[str, list[str]]]:
    return {
        "one.bench.test": {"MX": ["10 mx1.bench.test"]},
        "mx1.bench.test": {"A": _addresses()[:1]},
        "many.bench.test": {"MX": ["10 mx24.bench.test"]},
        "mx24.bench.test": {"A": _addresses()},
    }


def _serve(cert_dir: str, port: int, group: int, direct_port: int, ready: Queue[str]) -> None:
    asyncio.run(_serve_forever(Path(cert_dir), port, group, direct_port, ready))


async def _serve_forever(
    cert_dir: Path, port: int, group: int, direct_port: int, ready: Queue[str]
) -> None:
    """Server process `group`: every SERVER_PROCESSES-th address; group 0 also runs the DNS
    server and the direct (no latency) server."""
    # asyncio warns on every client close of a TLS stream ("eof_received() has no effect").
    logging.getLogger("asyncio").setLevel(logging.ERROR)

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert_dir / "leaf.pem", cert_dir / "leaf.key")
    servers = [
        await RawServer(ScriptedSmtp(name=MX_NAME, tls=context, latency=LATENCY), ip, port).start()
        for ip in _addresses()[group::SERVER_PROCESSES]
    ]
    if group:
        ready.put("")
    else:
        direct = ScriptedSmtp(name=MX_NAME, tls=context)
        servers.append(await RawServer(direct, DIRECT_HOST, direct_port).start())
        dns = await FakeDnsServer(_zone()).start()
        ready.put(dns.address)
    await asyncio.Event().wait()


def _request(domain: str, dns_address: str, port: int) -> CheckRequest:
    return CheckRequest(
        target=normalise_target(domain),
        port=port,
        nameservers=(parse_nameserver(dns_address),),
        allow_nets=parse_allow_nets(["127.0.0.0/8"]),
        attempts=2,
        step_timeout=10,
    )


@dataclass
class _Series:
    """Whole checks of one domain: wall time, our process's CPU, the server processes' CPU."""

    wall: list[float]
    cpu: list[float]
    server_cpu: list[float]
    made: int = 0
    ok: int = 0


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


async def _one_check(
    series: _Series, domain: str, dns_address: str, port: int, server_pids: Sequence[int]
) -> None:
    server_before = _server_cpu(server_pids)
    cpu_before = time.process_time()
    started = time.perf_counter()
    evidence = await run_check(_request(domain, dns_address, port))
    series.wall.append(time.perf_counter() - started)
    series.cpu.append(time.process_time() - cpu_before)
    series.server_cpu.append(_server_cpu(server_pids) - server_before)
    attempts = [a for host in evidence.hosts for a in host.attempts]
    series.made, series.ok = len(attempts), sum(a.tls_ok for a in attempts)


async def _fanout(
    dns_address: str, port: int, server_pids: Sequence[int]
) -> tuple[_Series, _Series]:
    """FANOUT_RUNS whole checks of each domain, alternated so that both series see the same
    machine load (the machine is shared: back-to-back series drift apart under changing load)."""
    one, many = _Series([], [], []), _Series([], [], [])
    for _ in range(FANOUT_RUNS):
        await _one_check(one, "one.bench.test", dns_address, port, server_pids)
        await _one_check(many, "many.bench.test", dns_address, port, server_pids)
    return one, many


async def _our_handshakes(port: int) -> tuple[float, float, int]:
    """Median wall time (s) of one dialogue, our CPU (s) per dialogue, dialogues that worked."""
    times: list[float] = []
    ok = 0
    cpu_before = time.process_time()
    for _ in range(HANDSHAKE_RUNS):
        started = time.perf_counter()
        result = await probe_starttls(MX_NAME, DIRECT_HOST, port, step_timeout=10)
        times.append(time.perf_counter() - started)
        ok += result.tls_ok
    return statistics.median(times), (time.process_time() - cpu_before) / HANDSHAKE_RUNS, ok


def _openssl_handshakes(openssl: str, port: int) -> tuple[float, int]:
    command = [
        openssl, "s_client", "-starttls", "smtp", "-connect", f"{DIRECT_HOST}:{port}",
        "-servername", MX_NAME, "-brief",
        # like our probe, verify nothing: do not spend time loading the system CA store
        "-no-CAfile", "-no-CApath", "-no-CAstore",
    ]  # fmt: skip
    times: list[float] = []
    ok = 0
    for _ in range(HANDSHAKE_RUNS):
        started = time.perf_counter()
        done = subprocess.run(
            command, stdin=subprocess.DEVNULL, capture_output=True, timeout=30, check=False
        )
        times.append(time.perf_counter() - started)
        ok += b"CONNECTION ESTABLISHED" in done.stderr
    return statistics.median(times), ok


def _process_start(openssl: str) -> float:
    times = []
    for _ in range(HANDSHAKE_RUNS):
        started = time.perf_counter()
        subprocess.run([openssl, "version"], capture_output=True, timeout=30, check=False)
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def main() -> int:
    work = Path(tempfile.mkdtemp(prefix="bench-probe-"))
    factory = CertFactory()
    intermediate = factory.intermediate(factory.root_ca())
    server_cert = factory.leaf(intermediate, [MX_NAME])
    server_context(server_cert, work, "leaf")  # validates and writes leaf.pem / leaf.key
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
        dns_address = "".join(ready.get(timeout=60) for _ in servers)
        pids = [server.pid for server in servers if server.pid is not None]
        asyncio.run(_report(dns_address, port, direct_port, pids))
    finally:
        for server in servers:
            server.terminate()
            server.join(10)
        shutil.rmtree(work, ignore_errors=True)
    return 0


def _verdict(ratio: float) -> str:
    return f"{ratio:.2f}x (target <= 1.50x: {'met' if ratio <= 1.5 else 'NOT met'})"


def _series_lines(label: str, series: _Series) -> str:
    wall, cpu = statistics.median(series.wall), statistics.median(series.cpu)
    per_attempt = cpu / max(series.made, 1)
    server = statistics.median(series.server_cpu)
    return (
        f"  {label:13s} {wall * 1000:8.1f} ms   "
        f"{series.ok}/{series.made} attempts captured a chain\n"
        f"                  CPU per check: ours {cpu * 1000:.1f} ms ({per_attempt * 1000:.2f} ms"
        f" per attempt, DNS included), server processes {server * 1000:.0f} ms"
    )


async def _report(dns_address: str, port: int, direct_port: int, server_pids: list[int]) -> None:
    await run_check(_request("one.bench.test", dns_address, port))  # warm-up
    one, many = await _fanout(dns_address, port, server_pids)
    print(
        f"Fan-out: median of {FANOUT_RUNS} whole checks, attempts=2, "
        f"{LATENCY * 1000:.0f} ms emulated latency before each server reply, "
        f"{os.cpu_count()} CPUs"
    )
    print(_series_lines("1 address", one))
    print(_series_lines(f"{ADDRESSES} addresses", many))
    ratio = statistics.median(many.wall) / statistics.median(one.wall)
    print(f"  ratio 24/1    {_verdict(ratio)}")

    ours, ours_cpu, ours_ok = await _our_handshakes(direct_port)
    print(
        f"\nOne STARTTLS dialogue against {DIRECT_HOST}:{direct_port}, "
        f"median of {HANDSHAKE_RUNS}, no added latency"
    )
    print(
        f"  mailflow probe_starttls (in-process)     {ours * 1000:7.2f} ms   {ours_ok} ok"
        f"   (our CPU {ours_cpu * 1000:.2f} ms per dialogue)"
    )
    openssl = shutil.which("openssl")
    if openssl is None:
        print("  openssl s_client: not installed, comparison skipped")
        return
    theirs, theirs_ok = await asyncio.to_thread(_openssl_handshakes, openssl, direct_port)
    spawn = await asyncio.to_thread(_process_start, openssl)
    print(f"  openssl s_client -starttls smtp          {theirs * 1000:7.2f} ms   {theirs_ok} ok")
    print(f"    of which process start ('openssl version') {spawn * 1000:5.2f} ms")
    print(f"  ratio ours/openssl    {_verdict(ours / theirs)}")
    if theirs > spawn:
        print(f"  ratio ours/(openssl - process start)  {ours / (theirs - spawn):.2f}x (info)")


if __name__ == "__main__":
    sys.exit(main())
