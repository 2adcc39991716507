"""Real headless Chromium (Debian's /usr/bin/chromium, installed by scripts/install-chromium.sh)
driven by Playwright in front of the playground; the tests skip with a reason without it.

The world on loopback: a DNS server for example.test whose MX has two addresses, one SMTP
server presenting the right certificate and one Exchange's self-signed CN=SERVER1, so a check
shows what an incident looks like."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from bot.playground.serve import RunningPlayground
from tests.fakes.dns_server import FakeDnsServer
from tests.fakes.smtp_servers import RawServer, ScriptedSmtp, server_context
from tests.integration.conftest import Pki, pki  # noqa: F401 (the session's test PKI)
from tests.integration.playground_harness import playground

if TYPE_CHECKING:
    from playwright.async_api import Browser, Page

CHROMIUM = Path(os.environ.get("MAILFLOW_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs/screenshots"
# The README's pictures are rewritten only when asked (MAILFLOW_UPDATE_SCREENSHOTS=1), so that
# a test run leaves the checkout clean; otherwise they are taken into the test's tmp_path.
UPDATE_SCREENSHOTS = os.environ.get("MAILFLOW_UPDATE_SCREENSHOTS") == "1"
GOOD_IP, BAD_IP = "127.0.0.1", "127.0.0.3"

pytestmark = pytest.mark.browser


def _unavailable() -> str | None:
    try:
        import playwright.async_api  # noqa: F401, PLC0415
    except ImportError:
        return "Playwright for Python is not installed (pip install -e .[dev])"
    if not CHROMIUM.is_file():
        return f"{CHROMIUM} is missing: run scripts/install-chromium.sh"
    return None


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    reason = _unavailable()
    if reason is not None:
        pytest.skip(reason)
    from playwright.async_api import async_playwright  # noqa: PLC0415

    async with async_playwright() as driver:
        launched = await driver.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=["--no-sandbox"]
        )
        try:
            yield launched
        finally:
            await launched.close()


@dataclass
class Site:
    running: RunningPlayground
    page: Page
    shots: Path  # where screenshots go

    async def say(self, text: str) -> None:
        box = self.page.get_by_role("textbox", name="Message")
        await box.fill(text)
        await box.press("Enter")

    def thread(self) -> Any:
        return self.page.get_by_role("region", name="Thread")


@pytest.fixture
async def site(browser: Browser, pki: Pki, tmp_path: Path) -> AsyncIterator[Site]:  # noqa: F811
    good = ScriptedSmtp(
        name="mx.example.test", tls=server_context(pki.leaf, tmp_path, "good"), latency=0.05
    )
    bad = ScriptedSmtp(
        name="SERVER1", tls=server_context(pki.self_signed, tmp_path, "bad"), latency=0.25
    )
    async with RawServer(good, GOOD_IP) as good_server:
        bad_server = await RawServer(bad, BAD_IP, good_server.port).start()
        zone = {
            "example.test": {"MX": ["10 mx.example.test"]},
            "mx.example.test": {"A": [GOOD_IP, BAD_IP]},
            "hybrid.contoso.com": {"A": [BAD_IP]},  # the host a sample trace names
        }
        dns = await FakeDnsServer(zone).start()
        ca_file, _ = pki.root.write(tmp_path, "root")
        env = {
            "MAILFLOW_NAMESERVERS": dns.address,
            "MAILFLOW_ALLOW_NETS": "127.0.0.0/8",
            "MAILFLOW_CA_FILE": str(ca_file),
            "MAILFLOW_PROBE_PORT": str(good_server.port),
            "MAILFLOW_PROBE_TIMEOUT": "2",
        }
        try:
            async with playground(env) as running:
                context = await browser.new_context(viewport={"width": 1500, "height": 1100})
                page = await context.new_page()
                errors: list[str] = []
                page.on("pageerror", lambda error: errors.append(str(error)))
                page.on("dialog", lambda dialog: errors.append(f"dialog: {dialog.message}"))
                await page.goto(running.url)
                yield Site(running, page, SCREENSHOTS if UPDATE_SCREENSHOTS else tmp_path)
                await context.close()
                assert errors == [], errors
        finally:
            await bad_server.stop()
            await dns.stop()
