"""The playground in real headless Chromium, held by its accessible names: the textbox
"Message", one article per message, the "N replies" button, the region "Thread", and real
buttons labelled as in Slack. Screenshots land in docs/screenshots/ (the README shows two)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.browser.conftest import SCREENSHOTS, Site
from tests.integration.playground_harness import DATA, REPO, pushed_html

# Records every version of every message the page shows (a parent is replaced on chat.update).
RECORD = """() => {
  window.__history = {};
  new MutationObserver((records) => {
    for (const record of records) for (const node of record.addedNodes)
      if (node.tagName === "ARTICLE") (window.__history[node.id] ||= []).push(node.textContent);
  }).observe(document.body, { childList: true, subtree: true });
}"""
TIMEOUT = 20_000  # ms: a check of two addresses takes about one second here


async def _screenshot(site: Site, name: str) -> None:
    """The README's pictures: the thread from its first reply."""
    await site.page.evaluate("() => { document.getElementById('thread-body').scrollTop = 0; }")
    await site.page.screenshot(path=str(site.shots / name))
    assert (site.shots / name).stat().st_size > 10_000


async def _open_thread(site: Site, parent: Any) -> Any:
    await parent.get_by_role("button", name=re.compile(r"^\d+ repl(y|ies)$")).click()
    thread = site.thread()
    await thread.wait_for(state="visible")
    return thread


async def _check_thread(site: Site) -> tuple[Any, Any]:
    page = site.page
    await page.evaluate(RECORD)
    await site.say("/tlscheck example.test")
    parent = page.locator("#messages article", has_text="details in the thread")
    await parent.wait_for(timeout=TIMEOUT)
    thread = await _open_thread(site, parent)
    report = thread.get_by_role("article").filter(has_text="TLS check of example.test")
    await report.first.wait_for(timeout=TIMEOUT)
    return parent, report.first


async def test_a_check_updates_its_parent_and_answers_in_the_thread(site: Site) -> None:
    page = site.page
    # ephemeral ack: only visible to you
    parent, report = await _check_thread(site)
    ack = page.locator("article.ephemeral", has_text="Checking example.test")
    assert "Only visible to you" in await ack.inner_text()
    history: dict[str, list[str]] = await page.evaluate("() => window.__history")
    versions = history[await parent.get_attribute("id") or ""]
    assert any("Checking example.test" in v for v in versions[:1]), versions
    assert "details in the thread" in versions[-1] and "(edited)" in versions[-1]
    for name in ("Re-run", "Watch until fixed", "Show evidence"):
        assert await report.get_by_role("button", name=name, exact=True).count() == 1
    text = await report.inner_text()
    assert "cert.self_signed" in text and "127.0.0.3" in text
    assert await report.get_by_role("button", name="Copy").count() >= 1
    await _screenshot(site, "check-thread.png")

    await report.get_by_role("button", name="Show evidence").click()
    thread = site.thread()
    evidence = thread.get_by_role("article").filter(has_text="Evidence for example.test")
    await evidence.first.wait_for(timeout=TIMEOUT)
    assert "self-signed" in await evidence.first.inner_text()

    reports = thread.get_by_role("article").filter(has_text="details in the thread")
    await report.get_by_role("button", name="Re-run").click()
    await reports.first.wait_for(timeout=TIMEOUT)  # the re-run's parent, in the same thread
    finished = thread.get_by_role("article").filter(has_text="TLS check of example.test")
    await page.wait_for_function(
        "() => document.querySelectorAll('#thread-body article .actions').length >= 2",
        timeout=TIMEOUT,
    )
    assert await finished.count() >= 3


