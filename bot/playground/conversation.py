"""The playground's conversation: one channel with threads, ephemeral messages and an App Home,
and the numbered log of changes the page follows (server-sent events, replayed on reconnect).

Bounded: the oldest messages and pushes are dropped past the limits.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import time
from collections import OrderedDict, deque
from dataclasses import dataclass, field, replace
from typing import Any

from bot.render import html as render_html

CHANNEL_ID = "C0PLAYGROUND"
CHANNEL_NAME = "mail-incidents"
DM_ID = "D0PLAYGROUND"
USER_ID = "U0YOU"
USER_NAME = "you"
BOT_USER_ID = "U0MAILFLOW"
BOT_ID = "B0MAILFLOW"
BOT_NAME = "mailflow"
SLACKBOT = "Slackbot"
MAX_MESSAGES = 2000
MAX_PUSHES = 5000
NAMES = render_html.Names(
    users={BOT_USER_ID: BOT_NAME, USER_ID: USER_NAME},
    channels={CHANNEL_ID: CHANNEL_NAME},
)


@dataclass(frozen=True, slots=True)
class Message:
    ts: str
    author: str  # a user id, BOT_USER_ID, or SLACKBOT
    text: str
    blocks: tuple[dict[str, Any], ...] = ()
    thread_ts: str | None = None
    ephemeral: bool = False
    files: tuple[str, ...] = ()
    edited: bool = False

    @property
    def is_bot(self) -> bool:
        return self.author in (BOT_USER_ID, SLACKBOT)

    def as_slack(self) -> dict[str, Any]:
        """The message object as Slack puts it in an interaction payload."""
        message: dict[str, Any] = {"type": "message", "ts": self.ts, "text": self.text}
        if self.blocks:
            message["blocks"] = list(self.blocks)
        if self.thread_ts:
            message["thread_ts"] = self.thread_ts
        if self.author == BOT_USER_ID:
            message.update(bot_id=BOT_ID, user=BOT_USER_ID)
        else:
            message["user"] = self.author
        return message


@dataclass(frozen=True, slots=True)
class Push:
    seq: int
    data: dict[str, Any]
    at: float = field(default_factory=time.time)  # when the change arrived (benchmarks)

    def as_sse(self) -> bytes:
        return f"id: {self.seq}\ndata: {json.dumps(self.data)}\n\n".encode()


def _blocks(raw: Any) -> tuple[dict[str, Any], ...]:
    """blocks as the Web API receives them: a list, or its JSON in a form field."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError:
            return ()
    if not isinstance(raw, list):
        return ()
    return tuple(block for block in raw if isinstance(block, dict))


@dataclass
class Conversation:
    strict: bool = False  # tests: a block type the renderer does not know raises
    messages: OrderedDict[str, Message] = field(default_factory=OrderedDict)
    pushes: deque[Push] = field(default_factory=lambda: deque(maxlen=MAX_PUSHES))
    home: dict[str, Any] | None = None
    _seq: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _last_ts: float = 0.0
    _listeners: set[asyncio.Queue[Push | None]] = field(default_factory=set)

    # -- ids -------------------------------------------------------------------------------
    def new_ts(self) -> str:
        """A message ts as Slack makes them: Unix seconds with six decimals, increasing."""
        now = max(time.time(), self._last_ts + 0.000001)
        self._last_ts = now
        return f"{now:.6f}"

    # -- changes ---------------------------------------------------------------------------
    def add(
        self,
        author: str,
        text: str,
        blocks: Any = None,
        *,
        thread_ts: str | None = None,
        ephemeral: bool = False,
        files: tuple[str, ...] = (),
    ) -> Message:
        parent = self.messages.get(thread_ts) if thread_ts else None
        if parent is not None and parent.thread_ts:
            thread_ts = parent.thread_ts  # a reply to a reply belongs to the same thread
        message = Message(
            self.new_ts(),
            author,
            str(text or ""),
            _blocks(blocks),
            thread_ts=thread_ts,
            ephemeral=ephemeral,
            files=files,
        )
        self.messages[message.ts] = message
        while len(self.messages) > MAX_MESSAGES:
            self.messages.popitem(last=False)
        self._show(message)
        if thread_ts and not ephemeral and thread_ts in self.messages:
            self._show(self.messages[thread_ts])  # its "N replies" button changed
        return message

    def update(self, ts: str, text: str, blocks: Any) -> Message | None:
        old = self.messages.get(ts)
        if old is None:
            return None
        new = replace(old, text=str(text or ""), blocks=_blocks(blocks), edited=True)
        self.messages[ts] = new
        self._show(new)
        return new

    def delete(self, ts: str) -> None:
        if self.messages.pop(ts, None) is not None:
            self._publish({"kind": "delete", "ts": ts})

    def publish_home(self, view: dict[str, Any]) -> None:
        self.home = view
        self._publish({"kind": "home", "html": self.home_html()})

    def notice(self, text: str, thread_ts: str | None = None) -> Message:
        """A playground remark (an unknown command, a refused file), shown like Slackbot's."""
        return self.add(SLACKBOT, text, thread_ts=thread_ts, ephemeral=True)

    # -- views -----------------------------------------------------------------------------
    def reply_count(self, ts: str) -> int:
        return sum(1 for m in self.messages.values() if m.thread_ts == ts and not m.ephemeral)

    def article(self, message: Message) -> str:
        shown = time.localtime(float(message.ts))
        author = {BOT_USER_ID: BOT_NAME, USER_ID: USER_NAME}.get(message.author, message.author)
        view = render_html.MessageView(
            ts=message.ts,
            author=author,
            time_iso=time.strftime("%Y-%m-%dT%H:%M:%S", shown),
            time_shown=time.strftime("%H:%M:%S", shown),
            text=message.text,
            blocks=message.blocks,
            thread_ts=message.thread_ts,
            is_bot=message.is_bot,
            ephemeral=message.ephemeral,
            reply_count=0 if message.thread_ts else self.reply_count(message.ts),
            files=message.files,
            edited=message.edited,
        )
        return render_html.article_html(view, NAMES, strict=self.strict)

    def home_html(self) -> str:
        if self.home is None:
            return '<p class="empty">The app has not published its Home yet.</p>'
        return render_html.view_html(self.home, NAMES, strict=self.strict)

    def _show(self, message: Message) -> None:
        self._publish(
            {
                "kind": "message",
                "ts": message.ts,
                "thread": message.thread_ts,
                "html": self.article(message),
            }
        )

    # -- the page's feed -------------------------------------------------------------------
    def _publish(self, data: dict[str, Any]) -> None:
        push = Push(next(self._seq), data)
        self.pushes.append(push)
        for queue in self._listeners:
            queue.put_nowait(push)

    @property
    def last_seq(self) -> int:
        return self.pushes[-1].seq if self.pushes else 0

    def since(self, seq: int) -> list[Push]:
        return [push for push in self.pushes if push.seq > seq]

    def listen(self) -> asyncio.Queue[Push | None]:
        queue: asyncio.Queue[Push | None] = asyncio.Queue()
        self._listeners.add(queue)
        return queue

    def unlisten(self, queue: asyncio.Queue[Push | None]) -> None:
        self._listeners.discard(queue)

    def close_listeners(self) -> None:
        for queue in self._listeners:
            queue.put_nowait(None)
