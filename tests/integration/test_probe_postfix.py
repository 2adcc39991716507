"""The probe against a real Postfix: valid chain, self-signed, missing intermediate, no STARTTLS.

One Postfix master serves all four scenarios from one temporary config directory, each smtpd
service on its own 127.0.0.x address with its own TLS settings.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.core.certs import describe
from bot.core.domain import normalise_target
from bot.probe.engine import CheckRequest, run_check
from bot.probe.netpolicy import parse_allow_nets
from bot.probe.resolver import parse_nameserver
from bot.probe.smtp import probe_starttls
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.postfix import PostfixInstance, SmtpdService, postfix_unavailable
from tests.fakes.smtp_servers import free_common_port
from tests.integration.conftest import Pki
from tests.integration.test_cli_check import mailflow

pytestmark = [
    pytest.mark.postfix,
    pytest.mark.skipif(postfix_unavailable() is not None, reason=postfix_unavailable() or ""),
]

VALID, SELF_SIGNED, NO_INTERMEDIATE, PLAIN = (
    "127.0.0.120",
    "127.0.0.121",
    "127.0.0.122",
    "127.0.0.123",
)


@pytest.fixture(scope="module")
def postfix(pki: Pki) -> Iterator[PostfixInstance]:
    leaf, inter, ss = pki.leaf, pki.intermediate, pki.self_signed
    services = [
        SmtpdService("mx.example.test", VALID, leaf.key_pem + leaf.pem + inter.pem),
        SmtpdService("exch01.example.test", SELF_SIGNED, ss.key_pem + ss.pem),
        SmtpdService("mail.example.test", NO_INTERMEDIATE, leaf.key_pem + leaf.pem),
        SmtpdService("plain.example.test", PLAIN, None),
    ]
    port = free_common_port([VALID, SELF_SIGNED, NO_INTERMEDIATE, PLAIN])
    with PostfixInstance(services, port) as instance:
        yield instance


async def test_valid_chain(postfix: PostfixInstance, pki: Pki) -> None:
    result = await probe_starttls("mx.example.test", VALID, postfix.port, step_timeout=10)
    assert result.failure is None, (result.error, postfix.log_text()[-1500:])
    assert result.banner == "220 mx.example.test ESMTP Postfix"
    assert "STARTTLS" in result.ehlo_lines
    assert result.chain == (pki.leaf.der, pki.intermediate.der)
    assert result.tls_version == "TLSv1.3"


async def test_self_signed(postfix: PostfixInstance, pki: Pki) -> None:
    result = await probe_starttls("exch01.example.test", SELF_SIGNED, postfix.port, step_timeout=10)
    assert result.failure is None, result.error
    assert result.chain == (pki.self_signed.der,)


async def test_missing_intermediate(postfix: PostfixInstance, pki: Pki) -> None:
    result = await probe_starttls(
        "mail.example.test", NO_INTERMEDIATE, postfix.port, step_timeout=10
    )
    assert result.failure is None, result.error
    assert result.chain == (pki.leaf.der,)


async def test_no_starttls(postfix: PostfixInstance) -> None:
    result = await probe_starttls("plain.example.test", PLAIN, postfix.port, step_timeout=10)
    assert result.failure is None, result.error
    assert result.starttls_offered is False
    assert result.chain == ()
    assert result.banner == "220 plain.example.test ESMTP Postfix"


async def test_whole_check_over_postfix(postfix: PostfixInstance, pki: Pki) -> None:
    zone = {
        "contoso.test": {"MX": ["10 mx.contoso.test"]},
        "mx.contoso.test": {"A": [VALID, SELF_SIGNED]},
    }
    async with FakeDnsServer(zone) as dns:
        evidence = await run_check(
            CheckRequest(
                target=normalise_target("contoso.test"),
                port=postfix.port,
                nameservers=(parse_nameserver(dns.address),),
                allow_nets=parse_allow_nets(["127.0.0.0/8"]),
            )
        )
    chains = {(a.ip, a.attempt): a.chain for a in evidence.hosts[0].attempts}
    assert chains == {
        (VALID, 1): (pki.leaf.der, pki.intermediate.der),
        (VALID, 2): (pki.leaf.der, pki.intermediate.der),
        (SELF_SIGNED, 1): (pki.self_signed.der,),
        (SELF_SIGNED, 2): (pki.self_signed.der,),
    }
    assert (
        "connect from unknown[127.0.0.1]" in postfix.log_text()
        or "connect from" in postfix.log_text()
    )


async def test_mailflow_check_judges_each_postfix_scenario(
    postfix: PostfixInstance, pki: Pki, tmp_path: Path
) -> None:
    """The four Postfix scenarios through the real CLI: findings, not just captured chains."""
    ca_file = tmp_path / "root.pem"
    ca_file.write_bytes(pki.root.pem)
    zone = {
        "fabrikam.test": {
            "MX": [
                "10 mx.example.test", "20 exch01.example.test",
                "30 mail.example.test", "40 plain.example.test",
            ]
        },
        "mx.example.test": {"A": [VALID]},
        "exch01.example.test": {"A": [SELF_SIGNED]},
        "mail.example.test": {"A": [NO_INTERMEDIATE]},
        "plain.example.test": {"A": [PLAIN]},
    }  # fmt: skip
    async with FakeDnsServer(zone) as dns:
        code, out, err = await mailflow(
            "check", "fabrikam.test", "--json", "--nameserver", dns.address,
            "--allow-net", "127.0.0.0/8", "--port", str(postfix.port), "--ca-file", str(ca_file),
            "--no-policies",
        )  # fmt: skip
    assert code == 1, err
    doc = json.loads(out)
    found = {(f["host"], f["id"]) for f in doc["findings"]}
    assert not any(host == "mx.example.test" for host, _ in found), found  # the valid chain
    assert ("exch01.example.test", "cert.self_signed") in found
    assert {i for h, i in found if h == "mail.example.test"} == {"cert.chain_incomplete"}
    assert {i for h, i in found if h == "plain.example.test"} == {"smtp.starttls_missing"}
    valid = doc["mx"][0]["attempts"][0]
    assert valid["banner"] == "220 mx.example.test ESMTP Postfix"
    assert [c["subject_windows"] for c in valid["chain"]] == [
        describe(pki.leaf.der).subject_windows,
        describe(pki.intermediate.der).subject_windows,
    ]