async def test_a_pasted_4_7_320_trace_is_diagnosed_in_its_thread(site: Site) -> None:
    page = site.page
    await (
        page.get_by_role("complementary", name="Examples")
        .get_by_role("button", name="message trace 4.7.320 subject mismatch")
        .click()
    )
    box = page.get_by_role("textbox", name="Message")
    await page.wait_for_function(
        "() => document.getElementById('message').value.includes('4.7.320')"
    )
    await box.press("Enter")
    parent = page.locator("#messages article", has_text="Message trace details")
    await parent.wait_for(timeout=TIMEOUT)
    thread = await _open_thread(site, parent)
    diagnosis = thread.get_by_role("article").filter(has_text="Mail-flow diagnosis")
    await diagnosis.first.wait_for(timeout=TIMEOUT)
    text = await diagnosis.first.inner_text()
    assert "hybrid.contoso.com" in text and "Set-ReceiveConnector" in text
    probe = diagnosis.first.get_by_role("button", name="Probe hybrid.contoso.com now")
    assert await probe.count() == 1
    await _screenshot(site, "pasted-trace.png")
    await probe.click()  # hybrid.contoso.com is the self-signed server on loopback here
    checked = thread.get_by_role("article").filter(has_text="TLS check of host=hybrid.contoso.com")
    await checked.filter(has_text="cert.self_signed").first.wait_for(timeout=TIMEOUT)


async def test_an_uploaded_and_a_dropped_protocol_log_are_diagnosed(site: Site) -> None:
    page = site.page
    log = REPO / "examples/smtpreceive-server1-self-signed.log"
    await page.get_by_label("Attach a file").set_input_files(str(log))
    parent = page.locator("#messages article", has_text=log.name)
    await parent.wait_for(timeout=TIMEOUT)
    thread = await _open_thread(site, parent)
    answer = thread.get_by_role("article").filter(has_text=f"the file {log.name}")
    await answer.first.wait_for(timeout=TIMEOUT)

    content = log.read_text(encoding="utf-8")
    transfer = await page.evaluate_handle(
        """(text) => { const data = new DataTransfer();
            data.items.add(new File([text], "dropped.log", { type: "text/plain" }));
            return data; }""",
        content,
    )
    await page.dispatch_event("#composer", "drop", {"dataTransfer": transfer})
    dropped = page.locator("#messages article", has_text="dropped.log")
    await dropped.wait_for(timeout=TIMEOUT)
    await dropped.get_by_role("button", name="1 reply").wait_for(timeout=TIMEOUT)


async def test_start_and_stop_a_watch(site: Site) -> None:
    _, report = await _check_thread(site)
    await report.get_by_role("button", name="Watch until fixed").click()
    thread = site.thread()
    stop = thread.get_by_role("button", name="Stop watching example.test")
    await stop.wait_for(timeout=TIMEOUT)
    started = site.page.locator("article.ephemeral", has_text="Watching")
    await started.first.wait_for(timeout=TIMEOUT)
    await stop.click()
    stopped = thread.get_by_role("article").filter(has_text="Stopped watching")
    await stopped.first.wait_for(timeout=TIMEOUT)


async def test_a_hostile_subject_is_shown_as_text(site: Site) -> None:
    page = site.page
    ndr = (DATA / "ndr-hostile-subject.txt").read_text(encoding="utf-8")
    await site.say(ndr)
    parent = page.locator("#messages article", has_text="Undeliverable")
    await parent.wait_for(timeout=TIMEOUT)
    thread = await _open_thread(site, parent)
    diagnosis = thread.get_by_role("article").filter(has_text="Mail-flow diagnosis")
    await diagnosis.first.wait_for(timeout=TIMEOUT)
    # The person's message shows the subject exactly as typed, and so does the diagnosis, as
    # inert text (the pasted message is read without Slack's entities).
    assert "Q4 <script>alert(1)</script> <!channel>" in await parent.inner_text()
    assert "<script>alert(1)</script>" in await diagnosis.first.inner_text()
    assert await page.locator("article script, .broadcast").count() == 0
    assert "<script>" not in pushed_html(site.running)


async def test_app_home_and_the_channel_summary(site: Site) -> None:
    page = site.page
    await site.say("/tlscheck summary")
    summary = page.locator("#messages article", has_text="No checks, watches or diagnoses")
    await summary.wait_for(timeout=TIMEOUT)
    await page.get_by_role("button", name="mailflow · Home").click()
    home = page.get_by_role("region", name="App Home")
    await home.get_by_role("heading", name="mailflow-bot").wait_for(timeout=TIMEOUT)
    assert "Your recent checks" in await home.inner_text()


def test_screenshots_are_in_the_readme() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    for name in ("check-thread.png", "pasted-trace.png"):
        assert f"docs/screenshots/{name}" in readme
        assert Path(SCREENSHOTS / name).is_file()
