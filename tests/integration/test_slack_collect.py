"""`/tlscheck collect` over signed HTTP requests against the fake Web API: both collector
scripts are uploaded into the command's thread as PowerShell snippets (Slack's external-upload
flow: files.getUploadURLExternal, the bytes, files.completeUploadExternal), each with one line
on how to run it; when Slack refuses the upload, they come as code blocks with a note saying
why."""

from __future__ import annotations

import html
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import pytest

from tests.blockkit import assert_valid_message
from tests.fakes.slack_api import Call, message_text
from tests.integration.playground_harness import UI, playground, pushed_html, wait_until
from tests.integration.slack_harness import Bot, fake_api, serve_bot, settings_for

REPO = Path(__file__).resolve().parents[2]
CHANNEL = "C0INCIDENT"  # slack_signing.slash_command's default


@pytest.fixture(scope="module")
def printed() -> dict[str, str]:
    """What `mailflow collect onprem|exo` prints, run as users run it."""
    scripts = {}
    for side in ("onprem", "exo"):
        done = subprocess.run(
            [sys.executable, "-m", "bot", "collect", side], cwd=REPO, capture_output=True,
            text=True, timeout=60, check=True,
        )  # fmt: skip
        scripts[side] = done.stdout
    return scripts


@pytest.fixture
async def bot(tmp_path: Path) -> AsyncIterator[Bot]:
    async with fake_api() as api, serve_bot(settings_for(api, tmp_path / "db"), api) as bot:
        yield bot


def blocks_script(post: Call) -> str:
    """The script a fallback message carries: its code blocks, unfenced and unescaped."""
    texts = [block["text"]["text"] for block in post.get("blocks")[1:]]
    assert all(text.startswith("```\n") and text.endswith("\n```") for text in texts)
    return html.unescape("\n".join(text[4:-4] for text in texts))


async def test_collect_uploads_both_scripts_as_snippets_in_the_thread(
    bot: Bot, printed: dict[str, str]
) -> None:
    reply = await bot.command("collect")
    assert reply.status == 200 and reply.seconds < 3
    await bot.api.wait_calls("files.completeUploadExternal", 2)
    await bot.idle()
    (parent,) = bot.api.posts()  # the intro; the scripts are files, not messages
    assert parent.get("channel") == CHANNEL and not parent.get("thread_ts")
    assert "read-only" in message_text(parent)
    assert_valid_message(parent.params)
    thread = bot.api.posted_ts[0]
    onprem, exo = bot.api.uploads
    assert onprem.content.decode("utf-8") == printed["onprem"]
    assert exo.content.decode("utf-8") == printed["exo"]
    assert (onprem.filename, exo.filename) == (
        "mailflow-collect-onprem.ps1",
        "mailflow-collect-exo.ps1",
    )
    for upload in (onprem, exo):
        assert upload.snippet_type == "powershell"
        assert (upload.channel, upload.thread_ts) == (CHANNEL, thread)
        assert upload.title and upload.initial_comment
        assert len(upload.initial_comment.splitlines()) == 1
    assert "Exchange Management Shell" in (onprem.initial_comment or "")
    assert "Connect-ExchangeOnline" in (exo.initial_comment or "")
    # The bytes went to the upload URL, not through a Web API method.
    assert len(bot.api.of("file_upload")) == 2
    assert not bot.api.of("files.upload")
    assert not bot.api.of("response_url")


@pytest.mark.parametrize(
    ("method", "error", "says"),
    [
        ("files.getUploadURLExternal", "missing_scope", "files:write"),
        ("files.completeUploadExternal", "not_in_channel", "not_in_channel"),
    ],
)
async def test_a_refused_upload_falls_back_to_code_blocks_with_a_note(
    bot: Bot, printed: dict[str, str], method: str, error: str, says: str
) -> None:
    bot.api.fail(method, error)
    await bot.command("collect")
    await bot.api.wait_calls("chat.postMessage", 4)
    await bot.idle()
    assert not bot.api.uploads
    parent, note, *scripts = bot.api.posts()
    thread = bot.api.posted_ts[0]
    assert not parent.get("thread_ts")
    assert all(post.get("thread_ts") == thread for post in (note, *scripts))
    assert says in message_text(note) and "code blocks" in message_text(note)
    assert [blocks_script(post) for post in scripts] == [
        "\n".join(printed[side].splitlines()) for side in ("onprem", "exo")
    ]
    for post in bot.api.posts():
        assert_valid_message(post.params)


async def test_an_upload_that_fails_otherwise_is_reported_not_disguised(bot: Bot) -> None:
    """Only a refusal falls back: a Slack fault is the job's failure, told to the user alone."""
    bot.api.fail("files.getUploadURLExternal", "internal_error")
    await bot.command("collect")
    (private,) = await bot.api.wait_calls("response_url", 1)
    await bot.idle()
    assert private.get("response_type") == "ephemeral"
    assert "collector scripts" in message_text(private)
    assert len(bot.api.posts()) == 1 and not bot.api.uploads


async def test_the_playground_without_uploads_shows_the_scripts_as_code_blocks() -> None:
    """The playground's Web API has no external upload (unknown_method): the scripts still come."""
    async with playground() as running, aiohttp.ClientSession() as http:
        body = {"text": "/tlscheck collect"}
        async with http.post(running.url + "ui/send", json=body, headers=UI) as response:
            assert (await response.json())["ok"]
        await wait_until(lambda: "Connect-ExchangeOnline" in pushed_html(running), timeout=30)
        assert "unknown_method" in pushed_html(running)
        assert "Get-ReceiveConnector" in pushed_html(running)
