"""The playground in real headless Chromium: how fast the page loads, and how soon a probe's
progress update reaches the page after the app's chat.update.

    python -m benchmarks.bench_playground [--rounds 20]

The playground runs in this process (the real app, the real handlers) with a scripted probe
whose first progress comes after 1.1 s, so that the app's first chat.update is a progress
update. Each round, alternating which goes first:
- page load: a navigation to the page (with the messages of the rounds so far) against one
  to GET /healthz, both from performance.getEntriesByType("navigation") (fetch start to load
  end); targets: the page in under 1 s.
- progress: a /tlscheck is typed in the page; the time from the playground receiving the
  chat.update to (a) the browser placing the updated message (a MutationObserver's Date.now())
  and (b) a plain aiohttp client reading the same server-sent event; target: (a) < 200 ms.
Prints p50/max and the ratios browser/plain client and page/healthz. Loopback only; bounded.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import sys
import time
from pathlib import Path

import aiohttp

from bot.playground.serve import playground_config, start_playground
from tests.integration.slack_engines import ScriptedCheck, scripted_engines

CHROMIUM = Path("/usr/bin/chromium")
RECORD = """() => {
  window.__seen = [];
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes)
      if (node.tagName === "ARTICLE") window.__seen.push([node.id, node.textContent, Date.now()]);
  }).observe(document.body, { childList: true, subtree: true });
}"""
NAVIGATION = """() => { const n = performance.getEntriesByType("navigation")[0];
  return n.loadEventEnd - n.fetchStart; }"""


async def _plain_client(url: str, seen: dict[str, float], stop: asyncio.Event) -> None:
    """Reads the page's event stream like the page does; notes when each change arrives."""
    async with aiohttp.ClientSession() as http, http.get(url + "ui/events?after=0") as stream:
        async for raw in stream.content:
            if stop.is_set():
                return
            line = raw.decode().strip()
            if line.startswith("data: "):
                data = json.loads(line[6:])
                progress = "1/1 connections done" in data.get("html", "")
                key = f"{data.get('ts')}|{progress}"
                seen.setdefault(key, time.time())


def _p(values: list[float]) -> str:
    return f"p50 {statistics.median(values):7.1f} ms  max {max(values):7.1f} ms"


async def run(rounds: int) -> int:
    from playwright.async_api import async_playwright  # noqa: PLC0415 (checked in main())

    config = playground_config({"MAILFLOW_CHECKS_PER_MINUTE": "1000"})
    engines = scripted_engines(ScriptedCheck(delay=1.1))
    page_ms: list[float] = []
    healthz_ms: list[float] = []
    browser_ms: list[float] = []
    plain_ms: list[float] = []
    async with start_playground(config, engines, port=0) as running, async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=str(CHROMIUM), args=["--no-sandbox"])
        page = await browser.new_page()
        seen: dict[str, float] = {}
        stop = asyncio.Event()
        plain = asyncio.create_task(_plain_client(running.url, seen, stop))
        conversation = running.playground.conversation
        for index in range(rounds):
            order = ("page", "healthz") if index % 2 == 0 else ("healthz", "page")
            for what in order:
                await page.goto(running.url + ("" if what == "page" else "healthz"))
                (page_ms if what == "page" else healthz_ms).append(await page.evaluate(NAVIGATION))
            await page.goto(running.url)
            await page.evaluate(RECORD)
            box = page.get_by_role("textbox", name="Message")
            await box.fill(f"/tlscheck site{index}.example.com")
            await box.press("Enter")
            await page.wait_for_function(
                "() => window.__seen.some(([, text]) => text.includes('1/1 connections done'))",
                timeout=15_000,
            )
            progress = next(
                p for p in conversation.pushes
                if p.data.get("kind") == "message" and 'class="edited"' in p.data["html"]
                and "1/1 connections done" in p.data["html"]
                and f"site{index}.example.com" in p.data["html"]
            )  # fmt: skip
            seen_in_page = await page.evaluate("() => window.__seen")
            placed = next(
                at for node_id, text, at in seen_in_page
                if node_id == f"m-{progress.data['ts']}" and "1/1 connections done" in text
            )  # fmt: skip
            browser_ms.append(placed - progress.at * 1000)
            key = f"{progress.data['ts']}|True"
            for _ in range(100):
                if key in seen:
                    break
                await asyncio.sleep(0.01)
            plain_ms.append((seen[key] - progress.at) * 1000)
            while len(running.app.runtime.tasks):  # the round's check finishes before the next
                await asyncio.sleep(0.05)
        stop.set()
        plain.cancel()
        await browser.close()
    messages = len(running.playground.conversation.messages)
    print(f"page load ({rounds} rounds, up to {messages} messages): {_p(page_ms)}")
    print(f"GET /healthz in the same browser:          {_p(healthz_ms)}")
    load_ratio = statistics.median(page_ms) / statistics.median(healthz_ms)
    print(f"  ratio page/healthz p50: {load_ratio:.2f}")
    print(f"chat.update -> page shows it:              {_p(browser_ms)}")
    print(f"chat.update -> plain SSE client reads it:  {_p(plain_ms)}")
    ratio = statistics.median(browser_ms) / max(statistics.median(plain_ms), 0.01)
    print(f"  ratio browser/plain client p50: {ratio:.2f}")
    ok = max(page_ms) < 1000 and max(browser_ms) < 200
    print("targets (page < 1 s, update < 200 ms):", "met" if ok else "MISSED")
    return 0 if ok else 1


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    if not CHROMIUM.is_file():
        print(f"{CHROMIUM} is missing: run scripts/install-chromium.sh", file=sys.stderr)
        return 2
    return asyncio.run(run(min(max(args.rounds, 2), 200)))


if __name__ == "__main__":
    sys.exit(main())
