"""Settings of the Slack bot, read from the environment once and validated up front.

A missing or malformed value raises `SettingsError` whose message is one line naming the
variable; `mailflow serve` prints it and exits 2. Nothing else reads `os.environ`.
"""

from __future__ import annotations

import ipaddress
import os
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from bot.probe.netpolicy import Network, parse_allow_nets
from bot.probe.resolver import Nameserver, parse_nameserver, parse_nameservers

DEFAULT_SLACK_API_URL = "https://slack.com/api/"
DEFAULT_PORT = 3000
# Every interface: what container platforms expect (they route $PORT to the container).
DEFAULT_HOST = "0.0.0.0"  # noqa: S104
DEFAULT_DB = "./mailflow.db"
DEFAULT_PROBE_TIMEOUT = 10.0
DEFAULT_WATCH_INTERVAL = 300.0
DEFAULT_WATCH_MAX = 24 * 3600.0  # the "at most 24 h"; a setting may only shorten it
DEFAULT_CHECKS_PER_MINUTE = 10
DEFAULT_PROBE_PORT = 25

_CHANNEL_ID = re.compile(r"^[CDG][A-Z0-9]{2,30}$")
_T = TypeVar("_T")


class SettingsError(ValueError):
    """A setting is missing or malformed. str(error) is one line naming the variable."""


@dataclass(frozen=True, slots=True)
class ProbeSettings:
    """The MAILFLOW_* variables that steer the live probe, shared by `mailflow check` (as the
    fallback of its flags) and `mailflow serve`, so both read them the same way."""

    nameservers: tuple[Nameserver, ...] = ()
    allow_nets: tuple[Network, ...] = ()
    ca_file: str | None = None
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    dnssec_resolver: Nameserver | None = None  # validating resolver whose AD bit is trusted
    trust_anchor: str | None = None  # DS/DNSKEY file for our own DNSSEC validation

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> ProbeSettings:
        env = os.environ if environ is None else environ
        return _Reader(env).probe()


@dataclass(frozen=True, slots=True)
class Settings:
    bot_token: str
    signing_secret: str | None
    app_token: str | None = None
    host: str = DEFAULT_HOST
    port: int = DEFAULT_PORT
    slack_api_url: str = DEFAULT_SLACK_API_URL
    db_path: str = DEFAULT_DB
    nameservers: tuple[Nameserver, ...] = ()
    allow_nets: tuple[Network, ...] = ()
    ca_file: str | None = None
    probe_timeout: float = DEFAULT_PROBE_TIMEOUT
    dnssec_resolver: Nameserver | None = None
    trust_anchor: str | None = None
    probe_port: int = DEFAULT_PROBE_PORT
    watch_interval: float = DEFAULT_WATCH_INTERVAL
    watch_max: float = DEFAULT_WATCH_MAX
    allowed_channels: frozenset[str] | None = None  # None: every channel the bot is in
    checks_per_minute: int = DEFAULT_CHECKS_PER_MINUTE

    @property
    def socket_mode(self) -> bool:
        return self.app_token is not None

    def channel_allowed(self, channel_id: str) -> bool:
        """Direct messages are always allowed; channels only when on the allowlist (if any)."""
        if self.allowed_channels is None or channel_id.startswith("D"):
            return True
        return channel_id in self.allowed_channels

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = os.environ if environ is None else environ
        return _Reader(env).settings()


