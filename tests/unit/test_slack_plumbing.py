"""Task registry, event dedupe and rate limiting."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from bot.slack.dedupe import SeenKeys
from bot.slack.files import trusted_download_url
from bot.slack.ratelimit import RateLimiter
from bot.slack.store import Store
from bot.slack.tasks import TaskRegistry


async def test_registry_keeps_jobs_and_refuses_duplicates() -> None:
    registry = TaskRegistry()
    gate = asyncio.Event()
    first = registry.spawn(gate.wait(), name="a", key="k")
    assert first is not None and registry.running("k")
    assert registry.spawn(gate.wait(), name="b", key="k") is None
    gate.set()
    await first
    await asyncio.sleep(0)
    assert not registry.running("k") and len(registry) == 0


async def test_failing_job_is_reported_and_does_not_escape() -> None:
    registry = TaskRegistry()
    reported: list[BaseException] = []

    async def boom() -> None:
        raise ValueError("bad")

    async def report(exc: BaseException) -> None:
        reported.append(exc)

    task = registry.spawn(boom(), name="boom", on_error=report)
    assert task is not None
    await task
    assert isinstance(reported[0], ValueError)


async def test_aclose_cancels_everything_quickly() -> None:
    registry = TaskRegistry()
    cancelled = asyncio.Event()

    async def forever() -> None:
        try:
            await asyncio.Event().wait()
        finally:
            cancelled.set()

    for i in range(20):
        registry.spawn(forever(), name=f"f{i}")
    registry.spawn(forever(), name="never started")
    await asyncio.sleep(0)
    registry.spawn(forever(), name="cancelled before it ran")
    start = time.monotonic()
    await registry.aclose()
    assert cancelled.is_set() and len(registry) == 0
    assert time.monotonic() - start < 1
    assert registry.spawn(forever(), name="late") is None


def test_seen_keys_expire_and_stay_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = SeenKeys(ttl=10, max_size=3)
    assert seen.first_time("a") and not seen.first_time("a")
    for key in "bcd":
        seen.first_time(key)
    assert seen.first_time("a")  # evicted by size
    now = time.monotonic()
    monkeypatch.setattr(time, "monotonic", lambda: now + 11)
    assert seen.first_time("d")  # expired


def test_rate_limiter_sliding_window(monkeypatch: pytest.MonkeyPatch) -> None:
    limiter = RateLimiter(limit=2, window=60)
    clock = [1000.0]
    monkeypatch.setattr(time, "monotonic", lambda: clock[0])
    assert limiter.acquire("u") == 0 and limiter.acquire("u") == 0
    assert limiter.acquire("u") == pytest.approx(60)
    assert limiter.acquire("v") == 0
    clock[0] += 61
    assert limiter.acquire("u") == 0


def test_file_downloads_only_from_slack_or_the_configured_api_host() -> None:
    api = "http://127.0.0.1:8080/api/"
    assert trusted_download_url(
        "https://files.slack.com/files-pri/T1-F1/x.log", "https://slack.com/api/"
    )
    assert trusted_download_url("http://127.0.0.1:8080/files-pri/F1/x.log", api)
    assert not trusted_download_url("http://127.0.0.1:9999/x.log", api)
    assert not trusted_download_url("http://files.slack.com/x.log", "https://slack.com/api/")
    assert not trusted_download_url(
        "https://169.254.169.254/latest/meta-data", "https://slack.com/api/"
    )
    assert not trusted_download_url("file:///etc/passwd", api)


async def test_event_ids_are_remembered_across_reopening_and_expire(tmp_path: Path) -> None:
    db = str(tmp_path / "m.db")
    store = await Store(db).open()
    try:
        assert await store.first_delivery("Ev1", ttl=3600)
        assert not await store.first_delivery("Ev1", ttl=3600)
        assert await store.first_delivery("Ev2", ttl=3600)
    finally:
        await store.close()
    reopened = await Store(db).open()  # a restart of the app
    try:
        assert not await reopened.first_delivery("Ev1", ttl=3600)
        await asyncio.sleep(0.05)
        assert await reopened.first_delivery("Ev1", ttl=0.01)  # long expired: new again
        assert not await reopened.first_delivery("Ev1", ttl=0.01)
    finally:
        await reopened.close()


async def test_concurrent_deliveries_of_one_event_pass_once(tmp_path: Path) -> None:
    store = await Store(str(tmp_path / "m.db")).open()
    try:
        answers = await asyncio.gather(*(store.first_delivery("Ev9", 3600) for _ in range(20)))
        assert answers.count(True) == 1
    finally:
        await store.close()
