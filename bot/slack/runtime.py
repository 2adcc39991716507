"""Everything one running bot owns: settings, engines, Web API client, store, task registry,
rate limiter, dedupe memory, and the check/watch services built on them."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sqlite3

import aiohttp
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack.cases import CaseFiles
from bot.slack.checks import CheckRunner, EvidenceCache
from bot.slack.dedupe import EVENT_ID_TTL, SeenKeys
from bot.slack.engines import Engines
from bot.slack.poster import Poster
from bot.slack.ratelimit import RateLimiter
from bot.slack.store import Store
from bot.slack.tasks import TaskRegistry
from bot.slack.watches import WatchManager

log = logging.getLogger("mailflow.runtime")

PRUNE_EVERY = 86_400.0  # seconds between two prunings of old history (also once at start)


class NotStartedError(RuntimeError):
    pass


class Runtime:
    def __init__(self, settings: Settings, engines: Engines, client: AsyncWebClient) -> None:
        self.settings = settings
        self.engines = engines
        self.client = client
        self.store = Store(settings.db_path)
        self.cases = CaseFiles(self.store, engines)
        self.tasks = TaskRegistry()
        self.limiter = RateLimiter(settings.checks_per_minute)
        self.seen = SeenKeys()
        self.evidence = EvidenceCache()
        self._http: aiohttp.ClientSession | None = None
        self._api_session: aiohttp.ClientSession | None = None
        self._poster: Poster | None = None
        self._checks: CheckRunner | None = None
        self._watches: WatchManager | None = None
        # Not in the task registry: it is the bot's housekeeping, not a user's job.
        self._housekeeping: asyncio.Task[None] | None = None

    @property
    def started(self) -> bool:
        return self._poster is not None

    async def start(self) -> None:
        """Open the store, create the HTTP session and resume active watches (idempotent)."""
        if self.started:
            return
        await self.store.open()
        self._http = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60))
        # One pooled session for every Web API call (slack_sdk otherwise opens a new connection,
        # and a new TLS handshake with Slack, per call); bolt's per-request clients share it.
        self._api_session = aiohttp.ClientSession()
        self.client.session = self._api_session
        self._poster = Poster(self.client, self._http)
        self._checks = CheckRunner(
            self.engines, self._poster, self.store, self.evidence, cases=self.cases
        )
        self._watches = WatchManager(
            self.engines,
            self._poster,
            self.store,
            self.tasks,
            interval=self.settings.watch_interval,
            max_duration=self.settings.watch_max,
        )
        await self._watches.resume_all()
        await self.prune_history()
        self._housekeeping = asyncio.create_task(self._prune_daily(), name="prune history")

    async def prune_history(self) -> None:
        """Delete history older than the retention (a bounded batch); never raises."""
        try:
            removed = await self.store.prune()
        except (sqlite3.Error, RuntimeError):
            log.exception("could not prune old history")
            return
        if removed:
            log.info("pruned %d old history rows", removed)

    async def _prune_daily(self) -> None:
        while True:
            await asyncio.sleep(PRUNE_EVERY)
            await self.prune_history()

    async def aclose(self) -> None:
        if self._housekeeping is not None:
            self._housekeeping.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._housekeeping
            self._housekeeping = None
        await self.tasks.aclose()
        if self._http is not None:
            await self._http.close()
            self._http = None
        if self._api_session is not None:
            self.client.session = None
            await self._api_session.close()
            self._api_session = None
        await self.store.close()
        self._poster = self._checks = self._watches = None
        self._http = None

    async def first_delivery(self, event_id: str) -> bool:
        """Whether an Events API delivery is new (see bot.slack.dedupe). If the store fails,
        answer rather than stay silent: at worst a retry is answered twice."""
        try:
            return await self.store.first_delivery(event_id, EVENT_ID_TTL)
        except (sqlite3.Error, RuntimeError):
            log.exception("could not record event %s; handling it anyway", event_id)
            return self.seen.first_time(f"event:{event_id}")

    @property
    def http(self) -> aiohttp.ClientSession:
        if self._http is None:
            raise NotStartedError("runtime not started")
        return self._http

    @property
    def poster(self) -> Poster:
        if self._poster is None:
            raise NotStartedError("runtime not started")
        return self._poster

    @property
    def checks(self) -> CheckRunner:
        if self._checks is None:
            raise NotStartedError("runtime not started")
        return self._checks

    @property
    def watches(self) -> WatchManager:
        if self._watches is None:
            raise NotStartedError("runtime not started")
        return self._watches
