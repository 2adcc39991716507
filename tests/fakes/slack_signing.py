"""Build and sign requests exactly as Slack sends them to a Request URL.

Signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the signing secret,
sent as X-Slack-Signature next to X-Slack-Request-Timestamp. Slash commands arrive form-encoded,
Events API callbacks as JSON, interactions (buttons, shortcuts) as a form with one `payload=` field.
"""

from __future__ import annotations

import hashlib
import hmac
import itertools
import json
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

TEAM_ID = "T0TEST"
APP_ID = "A0MAILFLOW"
_event_counter = itertools.count(1)


@dataclass(frozen=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


def signature(secret: str, timestamp: int | str, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(
    secret: str,
    body: str,
    content_type: str,
    *,
    timestamp: int | None = None,
    retry_num: int | None = None,
) -> SignedRequest:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }
    if retry_num is not None:
        headers["X-Slack-Retry-Num"] = str(retry_num)
        headers["X-Slack-Retry-Reason"] = "http_timeout"
    return SignedRequest(body, headers)


def slash_command(
    secret: str,
    text: str,
    *,
    response_url: str,
    user_id: str = "U0ALICE",
    channel_id: str = "C0INCIDENT",
    command: str = "/tlscheck",
    timestamp: int | None = None,
) -> SignedRequest:
    form = {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "team_domain": "contoso",
        "channel_id": channel_id,
        "channel_name": "mail-incidents",
        "user_id": user_id,
        "user_name": user_id.lower(),
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.1.trigger",
    }
    return sign(secret, urlencode(form), "application/x-www-form-urlencoded", timestamp=timestamp)


def event_callback(
    secret: str,
    event: dict[str, Any],
    *,
    event_id: str | None = None,
    retry_num: int | None = None,
    timestamp: int | None = None,
) -> SignedRequest:
    body = {
        "token": "deprecated-verification-token",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": event_id or f"Ev{next(_event_counter):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {"team_id": TEAM_ID, "user_id": "UBOT", "is_bot": True, "is_enterprise_install": False}
        ],
    }
    return sign(
        secret,
        json.dumps(body),
        "application/json",
        retry_num=retry_num,
        timestamp=timestamp,
    )


def interaction(
    secret: str, payload: dict[str, Any], *, timestamp: int | None = None
) -> SignedRequest:
    payload = {"team": {"id": TEAM_ID, "domain": "contoso"}, "api_app_id": APP_ID, **payload}
    body = urlencode({"payload": json.dumps(payload)})
    return sign(secret, body, "application/x-www-form-urlencoded", timestamp=timestamp)


def message_event(
    text: str,
    *,
    channel: str = "C0INCIDENT",
    user: str = "U0ALICE",
    ts: str | None = None,
    channel_type: str = "channel",
    **extra: Any,
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message",
        "channel": channel,
        "user": user,
        "text": text,
        "ts": ts or f"{time.time():.6f}",
        "channel_type": channel_type,
        "event_ts": ts or f"{time.time():.6f}",
    }
    event.update(extra)
    return event
