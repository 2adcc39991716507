"""Requests as Slack's platform sends them to an app's Request URL, signed with its secret.

Signature: `v0=` + hex HMAC-SHA256 of `v0:{timestamp}:{raw body}` keyed with the signing secret,
sent as X-Slack-Signature beside X-Slack-Request-Timestamp. Slash commands are form-encoded,
Events API callbacks JSON, interactions a form with one `payload` field holding JSON.
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

TEAM_ID = "T0PLAYGROUND"
TEAM_DOMAIN = "playground"
APP_ID = "A0MAILFLOW"
FORM = "application/x-www-form-urlencoded"
JSON = "application/json"
_events = itertools.count(1)


@dataclass(frozen=True, slots=True)
class SignedRequest:
    body: str
    headers: dict[str, str]


def signature(secret: str, timestamp: int, body: str) -> str:
    base = f"v0:{timestamp}:{body}".encode()
    return "v0=" + hmac.new(secret.encode(), base, hashlib.sha256).hexdigest()


def sign(
    secret: str, body: str, content_type: str, *, timestamp: int | None = None
) -> SignedRequest:
    ts = int(time.time()) if timestamp is None else timestamp
    headers = {
        "Content-Type": content_type,
        "X-Slack-Request-Timestamp": str(ts),
        "X-Slack-Signature": signature(secret, ts, body),
    }
    return SignedRequest(body, headers)


def slash_command(
    secret: str,
    *,
    command: str,
    text: str,
    user_id: str,
    user_name: str,
    channel_id: str,
    channel_name: str,
    response_url: str,
) -> SignedRequest:
    form = {
        "token": "playground",
        "team_id": TEAM_ID,
        "team_domain": TEAM_DOMAIN,
        "channel_id": channel_id,
        "channel_name": channel_name,
        "user_id": user_id,
        "user_name": user_name,
        "command": command,
        "text": text,
        "api_app_id": APP_ID,
        "is_enterprise_install": "false",
        "response_url": response_url,
        "trigger_id": f"{int(time.time())}.{next(_events)}.playground",
    }
    return sign(secret, urlencode(form), FORM)


def event_callback(secret: str, event: dict[str, Any], *, bot_user_id: str) -> SignedRequest:
    body = {
        "token": "playground",
        "team_id": TEAM_ID,
        "api_app_id": APP_ID,
        "event": event,
        "type": "event_callback",
        "event_id": f"Ev0PLAY{next(_events):08d}",
        "event_time": int(time.time()),
        "authorizations": [
            {
                "team_id": TEAM_ID,
                "user_id": bot_user_id,
                "is_bot": True,
                "is_enterprise_install": False,
            }
        ],
    }
    return sign(secret, json.dumps(body), JSON)


def interaction(secret: str, payload: dict[str, Any]) -> SignedRequest:
    full = {
        "team": {"id": TEAM_ID, "domain": TEAM_DOMAIN},
        "api_app_id": APP_ID,
        "token": "playground",
        "trigger_id": f"{int(time.time())}.{next(_events)}.playground",
        **payload,
    }
    return sign(secret, urlencode({"payload": json.dumps(full)}), FORM)
