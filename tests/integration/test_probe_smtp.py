"""probe_starttls against real servers on loopback: aiosmtpd with STARTTLS and hostile ones."""

from __future__ import annotations

import asyncio
import socket
import ssl
import time
import tracemalloc
from pathlib import Path

import pytest
from cryptography import x509

from bot.core.evidence import FailureKind, Step
from bot.probe.smtp import probe_starttls
from tests.fakes.smtp_servers import (
    AiosmtpdServer,
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

MX = "mx.example.test"


async def test_valid_chain_is_captured_leaf_and_intermediate(pki: Pki, tmp_path: Path) -> None:
    context = server_context(pki.leaf, tmp_path, "leaf")
    seen_sni: list[str | None] = []
    context.sni_callback = lambda _sock, name, _ctx: seen_sni.append(name)
    async with AiosmtpdServer(context, "127.0.0.2") as server:
        result = await probe_starttls(MX, "127.0.0.2", server.port, step_timeout=5)
    assert result.failure is None, result.error
    assert result.banner_code == 220
    assert result.ehlo_code == 250
    assert result.starttls_offered is True
    assert result.starttls_reply is not None and result.starttls_reply.startswith("220")
    assert result.chain == (pki.leaf.der, pki.intermediate.der)
    assert result.chain_presented == 2
    assert result.tls_version in ("TLSv1.2", "TLSv1.3")
    assert result.cipher
    assert result.tls_ok
    assert seen_sni == [MX]
    assert set(result.timings_ms) == {"connect", "banner", "ehlo", "starttls", "handshake", "quit"}
    assert all(ms >= 0 for ms in result.timings_ms.values())


async def test_self_signed_chain(pki: Pki, tmp_path: Path) -> None:
    async with AiosmtpdServer(server_context(pki.self_signed, tmp_path, "ss"), "127.0.0.3") as srv:
        result = await probe_starttls(MX, "127.0.0.3", srv.port, step_timeout=5)
    assert result.failure is None
    assert result.chain == (pki.self_signed.der,)


async def test_missing_intermediate(pki: Pki, tmp_path: Path) -> None:
    context = server_context(pki.leaf, tmp_path, "bare", include_chain=False)
    async with AiosmtpdServer(context, "127.0.0.4") as server:
        result = await probe_starttls(MX, "127.0.0.4", server.port, step_timeout=5)
    assert result.chain == (pki.leaf.der,)


async def test_no_starttls_is_evidence_not_failure() -> None:
    async with AiosmtpdServer(None, "127.0.0.5") as server:
        result = await probe_starttls(MX, "127.0.0.5", server.port, step_timeout=5)
    assert result.failure is None
    assert result.starttls_offered is False
    assert not result.chain
    assert "quit" in result.timings_ms


async def test_multi_line_banner_is_awaited_before_ehlo(pki: Pki, tmp_path: Path) -> None:
    script = ScriptedSmtp(
        banner=b"220-mx.example.test ESMTP\r\n220-Unauthorised use prohibited\r\n220 Ready\r\n",
        banner_pause=0.3,
        tls=server_context(pki.leaf, tmp_path, "leaf"),
    )
    async with RawServer(script, "127.0.0.6") as server:
        result = await probe_starttls(MX, "127.0.0.6", server.port, step_timeout=5)
    assert result.failure is None, result.error
    assert result.banner == "220-mx.example.test ESMTP\n220-Unauthorised use prohibited\n220 Ready"
    assert script.log[0].startswith("EHLO [127.")
    assert result.chain[0] == pki.leaf.der


async def test_connection_refused() -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.7", 0))
        port = sock.getsockname()[1]
    result = await probe_starttls(MX, "127.0.0.7", port, step_timeout=3)
    assert (result.failed_step, result.failure) == (Step.CONNECT, FailureKind.REFUSED)


async def test_no_banner_times_out_at_banner() -> None:
    async with RawServer(hostile_no_banner, "127.0.0.8") as server:
        started = time.monotonic()
        result = await probe_starttls(MX, server.host, server.port, step_timeout=1.0)
        elapsed = time.monotonic() - started
    assert (result.failed_step, result.failure) == (Step.BANNER, FailureKind.TIMEOUT)
    assert 0.9 < elapsed < 3.0


async def test_dripped_banner_times_out_as_a_whole() -> None:
    async with RawServer(hostile_drip_banner, "127.0.0.9") as server:
        started = time.monotonic()
        result = await probe_starttls(MX, server.host, server.port, step_timeout=2.0)
        elapsed = time.monotonic() - started
    assert (result.failed_step, result.failure) == (Step.BANNER, FailureKind.TIMEOUT)
    assert elapsed < 4.0


async def test_ten_megabyte_banner_line_is_refused_with_bounded_memory() -> None:
    async with RawServer(hostile_huge_banner, "127.0.0.10") as server:
        tracemalloc.start()
        try:
            result = await probe_starttls(MX, server.host, server.port, step_timeout=5)
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert (result.failed_step, result.failure) == (Step.BANNER, FailureKind.PROTOCOL)
    assert result.error is not None and "longer than" in result.error
    assert peak < 2 * 1024 * 1024  # the server's 64 KiB chunk plus our bounded buffer


async def test_421_greeting_is_rejected_with_its_text() -> None:
    async with RawServer(hostile_421_greeting(), "127.0.0.11") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    assert (result.failed_step, result.failure) == (Step.BANNER, FailureKind.REJECTED)
    assert result.banner_code == 421
    assert result.error is not None and "Too many concurrent connections" in result.error


async def test_ehlo_rejected() -> None:
    script = hostile_ehlo_rejected()
    async with RawServer(script, "127.0.0.12") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    assert (result.failed_step, result.failure) == (Step.EHLO, FailureKind.REJECTED)
    assert result.ehlo_code == 550
    assert result.error == "550 5.7.1 Client host rejected: access denied"
    assert script.log[-1] == "QUIT"  # we still said goodbye


async def test_starttls_answered_454() -> None:
    async with RawServer(hostile_starttls_454(), "127.0.0.13") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    assert (result.failed_step, result.failure) == (Step.STARTTLS, FailureKind.REJECTED)
    assert result.starttls_offered is True
    assert result.starttls_reply == "454 4.7.0 TLS not available due to local problem"


async def test_reset_after_220_ready() -> None:
    async with RawServer(hostile_reset_after_ready, "127.0.0.14") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    assert result.banner == "220 Ready"
    assert (result.failed_step, result.failure) == (Step.EHLO, FailureKind.RESET)


async def test_garbage_instead_of_tls_handshake() -> None:
    async with RawServer(hostile_garbage_tls, "127.0.0.15") as server:
        started = time.monotonic()
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
        elapsed = time.monotonic() - started
    assert (result.failed_step, result.failure) == (Step.HANDSHAKE, FailureKind.TLS)
    assert not result.chain
    assert elapsed < 3.0


async def test_forty_certificate_chain_is_capped(pki: Pki, tmp_path: Path) -> None:
    issuer = pki.root
    for n in range(39):
        issuer = pki.factory.intermediate(issuer, f"Chain CA {n}", index=20)
    leaf = pki.factory.leaf(issuer, [MX], index=21)
    context = server_context(leaf, tmp_path, "long")
    async with RawServer(ScriptedSmtp(tls=context), "127.0.0.16") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=5)
    assert result.failure is None, result.error
    assert result.chain_presented == 40
    assert len(result.chain) == 10
    assert result.chain[0] == leaf.der


