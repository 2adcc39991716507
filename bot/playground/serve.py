"""`mailflow serve` without Slack credentials (or with `--playground`): the real app behind the
playground on http://127.0.0.1:$PORT.

The bot gets a bot token and a signing secret made up at start, a Web API URL pointing at the
playground and, unless MAILFLOW_DB says otherwise, an in-memory store. It listens on 127.0.0.1
unless HOST names another address, which is refused without MAILFLOW_PLAYGROUND_TOKEN (the
page then asks for it).
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import logging
import secrets
import signal
import socket
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path

from aiohttp import web

from bot.core.paths import ConfigError, examples_dir
from bot.playground.server import Playground
from bot.settings import Settings, SettingsError
from bot.slack.app import MailflowApp, build_app
from bot.slack.engines import Engines
from bot.slack.http import build_web_app
from bot.slack.serve import ListenError, load_config, startup_failure
from bot.slack.store import StoreError

log = logging.getLogger("mailflow.playground")

TOKEN_ENV = "MAILFLOW_PLAYGROUND_TOKEN"  # noqa: S105 (the variable's name)
DEFAULT_HOST = "127.0.0.1"
MIN_TOKEN_CHARS = 16
# Slack's settings that the playground makes up itself (a real workspace is never contacted).
_REPLACED = ("SLACK_BOT_TOKEN", "SLACK_SIGNING_SECRET", "SLACK_APP_TOKEN", "MAILFLOW_SLACK_API_URL")


@dataclass(frozen=True, slots=True)
class PlaygroundConfig:
    settings: Settings  # the app's, with made-up credentials
    page_token: str | None


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def playground_config(environ: Mapping[str, str]) -> PlaygroundConfig:
    """The playground's settings from the environment; SettingsError (one line) when HOST is
    not loopback and no MAILFLOW_PLAYGROUND_TOKEN is set, or another setting is malformed."""
    env = {k: v for k, v in environ.items() if k not in _REPLACED}
    if not (env.get("HOST") or "").strip():
        env["HOST"] = DEFAULT_HOST
    if not (env.get("MAILFLOW_DB") or "").strip():
        env["MAILFLOW_DB"] = ":memory:"
    env["SLACK_BOT_TOKEN"] = "xoxb-playground-" + secrets.token_hex(16)
    env["SLACK_SIGNING_SECRET"] = secrets.token_hex(32)
    env["MAILFLOW_SLACK_API_URL"] = "http://127.0.0.1/api/"  # the real port is known once bound
    settings = Settings.from_env(env)
    token = (environ.get(TOKEN_ENV) or "").strip() or None
    if token is not None and len(token) < MIN_TOKEN_CHARS:
        raise SettingsError(f"{TOKEN_ENV} is too short: use at least {MIN_TOKEN_CHARS} characters")
    if token is None and not is_loopback(settings.host):
        raise SettingsError(
            f"HOST={settings.host} is not a loopback address: the playground lets anyone who "
            f"reaches it use the bot, so set {TOKEN_ENV} (the page then asks for it) or unset HOST"
        )
    return PlaygroundConfig(settings, token)


@dataclass(frozen=True, slots=True)
class RunningPlayground:
    url: str  # the page, e.g. http://127.0.0.1:3000/
    playground: Playground
    app: MailflowApp


def _bind(host: str, port: int) -> socket.socket:
    try:
        family, kind, proto, _, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        )[0]
        sock = socket.socket(family, kind, proto)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind(address)
            sock.listen(128)
        except OSError:
            sock.close()
            raise
    except OSError as exc:
        where = f"HOST={host} PORT={port}"
        raise ListenError(f"cannot listen on {where}: {exc.strerror or exc}") from None
    sock.setblocking(False)
    return sock


def _url_host(host: str) -> str:
    """The address the playground's own requests and the printed URL use."""
    if host in ("0.0.0.0", "::"):  # noqa: S104 (every interface: reach it on loopback)
        host = "127.0.0.1" if host == "0.0.0.0" else "::1"  # noqa: S104
    return f"[{host}]" if ":" in host else host


@asynccontextmanager
async def start_playground(
    config: PlaygroundConfig,
    engines: Engines | None = None,
    *,
    port: int | None = None,
    examples: Path | None = None,
    strict: bool = False,
) -> AsyncIterator[RunningPlayground]:
    """Listen, build the app pointed at the playground, and serve both until the block ends.
    `port=0` picks a free port (tests)."""
    settings = config.settings
    sock = _bind(settings.host, settings.port if port is None else port)
    bound = int(sock.getsockname()[1])
    base = f"http://{_url_host(settings.host)}:{bound}"
    settings = replace(settings, port=bound, slack_api_url=base + "/api/")
    app = build_app(settings, engines)
    web_app = build_web_app(app)
    hosts = {
        f"{name}:{bound}" for name in ("127.0.0.1", "localhost", "[::1]", _url_host(settings.host))
    }
    playground = Playground(
        self_url=base,
        bot_token=settings.bot_token,
        signing_secret=settings.signing_secret or "",
        examples=examples if examples is not None else examples_dir(),
        page_token=config.page_token,
        allowed_hosts=frozenset(hosts),
        strict=strict,
    )
    playground.install(web_app)
    runner = web.AppRunner(web_app, access_log=None, shutdown_timeout=5)
    try:
        await runner.setup()
        await web.SockSite(runner, sock).start()
    except BaseException:
        sock.close()
        await runner.cleanup()
        raise
    try:
        yield RunningPlayground(base + "/", playground, app)
    finally:
        await runner.cleanup()


def playground_from_env(environ: Mapping[str, str]) -> int:
    """`mailflow serve` in playground mode; a bad setting or file is one line and exit 2."""
    try:
        config = playground_config(environ)
        load_config()
    except (SettingsError, ConfigError) as exc:
        return startup_failure(exc)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s %(message)s")
    logging.getLogger("slack_sdk").setLevel(logging.WARNING)
    try:
        with contextlib.suppress(KeyboardInterrupt):
            asyncio.run(_run(config))
    except StoreError as exc:
        print(f"mailflow serve: MAILFLOW_DB={config.settings.db_path} {exc}", file=sys.stderr)
        return 2
    except ListenError as exc:
        print(f"mailflow serve: {exc}", file=sys.stderr)
        return 2
    return 0


async def _run(config: PlaygroundConfig) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)
    async with start_playground(config) as running:
        where = "the page asks for MAILFLOW_PLAYGROUND_TOKEN" if config.page_token else "local only"
        print(
            f"mailflow playground: open {running.url} ({where}; no Slack workspace is "
            "contacted; Ctrl-C stops it)",
            flush=True,
        )
        await stop.wait()
    log.info("stopped")