class _Reader:
    def __init__(self, env: Mapping[str, str]) -> None:
        self._env = env

    def raw(self, name: str) -> str | None:
        value = self._env.get(name)
        if value is None or not value.strip():
            return None
        return value.strip()

    def required(self, name: str, why: str) -> str:
        value = self.raw(name)
        if value is None:
            raise SettingsError(f"{name} is not set ({why})")
        return value

    def parsed(self, name: str, parse: Callable[[str], _T], default: _T) -> _T:
        value = self.raw(name)
        if value is None:
            return default
        try:
            return parse(value)
        except ValueError as exc:
            reason = _shown(str(exc), 100).strip("'\"")
            raise SettingsError(f"{name}={_shown(value)} is malformed: {reason}") from None

    def probe(self) -> ProbeSettings:
        return ProbeSettings(
            nameservers=self.parsed("MAILFLOW_NAMESERVERS", _nameservers, ()),
            allow_nets=self.parsed("MAILFLOW_ALLOW_NETS", _networks, ()),
            ca_file=self.parsed("MAILFLOW_CA_FILE", _readable_file, None),
            probe_timeout=self.parsed("MAILFLOW_PROBE_TIMEOUT", _seconds, DEFAULT_PROBE_TIMEOUT),
            dnssec_resolver=self.parsed("MAILFLOW_DNSSEC_RESOLVER", parse_nameserver, None),
            trust_anchor=self.parsed("MAILFLOW_TRUST_ANCHOR", _readable_file, None),
        )

    def settings(self) -> Settings:
        bot_token = self.required("SLACK_BOT_TOKEN", "the bot token, xoxb-...")
        if not bot_token.startswith("xoxb-"):
            raise SettingsError("SLACK_BOT_TOKEN is malformed: a bot token starts with xoxb-")
        app_token = self.raw("SLACK_APP_TOKEN")
        if app_token is not None and not app_token.startswith("xapp-"):
            raise SettingsError(
                "SLACK_APP_TOKEN is malformed: an app-level token starts with xapp-"
            )
        signing_secret = self.raw("SLACK_SIGNING_SECRET")
        if signing_secret is None and app_token is None:
            raise SettingsError(
                "SLACK_SIGNING_SECRET is not set (needed to verify requests in HTTP mode)"
            )
        probe = self.probe()
        return Settings(
            bot_token=bot_token,
            signing_secret=signing_secret,
            app_token=app_token,
            host=self.parsed("HOST", _listen_host, DEFAULT_HOST),
            port=self.parsed("PORT", _port, DEFAULT_PORT),
            slack_api_url=self.parsed("MAILFLOW_SLACK_API_URL", _api_url, DEFAULT_SLACK_API_URL),
            db_path=self.parsed("MAILFLOW_DB", _db_path, DEFAULT_DB),
            nameservers=probe.nameservers,
            allow_nets=probe.allow_nets,
            ca_file=probe.ca_file,
            probe_timeout=probe.probe_timeout,
            dnssec_resolver=probe.dnssec_resolver,
            trust_anchor=probe.trust_anchor,
            probe_port=self.parsed("MAILFLOW_PROBE_PORT", _port, DEFAULT_PROBE_PORT),
            watch_interval=self.parsed("MAILFLOW_WATCH_INTERVAL", _seconds, DEFAULT_WATCH_INTERVAL),
            watch_max=self.parsed("MAILFLOW_WATCH_MAX", _seconds, DEFAULT_WATCH_MAX),
            allowed_channels=self.parsed("MAILFLOW_ALLOWED_CHANNELS", _channels, None),
            checks_per_minute=self.parsed(
                "MAILFLOW_CHECKS_PER_MINUTE", _positive_int, DEFAULT_CHECKS_PER_MINUTE
            ),
        )


def _shown(value: str, limit: int = 40) -> str:
    """The offending value, short and on one line (never echo a whole secret or a newline)."""
    flat = value.replace("\n", " ").replace("\r", " ")
    return repr(flat if len(flat) <= limit else flat[: limit - 3] + "...")


def _int(value: str) -> int:
    try:
        return int(value)
    except ValueError:
        raise ValueError("not a whole number") from None


def _float(value: str) -> float:
    try:
        return float(value)
    except ValueError:
        raise ValueError("not a number") from None


def _items(value: str) -> list[str]:
    return [item for item in re.split(r"[,\s]+", value) if item]


def _positive_int(value: str) -> int:
    number = _int(value)
    if number < 1:
        raise ValueError("must be a positive whole number")
    return number


def _port(value: str) -> int:
    port = _int(value)
    if not 1 <= port <= 65535:
        raise ValueError("must be a port number between 1 and 65535")
    return port


_LABEL = r"[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?"
_HOST_NAME = re.compile(rf"(?=.{{1,253}}$){_LABEL}(?:\.{_LABEL})*")


def _listen_host(value: str) -> str:
    """An address of this machine to listen on: an IP address (IPv6 with or without
    brackets) or a host name such as localhost."""
    bare = value[1:-1] if value.startswith("[") and value.endswith("]") else value
    try:
        return str(ipaddress.ip_address(bare))
    except ValueError:
        pass
    if _HOST_NAME.fullmatch(value):
        return value
    raise ValueError("must be an IP address such as 0.0.0.0, 127.0.0.1 or ::, or a host name")


def _seconds(value: str) -> float:
    seconds = _float(value)
    if not 0 < seconds <= 86400:
        raise ValueError("must be a number of seconds greater than 0 (at most 86400)")
    return seconds


def _api_url(value: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError("must be an http(s) URL such as https://slack.com/api/")
    return value if value.endswith("/") else value + "/"


def _nameservers(value: str) -> tuple[Nameserver, ...]:
    return parse_nameservers(_items(value))  # the same syntax as `mailflow check --nameserver`


def _networks(value: str) -> tuple[Network, ...]:
    return parse_allow_nets(_items(value))  # the same syntax as `mailflow check --allow-net`


def _readable_file(value: str) -> str:
    path = Path(value)
    if not path.is_file():
        raise ValueError("no such file")
    if not os.access(path, os.R_OK):
        raise ValueError("file is not readable")
    return str(path)


def _db_path(value: str) -> str:
    """The SQLite file may not exist yet, but its directory must (and be writable)."""
    if value == ":memory:":
        return value
    path = Path(value)
    if path.is_dir():
        raise ValueError("is a directory, not a file")
    folder = path.parent
    if not folder.is_dir():
        raise ValueError(f"the directory {str(folder)[:60]} does not exist")
    if not os.access(folder, os.W_OK | os.X_OK):
        raise ValueError(f"the directory {str(folder)[:60]} is not writable")
    return value


def _channels(value: str) -> frozenset[str]:
    channels = _items(value)
    for channel in channels:
        if not _CHANNEL_ID.match(channel):
            raise ValueError(f"{channel!r} is not a channel ID like C0123ABCD")
    return frozenset(channels)
