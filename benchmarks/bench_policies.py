"""Policy-check benchmark (issue 12): what DANE, MTA-STS and TLS-RPT add to a whole-domain
`mailflow check` on loopback, whole processes, in one run with alternating order.

Run from the repository root:  python -m benchmarks.bench_policies

A signed test zone (bind9-utils) served by knotd, unbound validating it, an SMTP server whose
certificate matches the zone's TLSA record, an MTA-STS policy over HTTPS on 127.0.14.1:443 (port
443 needs root; otherwise the fetch fails fast and the figure says so) and a TLS-RPT record.
Pairs, each against its own baseline (`--no-policies`, same name server):
  own validation  `--nameserver <knot> --trust-anchor <zone KSK>`   vs `--no-policies`
  AD bit          `--nameserver <unbound> --dnssec-resolver <unbound>` vs `--no-policies`
Target: at most 1.2x today's check time. A measurement, not a test: always exits 0.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives import serialization

from tests.fakes.certs import CertFactory
from tests.fakes.https_server import HttpsServer, Policy
from tests.fakes.signed_dns import (
    KnotServer,
    UnboundResolver,
    dns_tools_unavailable,
    sign_zone,
)
from tests.fakes.smtp_servers import AiosmtpdServer, server_context

ROUNDS = 15
MX_IP, WEB_IP = "127.0.14.2", "127.0.14.1"
SMTP_PORT = 2525


async def _run(command: list[str]) -> tuple[float, dict[str, object]]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("MAILFLOW_")}
    started = time.perf_counter()
    process = await asyncio.create_subprocess_exec(
        *command, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE, env=env
    )
    out, _ = await process.communicate()
    elapsed = time.perf_counter() - started
    return elapsed, json.loads(out) if out else {}


async def main_async() -> None:
    reason = dns_tools_unavailable()
    if reason:
        print(f"skipped: {reason}")
        return
    work = Path(tempfile.mkdtemp(prefix="bench-policies-"))
    factory = CertFactory()
    root = factory.root_ca()
    inter = factory.intermediate(root)
    leaf = factory.leaf(inter, ["mx.bench.test"])
    web_leaf = factory.leaf(inter, ["mta-sts.bench.test"], index=9)
    (work / "root.pem").write_bytes(root.pem)
    spki = leaf.cert.public_key().public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    zone = sign_zone(work / "zone", "bench.test", [
        "@ IN MX 10 mx", f"mx IN A {MX_IP}",
        f"_{SMTP_PORT}._tcp.mx IN TLSA 3 1 1 {hashlib.sha256(spki).hexdigest()}",
        '_mta-sts IN TXT "v=STSv1; id=1"', f"mta-sts IN A {WEB_IP}",
        '_smtp._tls IN TXT "v=TLSRPTv1; rua=mailto:r@bench.test"',
    ])  # fmt: skip
    anchor = work / "anchor.key"
    anchor.write_text(zone.anchor + "\n")
    body = "version: STSv1\nmode: enforce\nmx: mx.bench.test\nmax_age: 86400\n"
    web_ok = True
    https = HttpsServer(server_context(web_leaf, work, "web"), {"mta-sts.bench.test": Policy(body)},
                        WEB_IP, 443)  # fmt: skip
    try:
        await https.start()
    except OSError:
        web_ok = False
    smtp = AiosmtpdServer(server_context(leaf, work, "mx"), MX_IP, "mx.bench.test", SMTP_PORT)
    program = str(Path(sys.executable).with_name("mailflow"))
    try:
        async with KnotServer(work / "knot", [zone]) as knot, smtp:
            stubs = {"bench.test": f"127.0.0.1@{knot.port}"}
            async with UnboundResolver(work / "unbound", stubs, [zone.anchor]) as unbound:
                root_file = str(work / "root.pem")
                common = ["check", "bench.test", "--allow-net", "127.0.0.0/8", "--port",
                          str(SMTP_PORT), "--ca-file", root_file, "--json"]  # fmt: skip
                variants = {
                    "knot, --no-policies": [program, *common, "--nameserver", knot.address,
                                            "--no-policies"],
                    "knot, own validation": [program, *common, "--nameserver", knot.address,
                                             "--trust-anchor", str(anchor)],
                    "unbound, --no-policies": [program, *common, "--nameserver",
                                               unbound.address, "--no-policies"],
                    "unbound, AD bit": [program, *common, "--nameserver", unbound.address,
                                        "--dnssec-resolver", unbound.address],
                }  # fmt: skip
                await _measure(variants, web_ok)
    finally:
        if web_ok:
            await https.stop()


async def _measure(variants: dict[str, list[str]], web_ok: bool) -> None:
    names = list(variants)
    times: dict[str, list[float]] = {name: [] for name in names}
    last: dict[str, dict[str, object]] = {}
    for name in names:  # warm-up
        await _run(variants[name])
    for round_ in range(ROUNDS):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:
            elapsed, doc = await _run(variants[name])
            times[name].append(elapsed)
            last[name] = doc
    served = "yes" if web_ok else "NO (port 443 needs root)"
    print(f"Whole `mailflow check` processes, median of {ROUNDS}, alternating order, "
          f"{os.cpu_count()} CPUs; MTA-STS policy served: {served}")  # fmt: skip
    for name in names:
        findings = last[name].get("findings", [])
        listed = findings if isinstance(findings, list) else []
        ids = sorted({str(f["id"]) for f in listed if isinstance(f, dict)})
        shown = ", ".join(i for i in ids if i.split(".")[0] in {"dane", "mtasts", "tlsrpt"})
        print(f"  {name:26s} {statistics.median(times[name]) * 1000:8.1f} ms  {shown}")
    for base, policy in ((names[0], names[1]), (names[2], names[3])):
        ratio = statistics.median(times[policy]) / statistics.median(times[base])
        verdict = "met" if ratio <= 1.2 else "NOT met"
        print(f"  ratio {policy} / {base}: {ratio:.2f}x (target <= 1.20x: {verdict})")


def main() -> int:
    asyncio.run(main_async())
    return 0


if __name__ == "__main__":
    sys.exit(main())
