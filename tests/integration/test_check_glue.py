"""bot.check: the engine's progress stream followed by one judged CheckReport (what the CLI
and the Slack side consume)."""

from __future__ import annotations

import asyncio
import datetime as dt
from pathlib import Path

from bot.check import CheckReport, iter_check, run_check
from bot.core.domain import normalise_target
from bot.probe.engine import AttemptFinished, AttemptStarted, CheckRequest, DnsResolved
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from tests.fakes.dns_server import FakeDnsServer, Zone
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, free_common_port, server_context
from tests.integration.conftest import Pki


async def test_progress_streams_before_the_judged_report(pki: Pki, tmp_path: Path) -> None:
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.root.pem)
    zone: Zone = {
        "contoso.test": {"MX": ["10 mx.example.test"]},
        "mx.example.test": {"A": ["127.0.0.46", "127.0.0.47"]},
    }
    port = free_common_port(["127.0.0.46", "127.0.0.47"])
    fast = ScriptedSmtp(tls=server_context(pki.leaf, tmp_path, "leaf"))
    slow = ScriptedSmtp(tls=server_context(pki.self_signed, tmp_path, "own"), latency=0.3)
    async with (
        FakeDnsServer(zone) as dns,
        RawServer(fast, "127.0.0.46", port),
        RawServer(slow, "127.0.0.47", port),
    ):
        request = CheckRequest(
            target=normalise_target("contoso.test"),
            port=port,
            attempts=1,
            nameservers=(parse_nameserver(dns.address),),
            allow_nets=parse_allow_nets(["127.0.0.46/31"]),
        )
        updates = [u async for u in iter_check(request, ca_file=ca_file)]
        again = await run_check(request, ca_file=ca_file, now=dt.datetime.now(dt.UTC))
    assert isinstance(updates[0], DnsResolved)
    progress = [u for u in updates if isinstance(u, AttemptFinished)]
    assert [u.attempt.ip for u in progress] == ["127.0.0.46", "127.0.0.47"]  # as they finish
    report = updates[-1]
    assert isinstance(report, CheckReport) and len(updates) == 6  # DNS, 2 starts, 2 ends, report
    started = [u for u in updates if isinstance(u, AttemptStarted)]
    assert sorted(u.ip for u in started) == ["127.0.0.46", "127.0.0.47"]
    slow_started = next(i for i, u in enumerate(updates) if u in started and u.ip.endswith("47"))
    slow_done = next(
        i for i, u in enumerate(updates) if u in progress and u.attempt.ip.endswith("47")
    )
    assert slow_started < updates.index(progress[0]) < slow_done  # both start before either ends
    found = {(f.id, f.ip) for f in report.findings}
    assert ("cert.self_signed", "127.0.0.47") in found and ("cert.inconsistent", None) in found
    assert not any(ip == "127.0.0.46" for _, ip in found)
    assert report.has_errors and report.elapsed_ms == report.evidence.elapsed_ms > 0
    assert {f.id for f in again.findings} == {f.id for f in report.findings}


def test_run_check_closes_every_async_generator_it_started() -> None:
    """On a loop that lives on (a bot, a reused loop), a generator left suspended at its last
    yield would be finalised later by a stray task ("Task was destroyed but it is pending")."""
    request = CheckRequest(target=normalise_target("127.0.0.1", host_mode=True), host_mode=True)
    loop = asyncio.new_event_loop()
    try:
        report = loop.run_until_complete(run_check(request))
        left = list(loop._asyncgens)  # type: ignore[attr-defined]  # the loop's own registry
        pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    finally:
        loop.close()
    assert [f.id for f in report.findings] == ["target.blocked"]
    assert left == [] and pending == []
