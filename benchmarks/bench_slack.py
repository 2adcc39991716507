"""Ack latency of /tlscheck under load while earlier checks hang on tarpit servers.

    python -m benchmarks.bench_slack [--requests 200] [--concurrency 50] [--hanging 50]

The bot runs in a child process exactly as `mailflow serve` runs it (HTTP mode, real engines,
settings from the environment) against a fake Slack Web API, a loopback DNS server and a tarpit
SMTP server (accepts connections and never greets) in this process. First `--hanging` checks are
started and left hanging on the tarpit; then `--requests` signed /tlscheck requests (more tarpit
targets) are sent at `--concurrency` while GET /healthz is sampled in the same run. Reports
p50/p99 of both. Targets: p99 ack < 100 ms and within 3x of healthz p99.
Everything stays on 127.0.0.x and stops by itself (bounded request counts and a deadline).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import signal
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from bot.settings import Settings
from bot.slack.serve import serve
from tests.fakes import slack_signing as signing
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.slack_api import BOT_TOKEN, FakeSlackApi
from tests.fakes.smtp_servers import RawServer, hostile_no_banner

SECRET = "bench-signing-secret"
DEADLINE_S = 300.0
TARPIT_ZONE = "tarpit.test"
TARPIT_IP = "127.0.0.9"
HEALTHZ_SAMPLERS = 4  # concurrent GET /healthz loops during the measured phase
CHILD_FLAG = "--child"
CHILD_COMMAND = [sys.executable, "-m", "benchmarks.bench_slack", CHILD_FLAG]


# -- the bot, in a child process ----------------------------------------------------------------
def child_main() -> int:
    """The bot as `mailflow serve` runs it: settings from the environment, real engines."""
    return serve(Settings.from_env())


@contextlib.asynccontextmanager
async def bot_process(
    api: FakeSlackApi, port: int, db: Path, dns: FakeDnsServer, tarpit: RawServer
) -> AsyncIterator[str]:
    env = {
        **os.environ,
        "SLACK_BOT_TOKEN": BOT_TOKEN,
        "SLACK_SIGNING_SECRET": SECRET,
        "PORT": str(port),
        "MAILFLOW_SLACK_API_URL": api.api_url,
        "MAILFLOW_DB": str(db),
        "MAILFLOW_CHECKS_PER_MINUTE": "1000",
        "MAILFLOW_NAMESERVERS": dns.address,
        "MAILFLOW_ALLOW_NETS": "127.0.0.0/8",
        "MAILFLOW_PROBE_PORT": str(tarpit.port),
        "MAILFLOW_PROBE_TIMEOUT": "30",  # the tarpit holds every check for the whole run
    }
    env.pop("SLACK_APP_TOKEN", None)
    process = await asyncio.create_subprocess_exec(
        *CHILD_COMMAND,
        env=env, stdout=asyncio.subprocess.DEVNULL, stderr=asyncio.subprocess.DEVNULL,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        await _wait_healthy(url)
        yield url
    finally:
        if process.returncode is None:
            process.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(process.wait(), 10)
            except TimeoutError:
                process.kill()
                await process.wait()


async def _wait_healthy(url: str) -> None:
    async with aiohttp.ClientSession() as http:
        for _ in range(200):
            with contextlib.suppress(aiohttp.ClientError):
                async with http.get(url + "/healthz") as response:
                    if response.status == 200:
                        return
            await asyncio.sleep(0.05)
    raise RuntimeError("the bot did not become healthy")


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# -- load -----------------------------------------------------------------------------------------
@dataclass
class Samples:
    ack_ms: list[float]
    healthz_ms: list[float]
    errors: int
    tarpit_connections: int = 0  # connections held open by the tarpit at the end


async def _command(http: aiohttp.ClientSession, url: str, api: FakeSlackApi, index: int) -> float:
    request = signing.slash_command(
        SECRET, f"tarpit{index}.{TARPIT_ZONE}", response_url=api.response_url(),
        user_id=f"U{index:07d}", channel_id=f"C{index % 7:07d}",
    )  # fmt: skip
    start = time.perf_counter()
    async with http.post(
        url + "/slack/events", data=request.body.encode(), headers=request.headers
    ) as response:
        body = await response.text()
    elapsed = (time.perf_counter() - start) * 1000
    if response.status != 200 or "Checking" not in body:
        raise RuntimeError(f"unexpected ack {response.status}: {body[:200]}")
    return elapsed


async def _sample_healthz(
    http: aiohttp.ClientSession, url: str, stop: asyncio.Event, out: list[float]
) -> None:
    while not stop.is_set():
        start = time.perf_counter()
        async with http.get(url + "/healthz") as response:
            await response.read()
        out.append((time.perf_counter() - start) * 1000)
        await asyncio.sleep(0.005)


def tarpit_zone(names: int) -> dict[str, dict[str, list[str]]]:
    zone = {f"tarpit{i}.{TARPIT_ZONE}": {"MX": [f"10 mx.{TARPIT_ZONE}"]} for i in range(names)}
    zone.update(
        {
            f"tarpit{100_000 + i}.{TARPIT_ZONE}": {"MX": [f"10 mx.{TARPIT_ZONE}"]}
            for i in range(names)
        }
    )
    zone[f"mx.{TARPIT_ZONE}"] = {"A": [TARPIT_IP]}
    return zone


async def run(requests: int, concurrency: int, hanging: int) -> Samples:
    api = await FakeSlackApi(bot_token=BOT_TOKEN).start()
    dns = await FakeDnsServer(tarpit_zone(max(requests, hanging))).start()
    tarpit = await RawServer(hostile_no_banner, TARPIT_IP).start()
    with tempfile.TemporaryDirectory() as tmp:
        try:
            async with bot_process(api, _free_port(), Path(tmp) / "b.db", dns, tarpit) as url:
                connector = aiohttp.TCPConnector(limit=concurrency + 5)
                async with aiohttp.ClientSession(connector=connector) as http:
                    samples = await _load(http, url, api, tarpit, requests, concurrency, hanging)
                    samples.tarpit_connections = tarpit.active
                    return samples
        finally:
            await tarpit.stop()
            await dns.stop()
            await api.close()


async def _load(
    http: aiohttp.ClientSession,
    url: str,
    api: FakeSlackApi,
    tarpit: RawServer,
    requests: int,
    concurrency: int,
    hanging: int,
) -> Samples:
    # Earlier checks that hang: wait until each holds a connection open on the tarpit.
    for index in range(hanging):
        await _command(http, url, api, 100_000 + index)
    async with asyncio.timeout(60):
        while tarpit.active < hanging:
            await asyncio.sleep(0.05)

    healthz: list[float] = []
    stop = asyncio.Event()
    samplers = [
        asyncio.create_task(_sample_healthz(http, url, stop, healthz))
        for _ in range(HEALTHZ_SAMPLERS)
    ]
    semaphore = asyncio.Semaphore(concurrency)
    errors = 0

    async def one(index: int) -> float | None:
        nonlocal errors
        async with semaphore:
            try:
                return await _command(http, url, api, index)
            except (RuntimeError, aiohttp.ClientError):
                errors += 1
                return None

    async with asyncio.timeout(DEADLINE_S):
        results = await asyncio.gather(*(one(i) for i in range(requests)))
    stop.set()
    await asyncio.gather(*samplers)
    return Samples([r for r in results if r is not None], healthz, errors)


def _percentile(values: list[float], q: float) -> float:
    if len(values) < 2:
        return values[0] if values else float("nan")
    return statistics.quantiles(values, n=100, method="inclusive")[int(q) - 1]


def report(samples: Samples) -> dict[str, float | int | bool]:
    ack_p99 = _percentile(samples.ack_ms, 99)
    health_p99 = _percentile(samples.healthz_ms, 99)
    return {
        "acks": len(samples.ack_ms),
        "ack_errors": samples.errors,
        "ack_p50_ms": round(_percentile(samples.ack_ms, 50), 2),
        "ack_p99_ms": round(ack_p99, 2),
        "healthz_samples": len(samples.healthz_ms),
        "healthz_p50_ms": round(_percentile(samples.healthz_ms, 50), 2),
        "healthz_p99_ms": round(health_p99, 2),
        "ack_p99_over_healthz_p99": round(ack_p99 / health_p99, 2),
        "checks_hanging_on_tarpit": samples.tarpit_connections,
        "target_met": ack_p99 < 100 and ack_p99 <= 3 * health_p99 and samples.errors == 0,
    }


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if args[:1] == [CHILD_FLAG]:
        return child_main()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--concurrency", type=int, default=50)
    parser.add_argument("--hanging", type=int, default=50)
    options = parser.parse_args(args)
    samples = asyncio.run(run(options.requests, options.concurrency, options.hanging))
    result = report(samples)
    print(json.dumps(result, indent=2))
    return 0 if result["target_met"] else 1


if __name__ == "__main__":
    sys.exit(main())
