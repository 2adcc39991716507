"""Every hostile server through a whole check: each ends within its timeout, with the right
failure kind and step, and with bounded memory."""

from __future__ import annotations

import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import pytest

from bot.core.domain import normalise_target
from bot.core.evidence import FailureKind, Step
from bot.probe.engine import CheckRequest, run_check
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.smtp_servers import (
    Handler,
    RawServer,
    ScriptedSmtp,
    hostile_421_greeting,
    hostile_drip_banner,
    hostile_ehlo_rejected,
    hostile_garbage_tls,
    hostile_huge_banner,
    hostile_inspection,
    hostile_no_banner,
    hostile_non_utf8_banner,
    hostile_reset_after_ready,
    hostile_starttls_454,
    server_context,
)
from tests.integration.conftest import Pki

STEP_TIMEOUT = 1.5
# (server factory, failed step, failure kind); None, None: the dialogue itself succeeds.
CASES: dict[str, tuple[Callable[[], Handler], Step | None, FailureKind | None]] = {
    "no banner": (lambda: hostile_no_banner, Step.BANNER, FailureKind.TIMEOUT),
    "dripped banner": (lambda: hostile_drip_banner, Step.BANNER, FailureKind.TIMEOUT),
    "10 MB banner line": (lambda: hostile_huge_banner, Step.BANNER, FailureKind.PROTOCOL),
    "421 greeting": (hostile_421_greeting, Step.BANNER, FailureKind.REJECTED),
    "EHLO rejected": (hostile_ehlo_rejected, Step.EHLO, FailureKind.REJECTED),
    "STARTTLS 454": (hostile_starttls_454, Step.STARTTLS, FailureKind.REJECTED),
    "reset after 220": (lambda: hostile_reset_after_ready, Step.EHLO, FailureKind.RESET),
    "garbage TLS": (lambda: hostile_garbage_tls, Step.HANDSHAKE, FailureKind.TLS),
    "ESMTP inspection": (hostile_inspection, None, None),
    "non-UTF-8 banner": (hostile_non_utf8_banner, None, None),
}


@pytest.mark.parametrize("case", list(CASES))
async def test_hostile_server_ends_in_time(case: str) -> None:
    factory, step, kind = CASES[case]
    server = RawServer(factory(), "127.0.0.90")
    zone = {
        "hostile.test": {"MX": ["10 mx.hostile.test"]},
        "mx.hostile.test": {"A": ["127.0.0.90"]},
    }
    async with FakeDnsServer(zone) as dns, server:
        tracemalloc.start()
        try:
            started = time.monotonic()
            evidence = await run_check(
                CheckRequest(
                    target=normalise_target("hostile.test"),
                    port=server.port,
                    nameservers=(parse_nameserver(dns.address),),
                    allow_nets=parse_allow_nets(["127.0.0.0/8"]),
                    step_timeout=STEP_TIMEOUT,
                )
            )
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    attempts = evidence.hosts[0].attempts
    assert attempts, "the address was probed"
    assert {(a.failed_step, a.failure) for a in attempts} == {(step, kind)}
    assert elapsed < STEP_TIMEOUT + 2.0  # both attempts run in parallel, one step times out
    assert peak < 4 * 1024 * 1024
    assert not evidence.deadline_hit


@pytest.mark.parametrize("count", [40])
async def test_long_chain_and_huge_certificate_through_a_check(
    pki: Pki, tmp_path: Path, count: int
) -> None:
    issuer = pki.root
    for n in range(count - 1):
        issuer = pki.factory.intermediate(issuer, f"Hostile CA {n}", index=30)
    long_chain = pki.factory.leaf(issuer, ["mx.hostile.test"], index=31)
    many_sans = pki.factory.leaf(
        pki.intermediate,
        ["mx.hostile.test"] + [f"n{i}.hostile.test" for i in range(4999)],
        index=32,
    )
    first = RawServer(ScriptedSmtp(tls=server_context(long_chain, tmp_path, "long")), "127.0.0.91")
    second = RawServer(ScriptedSmtp(tls=server_context(many_sans, tmp_path, "sans")), "127.0.0.92")
    async with first, second:
        for server, expected_leaf, presented in (
            (first, long_chain, count),
            (second, many_sans, 2),
        ):
            zone = {"h.test": {"A": [server.host]}}
            async with FakeDnsServer(zone) as dns:
                evidence = await run_check(
                    CheckRequest(
                        target=normalise_target("h.test"),
                        port=server.port,
                        nameservers=(parse_nameserver(dns.address),),
                        allow_nets=parse_allow_nets(["127.0.0.0/8"]),
                        step_timeout=STEP_TIMEOUT,
                    )
                )
            for attempt in evidence.hosts[0].attempts:
                assert attempt.failure is None, attempt.error
                assert attempt.chain[0] == expected_leaf.der
                assert attempt.chain_presented == presented
                assert len(attempt.chain) == min(presented, 10)