async def test_certificate_with_5000_sans(pki: Pki, tmp_path: Path) -> None:
    names = [MX] + [f"h{n}.example.test" for n in range(4999)]
    leaf = pki.factory.leaf(pki.intermediate, names, index=22)
    context = server_context(leaf, tmp_path, "sans")
    async with RawServer(ScriptedSmtp(tls=context), "127.0.0.17") as server:
        tracemalloc.start()
        try:
            started = time.monotonic()
            result = await probe_starttls(MX, server.host, server.port, step_timeout=5)
            elapsed = time.monotonic() - started
            _, peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    assert result.failure is None, result.error
    assert result.chain[0] == leaf.der
    san = x509.load_der_x509_certificate(result.chain[0]).extensions.get_extension_for_class(
        x509.SubjectAlternativeName
    )
    assert len(san.value) == 5000
    assert elapsed < 5.0
    assert peak < 8 * 1024 * 1024


async def test_non_utf8_banner_is_escaped(pki: Pki, tmp_path: Path) -> None:
    script = hostile_non_utf8_banner()
    script.tls = server_context(pki.leaf, tmp_path, "leaf")
    async with RawServer(script, "127.0.0.18") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    assert result.failure is None, result.error
    assert result.banner is not None
    assert "\\xff\\xfe\\xc3" in result.banner
    assert "\x1b" not in result.banner and "\\x1b[31m" in result.banner
    assert "\\xe9t\\xe9" in result.banner
    assert result.tls_ok


async def test_esmtp_inspection_hides_starttls() -> None:
    async with RawServer(hostile_inspection(), "127.0.0.19") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    assert result.failure is None
    assert result.starttls_offered is False
    assert "XXXXXXXA" in result.ehlo_lines
    assert result.banner is not None and result.banner.startswith("220 ****")


async def test_deadline_ends_attempt_with_partial_evidence() -> None:
    async with RawServer(hostile_no_banner, "127.0.0.20") as server:
        deadline = asyncio.get_running_loop().time() + 0.5
        started = time.monotonic()
        result = await probe_starttls(
            MX, server.host, server.port, step_timeout=10, deadline=deadline
        )
        elapsed = time.monotonic() - started
    assert (result.failed_step, result.failure) == (Step.BANNER, FailureKind.DEADLINE)
    assert "connect" in result.timings_ms
    assert elapsed < 1.5


@pytest.mark.filterwarnings("ignore:ssl.TLSVersion.TLSv1 is deprecated")
async def test_tls_1_0_only_server_is_recorded(pki: Pki, tmp_path: Path) -> None:
    context = server_context(pki.leaf, tmp_path, "old")
    try:
        context.minimum_version = ssl.TLSVersion.TLSv1
        context.maximum_version = ssl.TLSVersion.TLSv1
        context.set_ciphers("ALL:@SECLEVEL=0")
    except (ValueError, ssl.SSLError):
        pytest.skip("this OpenSSL cannot serve TLS 1.0")
    async with RawServer(ScriptedSmtp(tls=context), "127.0.0.21") as server:
        result = await probe_starttls(MX, server.host, server.port, step_timeout=3)
    if result.failure is FailureKind.TLS:
        pytest.skip(f"TLS 1.0 is disabled in this OpenSSL build: {result.error}")
    assert result.tls_version == "TLSv1"
    assert result.chain[0] == pki.leaf.der
