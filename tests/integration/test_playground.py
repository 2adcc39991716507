"""The playground without a browser: page actions become requests the app's signature check
accepts, the page cannot reach the app unsigned, the Web API answers as Slack does, and the
HOST / MAILFLOW_PLAYGROUND_TOKEN rules hold."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest
from slack_sdk.signature import SignatureVerifier

from bot.playground import signing
from bot.playground.serve import RunningPlayground, playground_config
from bot.settings import SettingsError
from tests.fakes import slack_signing
from tests.integration.playground_harness import DATA, UI, playground, pushed_html, wait_until
from tests.integration.slack_engines import ScriptedCheck, scripted_engines


@pytest.fixture
async def running() -> AsyncIterator[RunningPlayground]:
    async with playground(engines=scripted_engines(ScriptedCheck(delay=0.05))) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def _ui(
    http: aiohttp.ClientSession, running: RunningPlayground, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    async with http.post(running.url + path.lstrip("/"), json=body, headers=UI) as response:
        answer: dict[str, Any] = await response.json()
        return answer


def test_a_playground_request_passes_the_signature_check_slack_requests_pass() -> None:
    secret = "s3cr3t-of-the-app"
    request = signing.slash_command(
        secret, command="/tlscheck", text="contoso.com", user_id="U1", user_name="u",
        channel_id="C1", channel_name="c", response_url="http://127.0.0.1:1/response/x",
    )  # fmt: skip
    ts = request.headers["X-Slack-Request-Timestamp"]
    verifier = SignatureVerifier(secret)
    assert verifier.is_valid(request.body, ts, request.headers["X-Slack-Signature"])
    # the same bytes as the tests' own, independent implementation of Slack's scheme
    assert request.headers["X-Slack-Signature"] == slack_signing.signature(secret, ts, request.body)
    assert not SignatureVerifier("another secret").is_valid(
        request.body, ts, request.headers["X-Slack-Signature"]
    )


async def test_page_actions_reach_the_app_signed_and_the_page_cannot_unsigned(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    assert (await _ui(http, running, "/ui/send", {"text": "/tlscheck help"}))["ok"]
    assert running.playground.app_answers == [200]
    await wait_until(lambda: "Usage" in pushed_html(running))
    assert "Only visible to you" in pushed_html(running)
    events = running.url + "slack/events"
    form = "command=%2Ftlscheck&text=contoso.com&user_id=U0YOU&channel_id=C0PLAYGROUND"
    async with http.post(events, data=form) as unsigned:
        assert unsigned.status == 401
    forged = slack_signing.sign("a guess", form, "application/x-www-form-urlencoded")
    async with http.post(events, data=forged.body, headers=forged.headers) as response:
        assert response.status == 401
    page = await (await http.get(running.url)).text()
    script = await (await http.get(running.url + "static/page.js")).text()
    settings = running.app.runtime.settings
    for secret in (settings.signing_secret or "", settings.bot_token):
        assert secret and secret not in page and secret not in script


async def test_check_parent_updates_and_report_lands_in_its_thread(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    await _ui(http, running, "/ui/send", {"text": "/tlscheck contoso.com"})
    conversation = running.playground.conversation
    await wait_until(lambda: any(m.thread_ts for m in conversation.messages.values()))
    await running.app.runtime.tasks.aclose()
    parent = next(m for m in conversation.messages.values() if m.author == "U0MAILFLOW"
                  and not m.ephemeral and not m.thread_ts)  # fmt: skip
    assert parent.edited and "TLS check of" in json.dumps(parent.blocks)
    assert f"{conversation.reply_count(parent.ts)} repl" in conversation.article(parent)
    report = pushed_html(running)
    for button in ("Re-run", "Watch until fixed", "Show evidence"):
        assert f">{button}</button>" in report
    assert "cert.self_signed" in report and 'class="copy"' in report


async def test_buttons_are_interactions_the_app_answers(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    await _ui(http, running, "/ui/send", {"text": "/tlscheck contoso.com"})
    conversation = running.playground.conversation

    def button(action: str) -> tuple[str, dict[str, Any]] | None:
        for message in conversation.messages.values():
            for block in message.blocks:
                for element in block.get("elements") or []:
                    if element.get("action_id") == action:
                        return message.ts, element
        return None

    await wait_until(lambda: button("mailflow_evidence") is not None)
    found = button("mailflow_evidence")
    assert found is not None
    ts, element = found
    body = {"ts": ts, "action_id": element["action_id"], "value": element["value"]}
    assert (await _ui(http, running, "/ui/action", body))["ok"]
    await wait_until(lambda: "Evidence for contoso.com" in pushed_html(running))
    # a value the message does not hold is refused by the playground, not sent to the app
    tampered = {**body, "value": "999"}
    assert not (await _ui(http, running, "/ui/action", tampered))["ok"]


async def test_an_uploaded_protocol_log_is_fetched_with_the_bot_token_and_diagnosed(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    log = (DATA.parents[2] / "examples/smtpreceive-server1-self-signed.log").read_bytes()
    form = aiohttp.FormData()
    form.add_field("file", log, filename="SmtpReceive.log", content_type="text/plain")
    async with http.post(running.url + "ui/upload", data=form, headers=UI) as response:
        answer = await response.json()
    assert answer["ok"]
    await wait_until(lambda: "the file SmtpReceive.log" in pushed_html(running))
    file_url = running.url + f"files/{answer['file']}/SmtpReceive.log"
    async with http.get(file_url) as anonymous:  # the page cannot fetch it without the token
        assert anonymous.content_type == "text/html"


async def test_hostile_subject_is_text_and_the_web_api_wants_the_bot_token(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    ndr = (DATA / "ndr-hostile-subject.txt").read_text(encoding="utf-8")
    await _ui(http, running, "/ui/send", {"text": ndr})
    await wait_until(lambda: "ndr.recipient_not_found" in pushed_html(running))
    shown = pushed_html(running)
    assert "<script" not in shown and "broadcast" not in shown
    assert "&lt;script&gt;alert(1)&lt;/script&gt; &lt;!channel&gt;" in shown
    payload = {"channel": "C0PLAYGROUND", "text": "hi"}
    async with http.post(running.url + "api/chat.postMessage", json=payload) as response:
        assert (await response.json())["error"] == "not_authed"


async def test_the_page_refuses_foreign_hosts_and_cross_site_posts(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    async with http.get(running.url, headers={"Host": "attacker.example:80"}) as response:
        assert response.status == 421
    async with http.post(running.url + "ui/send", json={"text": "hi"}) as response:
        assert response.status == 403


async def test_home_and_summary(running: RunningPlayground, http: aiohttp.ClientSession) -> None:
    await _ui(http, running, "/ui/home", {})
    await wait_until(lambda: running.playground.conversation.home is not None)
    assert "mailflow-bot" in running.playground.conversation.home_html()
    await _ui(http, running, "/ui/send", {"text": "/tlscheck summary"})
    await wait_until(lambda: "No checks, watches or diagnoses" in pushed_html(running))
    await _ui(http, running, "/ui/send", {"text": "/giphy cats"})
    await wait_until(lambda: "is not a valid command here" in pushed_html(running))


async def test_with_a_token_the_page_asks_for_it() -> None:
    token = "correct-horse-battery-staple"
    jar = aiohttp.CookieJar(unsafe=True)  # keep cookies of an IP address, as a browser does
    async with (
        playground({"MAILFLOW_PLAYGROUND_TOKEN": token}) as running,
        aiohttp.ClientSession(cookie_jar=jar) as http,
    ):
        async with http.get(running.url) as response:
            assert response.status == 401 and 'label for="token"' in await response.text()
        async with http.post(running.url + "ui/send", json={"text": "x"}, headers=UI) as refused:
            assert refused.status == 401
        async with http.post(running.url + "login", data={"token": "wrong"}) as wrong:
            assert wrong.status == 401
        async with http.post(running.url + "login", data={"token": token}) as right:
            assert right.status == 200 and 'aria-label="Thread"' in await right.text()


@pytest.mark.parametrize(
    ("env", "problem"),
    [
        ({"HOST": "0.0.0.0"}, "HOST=0.0.0.0 is not a loopback address"),
        ({"HOST": "::"}, "MAILFLOW_PLAYGROUND_TOKEN"),
        ({"HOST": "127.0.0.1", "MAILFLOW_PLAYGROUND_TOKEN": "short"}, "too short"),
        ({"PORT": "eighty"}, "PORT="),
    ],
)
def test_host_and_token_rules(env: dict[str, str], problem: str) -> None:
    with pytest.raises(SettingsError, match=problem):
        playground_config(env)


def test_loopback_needs_no_token_and_slack_credentials_are_replaced() -> None:
    for host in ("", "127.0.0.1", "127.0.0.2", "::1", "localhost"):
        config = playground_config({"HOST": host, "SLACK_BOT_TOKEN": "xoxb-real-one"})
        assert config.page_token is None
        assert config.settings.bot_token.startswith("xoxb-playground-")
        assert config.settings.db_path == ":memory:"
    wide = playground_config({"HOST": "0.0.0.0", "MAILFLOW_PLAYGROUND_TOKEN": "x" * 16})
    assert wide.page_token == "x" * 16


async def test_every_form_of_the_command_is_answered(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    forms = (
        "help", "contoso.com", "admin@fabrikam.com", "example.com expect=hybrid.example.com",
        "host=mx.example.org", "watch contoso.com", "summary", "frobnicate",
    )  # fmt: skip
    for form in forms:
        assert (await _ui(http, running, "/ui/send", {"text": f"/tlscheck {form}"}))["ok"], form
    for expected in ("TLS check of fabrikam.com", "host=mx.example.org", "when the errors clear",
                     "neither a subcommand nor a domain name"):  # fmt: skip
        await wait_until(lambda e=expected: e in pushed_html(running), timeout=30)
    # the watch is recorded once its status message is out: now it can be stopped
    assert (await _ui(http, running, "/ui/send", {"text": "/tlscheck stop contoso.com"}))["ok"]
    await wait_until(lambda: "Stopped watching" in pushed_html(running), timeout=30)
    assert running.playground.app_answers == [200] * (len(forms) + 1)


async def test_a_reload_shows_the_conversation_and_the_stream_resumes_where_it_was(
    running: RunningPlayground, http: aiohttp.ClientSession
) -> None:
    await _ui(http, running, "/ui/send", {"text": "hello @mailflow"})
    conversation = running.playground.conversation
    await wait_until(lambda: len(conversation.messages) >= 2)  # the message and the bot's help
    page = await (await http.get(running.url)).text()
    for message in conversation.messages.values():
        assert f'id="m-{message.ts}"' in page
    assert '<span class="mention" data-user="U0MAILFLOW">@mailflow</span>' in page
    last = conversation.last_seq
    await _ui(http, running, "/ui/send", {"text": "/tlscheck help"})
    await wait_until(lambda: conversation.last_seq > last)
    headers = {"Last-Event-ID": str(last)}
    async with http.get(running.url + "ui/events", headers=headers) as stream:
        first = b""
        while not first.startswith(b"id: "):
            first = await stream.content.readline()
    assert first.decode().strip() == f"id: {last + 1}"
