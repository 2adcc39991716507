"""`mailflow serve`: run the bot until SIGINT/SIGTERM, in HTTP mode or Socket Mode."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import sys
from collections.abc import Mapping
from pathlib import Path

import aiohttp
from aiohttp import web

from bot.collect import load_scripts
from bot.core.appliances import default_appliances
from bot.core.check.texts import default_check_texts
from bot.core.diagnose.pipeline import load_knowledge
from bot.core.paths import ConfigError, config_dir
from bot.probe.dnssec import load_trust_anchors
from bot.settings import Settings, SettingsError
from bot.slack.app import MailflowApp, build_app
from bot.slack.engines import Engines
from bot.slack.http import EVENTS_PATH, build_web_app
from bot.slack.socket_mode import SocketModeRunner, TokenRefusedError
from bot.slack.store import StoreError

log = logging.getLogger("mailflow.serve")

SLACK_CREDENTIALS = ("SLACK_BOT_TOKEN", "SLACK_APP_TOKEN", "SLACK_SIGNING_SECRET")

# Everything the bot reads from config/, loaded (and cached) before it listens, so that a
# missing or broken file stops the start instead of failing every user's request later.
CONFIG_LOADERS = (
    load_knowledge, default_check_texts, default_appliances, load_scripts, load_trust_anchors,
)  # fmt: skip


def serve_from_env(environ: Mapping[str, str] | None = None, *, playground: bool = False) -> int:
    """`mailflow serve`: settings from the environment, then the knowledge from config/; a bad
    setting or file is one line on stderr and exit code 2. Without Slack credentials, or with
    `playground`, the local playground instead (bot.playground)."""
    env = os.environ if environ is None else environ
    if playground or not has_slack_credentials(env):
        from bot.playground.serve import playground_from_env  # noqa: PLC0415 (it imports this)

        return playground_from_env(env)
    try:
        settings = Settings.from_env(env)
        load_config()
        if settings.trust_anchor:  # MAILFLOW_TRUST_ANCHOR: parsed now, not at the first check
            load_trust_anchors(Path(settings.trust_anchor))
    except (SettingsError, ConfigError) as exc:
        return startup_failure(exc)
    return serve(settings)


def startup_failure(exc: SettingsError | ConfigError) -> int:
    """The one line `mailflow serve` prints for a bad setting or config/ file; its exit code."""
    if isinstance(exc, ConfigError):
        print(f"mailflow serve: cannot load {config_dir()}: {exc}", file=sys.stderr)
    else:
        print(f"mailflow serve: {exc}", file=sys.stderr)
    return 2


def has_slack_credentials(environ: Mapping[str, str]) -> bool:
    return any((environ.get(name) or "").strip() for name in SLACK_CREDENTIALS)


def load_config() -> None:
    """Load and validate every file of config/; raises ConfigError naming the file."""
    for load in CONFIG_LOADERS:
        load()


def serve(settings: Settings, engines: Engines | None = None) -> int:
    """Blocks until SIGINT/SIGTERM; returns the process exit code. `engines` defaults to the
    real diagnosis core and live probe (the benchmark passes hanging ones)."""
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    # slack_sdk narrates its own retries at INFO; our log says what matters once.
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_serve(settings, engines))
    except StoreError as exc:
        print(f"mailflow serve: MAILFLOW_DB={settings.db_path} {exc}", file=sys.stderr)
        return 2
    except (ListenError, TokenRefusedError) as exc:
        print(f"mailflow serve: {exc}", file=sys.stderr)
        return 2
    return 0


class ListenError(Exception):
    """The HTTP port cannot be opened (in use, HOST not an address of this machine)."""


async def _serve(settings: Settings, engines: Engines | None) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):  # not on every platform
            loop.add_signal_handler(sig, stop.set)
    app = build_app(settings, engines)
    # The store first: a database that cannot be used stops the start before anything listens.
    await app.runtime.start()
    try:
        if settings.socket_mode:
            await _socket_mode(app, settings, stop)
        else:
            await _http_mode(app, settings, stop)
    finally:
        await app.runtime.aclose()
    log.info("stopped")


async def _http_mode(app: MailflowApp, settings: Settings, stop: asyncio.Event) -> None:
    runner = web.AppRunner(build_web_app(app), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, settings.host, settings.port)
    try:
        await site.start()
    except OSError as exc:
        await runner.cleanup()
        where = f"HOST={settings.host} PORT={settings.port}"
        raise ListenError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    log.info(
        "HTTP mode: POST %s and GET /healthz on %s port %d", EVENTS_PATH, settings.host,
        settings.port,
    )  # fmt: skip
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


async def _socket_mode(app: MailflowApp, settings: Settings, stop: asyncio.Event) -> None:
    assert settings.app_token is not None
    async with aiohttp.ClientSession() as websocket_session:
        runner = SocketModeRunner(app, settings.app_token, app.client, websocket_session)
        await runner.run(stop)
