"""Fetching an uploaded file's text: files.info, then url_private with the bot token.

Only .txt/.log/.csv/.eml/.json up to 20 MB, only from Slack's own file host (or the configured API
host, for tests), streamed with a hard cap so a lying `size` cannot exhaust memory.
"""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp
from slack_sdk.errors import SlackApiError

if TYPE_CHECKING:
    from bot.slack.runtime import Runtime

MAX_FILE_BYTES = 20 * 1024 * 1024
# .json: collected configuration, TLS-RPT reports; .gz: TLS-RPT reports as senders attach them
SUPPORTED_SUFFIXES = frozenset({".txt", ".log", ".csv", ".eml", ".json", ".gz"})
SLACK_FILE_HOSTS = ("files.slack.com",)
DOWNLOAD_TIMEOUT = aiohttp.ClientTimeout(total=120, sock_read=30)
_CHUNK = 64 * 1024


class FileRejectedError(Exception):
    """The file is not diagnosed; `tell_user` says whether the reason is worth a reply."""

    def __init__(self, message: str, *, tell_user: bool) -> None:
        super().__init__(message)
        self.tell_user = tell_user


async def fetch_file(runtime: Runtime, file_id: str) -> tuple[str, bytes]:
    """(file name, content) of an uploaded file, or FileRejectedError."""
    try:
        info = (await runtime.client.files_info(file=file_id))["file"]
    except SlackApiError as exc:
        raise FileRejectedError(
            f"I could not read that file ({exc.response.get('error')}).", tell_user=True
        ) from None
    name = str(info.get("name") or info.get("title") or file_id)[:200]
    if PurePosixPath(name.lower()).suffix not in SUPPORTED_SUFFIXES:
        raise FileRejectedError(
            f"{name}: not a .txt/.log/.csv/.eml/.json/.json.gz file", tell_user=False
        )
    if int(info.get("size") or 0) > MAX_FILE_BYTES:
        raise FileRejectedError(
            f"{name} is larger than 20 MB: please upload the relevant part.", tell_user=True
        )
    url = str(info.get("url_private_download") or info.get("url_private") or "")
    if not trusted_download_url(url, runtime.settings.slack_api_url):
        raise FileRejectedError(f"{name}: unexpected download location", tell_user=False)
    data = await _download(runtime.http, url, runtime.settings.bot_token, name)
    return name, data


def trusted_download_url(url: str, api_url: str) -> bool:
    parts = urlsplit(url)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return False
    api = urlsplit(api_url)
    if (parts.hostname, parts.port) == (api.hostname, api.port):
        return True
    return parts.scheme == "https" and parts.hostname in SLACK_FILE_HOSTS


async def _download(http: aiohttp.ClientSession, url: str, token: str, name: str) -> bytes:
    headers = {"Authorization": f"Bearer {token}"}
    try:
        async with http.get(
            url, headers=headers, timeout=DOWNLOAD_TIMEOUT, allow_redirects=False
        ) as response:
            if response.status != 200 or response.content_type == "text/html":
                # Slack serves its sign-in page instead of the file when the token lacks files:read.
                raise FileRejectedError(
                    f"I could not download {name} (is the files:read scope granted?).",
                    tell_user=True,
                )
            chunks: list[bytes] = []
            size = 0
            async for chunk in response.content.iter_chunked(_CHUNK):
                size += len(chunk)
                if size > MAX_FILE_BYTES:
                    raise FileRejectedError(f"{name} is larger than 20 MB.", tell_user=True)
                chunks.append(chunk)
    except (aiohttp.ClientError, TimeoutError):
        raise FileRejectedError(f"I could not download {name}.", tell_user=True) from None
    return b"".join(chunks)
