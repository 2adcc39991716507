from __future__ import annotations

import ipaddress
from pathlib import Path

import pytest

from bot.probe.resolver import Nameserver
from bot.settings import Settings, SettingsError

BASE = {"SLACK_BOT_TOKEN": "xoxb-1-2-abc", "SLACK_SIGNING_SECRET": "s3cret"}


def test_defaults() -> None:
    settings = Settings.from_env(BASE)
    assert settings.host == "0.0.0.0"
    assert settings.port == 3000
    assert settings.db_path == "./mailflow.db"
    assert settings.watch_interval == 300
    assert settings.watch_max == 24 * 3600
    assert settings.slack_api_url == "https://slack.com/api/"
    assert settings.checks_per_minute == 10
    assert settings.allowed_channels is None
    assert not settings.socket_mode


def test_every_variable_is_read(tmp_path: Path) -> None:
    ca = tmp_path / "ca.pem"
    ca.write_text("x")
    settings = Settings.from_env(
        {
            **BASE,
            "SLACK_APP_TOKEN": "xapp-1-A-2-x",
            "HOST": "127.0.0.2",
            "PORT": "8080",
            "MAILFLOW_SLACK_API_URL": "http://127.0.0.1:9999/api",
            "MAILFLOW_DB": str(tmp_path / "m.db"),
            "MAILFLOW_NAMESERVERS": "127.0.0.53:5353, [::1]:53 127.0.0.1",
            "MAILFLOW_ALLOW_NETS": "127.0.0.0/8,::1/128",
            "MAILFLOW_CA_FILE": str(ca),
            "MAILFLOW_PROBE_TIMEOUT": "2.5",
            "MAILFLOW_WATCH_INTERVAL": "0.5",
            "MAILFLOW_WATCH_MAX": "3600",
            "MAILFLOW_ALLOWED_CHANNELS": "C0INCIDENT,G0PRIVATE",
        }
    )
    assert settings.socket_mode
    assert settings.host == "127.0.0.2"
    assert settings.port == 8080
    assert settings.slack_api_url == "http://127.0.0.1:9999/api/"
    assert settings.nameservers == (
        Nameserver("127.0.0.53", 5353),
        Nameserver("::1", 53),
        Nameserver("127.0.0.1", 53),
    )
    assert settings.allow_nets == (
        ipaddress.ip_network("127.0.0.0/8"),
        ipaddress.ip_network("::1/128"),
    )
    assert settings.ca_file == str(ca)
    assert settings.probe_timeout == 2.5
    assert settings.watch_interval == 0.5
    assert settings.watch_max == 3600
    assert settings.channel_allowed("C0INCIDENT")
    assert not settings.channel_allowed("C0OTHER")
    assert settings.channel_allowed("D0DIRECT")


@pytest.mark.parametrize(
    ("env", "variable"),
    [
        ({}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxp-user-token", "SLACK_SIGNING_SECRET": "s"}, "SLACK_BOT_TOKEN"),
        ({"SLACK_BOT_TOKEN": "xoxb-1"}, "SLACK_SIGNING_SECRET"),
        ({**BASE, "SLACK_APP_TOKEN": "xoxb-wrong"}, "SLACK_APP_TOKEN"),
        ({**BASE, "PORT": "http"}, "PORT"),
        ({**BASE, "HOST": "http://0.0.0.0"}, "HOST"),
        ({**BASE, "HOST": "0.0.0.0:3000"}, "HOST"),
        ({**BASE, "HOST": "two words"}, "HOST"),
        ({**BASE, "PORT": "70000"}, "PORT"),
        ({**BASE, "MAILFLOW_SLACK_API_URL": "ftp://x"}, "MAILFLOW_SLACK_API_URL"),
        ({**BASE, "MAILFLOW_NAMESERVERS": "dns.google"}, "MAILFLOW_NAMESERVERS"),
        ({**BASE, "MAILFLOW_ALLOW_NETS": "10.0.0.0/33"}, "MAILFLOW_ALLOW_NETS"),
        ({**BASE, "MAILFLOW_CA_FILE": "/nonexistent/ca.pem"}, "MAILFLOW_CA_FILE"),
        ({**BASE, "MAILFLOW_PROBE_TIMEOUT": "-1"}, "MAILFLOW_PROBE_TIMEOUT"),
        ({**BASE, "MAILFLOW_WATCH_INTERVAL": "soon"}, "MAILFLOW_WATCH_INTERVAL"),
        ({**BASE, "MAILFLOW_WATCH_MAX": "90000"}, "MAILFLOW_WATCH_MAX"),  # beyond 24 h
        ({**BASE, "MAILFLOW_WATCH_MAX": "0"}, "MAILFLOW_WATCH_MAX"),
        ({**BASE, "MAILFLOW_ALLOWED_CHANNELS": "#general"}, "MAILFLOW_ALLOWED_CHANNELS"),
        ({**BASE, "MAILFLOW_DB": "/nonexistent/dir/mailflow.db"}, "MAILFLOW_DB"),
        ({**BASE, "MAILFLOW_DB": "/"}, "MAILFLOW_DB"),
    ],
)
def test_bad_settings_name_the_variable_in_one_line(env: dict[str, str], variable: str) -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env(env)
    message = str(caught.value)
    assert message.startswith(variable)
    assert "\n" not in message


@pytest.mark.parametrize(
    ("value", "host"),
    [("::", "::"), ("[::1]", "::1"), ("127.0.0.1", "127.0.0.1"), ("localhost", "localhost")],
)
def test_host_takes_addresses_and_names(value: str, host: str) -> None:
    assert Settings.from_env({**BASE, "HOST": value}).host == host


def test_socket_mode_needs_no_signing_secret() -> None:
    settings = Settings.from_env({"SLACK_BOT_TOKEN": "xoxb-1", "SLACK_APP_TOKEN": "xapp-1"})
    assert settings.signing_secret is None and settings.socket_mode


def test_secret_values_are_not_echoed_in_full() -> None:
    with pytest.raises(SettingsError) as caught:
        Settings.from_env({**BASE, "PORT": "x" * 500})
    assert len(str(caught.value)) < 200
