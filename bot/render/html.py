"""Slack Block Kit and mrkdwn as HTML, the way a Slack client shows them (the playground's page).

One small renderer for every block and element type the bot emits; a type it does not know is
shown as a visible placeholder, or raises UnknownBlockError when `strict` (the tests render
every message the bot sends strictly). Everything is escaped: text reaches the page only
through `html.escape`, links only for http(s) and mailto, and Slack's control sequences
(`<@U…>`, `<#C…>`, `<!channel>`) become inert spans. This module judges nothing: it renders
what it is given.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from html import escape as _h
from typing import Any

Block = Mapping[str, Any]

BLOCK_TYPES = frozenset({"section", "context", "divider", "actions", "header", "image"})
ELEMENT_TYPES = frozenset({"button", "mrkdwn", "plain_text", "image"})

# The emoji the bot writes as :shortcodes: (and a few common ones people type); others stay as
# text, as Slack shows an unknown shortcode.
EMOJI = {
    "x": "❌",
    "warning": "⚠️",
    "information_source": "ℹ️",
    "white_check_mark": "✅",
    "wrench": "🔧",
    "mag": "🔍",
    "hourglass_flowing_sand": "⏳",
    "hourglass": "⌛",
    "tada": "🎉",
    "eyes": "👀",
    "boom": "💥",
    "repeat": "🔁",
    "no_entry": "⛔",
    "page_facing_up": "📄",
    "spiral_note_pad": "🗒️",
    "octagonal_sign": "🛑",
    "double_vertical_bar": "⏸️",
    "thumbsup": "👍",
    "+1": "👍",
    "smile": "😄",
    "heavy_check_mark": "✔️",
    "rotating_light": "🚨",
}


class UnknownBlockError(ValueError):
    """A block or element type this renderer does not know (strict mode)."""


@dataclass(frozen=True, slots=True)
class Names:
    """How user and channel ids are shown (`<@U123>` → @name)."""

    users: Mapping[str, str] = field(default_factory=dict)
    channels: Mapping[str, str] = field(default_factory=dict)


def unknown_types(blocks: Iterable[Block]) -> set[str]:
    """Block and element types in `blocks` that this renderer does not know."""
    found: set[str] = set()
    for block in blocks:
        kind = str(block.get("type"))
        if kind not in BLOCK_TYPES:
            found.add(kind)
        for element in _elements(block):
            element_kind = str(element.get("type"))
            if element_kind not in ELEMENT_TYPES:
                found.add(element_kind)
    return found


def _elements(block: Block) -> list[Block]:
    elements: list[Block] = [e for e in block.get("elements") or [] if isinstance(e, Mapping)]
    for key in ("text", "accessory"):
        value = block.get(key)
        if isinstance(value, Mapping):
            elements.append(value)
    elements.extend(f for f in block.get("fields") or [] if isinstance(f, Mapping))
    return elements


# -- mrkdwn -------------------------------------------------------------------------------------
_CODE_BLOCK = re.compile(r"```(.*?)```", re.DOTALL)
_INLINE_CODE = re.compile(r"`([^`\n]+)`")
_CONTROL = re.compile(r"<([^<>\n]{1,4000})>")
_PLACEHOLDER = re.compile("\ue000([0-9]+)\ue001")
_EMOJI = re.compile(r":([a-z0-9_+\-]{1,40}):")
_LINK_SCHEMES = ("http://", "https://", "mailto:")


def _style(marker: str, tag: str) -> tuple[re.Pattern[str], str]:
    m = re.escape(marker)
    # Slack's rule: the marker opens at the start or after a non-word character and closes
    # before a non-word character; the content neither starts nor ends with a space.
    pattern = re.compile(rf"(?<![\w{m}]){m}(?=\S)([^{m}\n]*?\S){m}(?![\w{m}])")
    return pattern, f"<{tag}>\\1</{tag}>"


_STYLES = (_style("*", "b"), _style("_", "i"), _style("~", "s"))


def unentity(text: str) -> str:
    """Slack's three entities back to characters (all Slack decodes; `&quot;` stays)."""
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&amp;", "&")


def mrkdwn_to_html(text: str, names: Names | None = None, *, emoji: bool = True) -> str:
    """mrkdwn as HTML: code blocks (with a Copy button), inline code, *bold*, _italic_,
    ~strike~, links, user/channel references and broadcasts, emoji shortcodes; the rest is
    text. Newlines are kept (the page shows text with `white-space: pre-wrap`)."""
    names = names or Names()
    text = text.replace("\ue000", "").replace("\ue001", "")
    out: list[str] = []
    position = 0
    for match in _CODE_BLOCK.finditer(text):
        out.append(_inline(text[position : match.start()], names, emoji))
        out.append(code_block_html(unentity(match.group(1).strip("\n"))))
        position = match.end()
    out.append(_inline(text[position:], names, emoji))
    return "".join(out)


def code_block_html(code: str) -> str:
    return (
        '<div class="code"><pre><code>'
        + _h(code, quote=False)
        + '</code></pre><button type="button" class="copy">Copy</button></div>'
    )


def _inline(text: str, names: Names, emoji: bool) -> str:
    out: list[str] = []
    position = 0
    for match in _INLINE_CODE.finditer(text):
        out.append(_styled(text[position : match.start()], names, emoji))
        out.append(f"<code>{_h(unentity(match.group(1)), quote=False)}</code>")
        position = match.end()
    out.append(_styled(text[position:], names, emoji))
    return "".join(out)


def _styled(text: str, names: Names, emoji: bool) -> str:
    if not text:
        return ""
    controls: list[str] = []

    def stash(match: re.Match[str]) -> str:
        controls.append(_control(match.group(1), names))
        return f"\ue000{len(controls) - 1}\ue001"

    escaped = _h(unentity(_CONTROL.sub(stash, text)), quote=False)
    for pattern, replacement in _STYLES:
        escaped = pattern.sub(replacement, escaped)
    if emoji:
        escaped = _EMOJI.sub(_emoji, escaped)
    return _PLACEHOLDER.sub(lambda m: controls[int(m.group(1))], escaped)


def _emoji(match: re.Match[str]) -> str:
    shown = EMOJI.get(match.group(1))
    if shown is None:
        return match.group(0)
    return f'<span class="emoji" title=":{match.group(1)}:">{shown}</span>'


def _control(inner: str, names: Names) -> str:
    """One `<...>` control sequence of mrkdwn (raw, entities still in it)."""
    target, _, label = inner.partition("|")
    shown_label = unentity(label)
    if target.startswith("@"):
        user = target[1:]
        name = shown_label or names.users.get(user, user)
        return f'<span class="mention" data-user="{_h(user)}">@{_h(name)}</span>'
    if target.startswith("#"):
        channel = target[1:]
        name = shown_label or names.channels.get(channel, channel)
        return f'<span class="channel-ref">#{_h(name)}</span>'
    if target.startswith("!"):
        return _special(target[1:], shown_label)
    url = unentity(target)
    if url.lower().startswith(_LINK_SCHEMES):
        shown = shown_label or url
        return (
            f'<a href="{_h(url)}" rel="noopener noreferrer nofollow" target="_blank">'
            f"{_h(shown, quote=False)}</a>"
        )
    return _h(unentity(f"<{inner}>"), quote=False)


def _special(command: str, label: str) -> str:
    word = command.split("^", 1)[0]
    if word in ("channel", "here", "everyone"):
        return f'<span class="mention broadcast">@{word}</span>'
    if word == "subteam":
        return f'<span class="mention">{_h(label or "@group")}</span>'
    return _h(label or f"<!{command}>", quote=False)  # dates and the rest: their fallback text


def plain_to_html(text: str, *, emoji: bool = True) -> str:
    escaped = _h(text, quote=False)
    return _EMOJI.sub(_emoji, escaped) if emoji else escaped


# -- blocks -------------------------------------------------------------------------------------
def text_object_html(obj: Mapping[str, Any], names: Names) -> str:
    text = str(obj.get("text", ""))
    if obj.get("type") == "mrkdwn":
        return mrkdwn_to_html(text, names, emoji=True)
    return plain_to_html(text, emoji=bool(obj.get("emoji", True)))


def _button(element: Block, block_id: str, names: Names) -> str:
    style = element.get("style")
    classes = "button" + (f" {style}" if style in ("primary", "danger") else "")
    attributes = {
        "type": "button",
        "class": classes,
        "data-action-id": str(element.get("action_id", "")),
        "data-block-id": block_id,
        "data-value": str(element.get("value", "")),
    }
    shown = "".join(f' {key}="{_h(value)}"' for key, value in attributes.items())
    label = text_object_html(element.get("text") or {}, names)
    return f"<button{shown}>{label}</button>"


def _unknown(kind: str, strict: bool) -> str:
    if strict:
        raise UnknownBlockError(f"the renderer does not know the type {kind!r}")
    return f'<div class="unknown">[unsupported: {_h(kind)}]</div>'


def _element(element: Block, block_id: str, names: Names, strict: bool) -> str:
    kind = str(element.get("type"))
    if kind == "button":
        return _button(element, block_id, names)
    if kind in ("mrkdwn", "plain_text"):
        return f'<span class="text">{text_object_html(element, names)}</span>'
    if kind == "image":
        return f'<span class="image">[{_h(str(element.get("alt_text", "image")))}]</span>'
    return _unknown(kind, strict)


def block_html(block: Block, names: Names | None = None, *, strict: bool = False) -> str:
    names = names or Names()
    kind = str(block.get("type"))
    block_id = str(block.get("block_id", ""))
    renderer = _BLOCKS.get(kind)
    if renderer is None:
        return _unknown(kind, strict)
    return renderer(block, block_id, names, strict)


def _section(block: Block, block_id: str, names: Names, strict: bool) -> str:
    parts: list[str] = []
    text = block.get("text")
    if isinstance(text, Mapping):
        parts.append(f'<div class="mrkdwn">{text_object_html(text, names)}</div>')
    fields = [f for f in block.get("fields") or [] if isinstance(f, Mapping)]
    if fields:
        cells = "".join(f'<div class="field">{text_object_html(f, names)}</div>' for f in fields)
        parts.append(f'<div class="fields">{cells}</div>')
    accessory = block.get("accessory")
    if isinstance(accessory, Mapping):
        parts.append(f'<div class="accessory">{_element(accessory, block_id, names, strict)}</div>')
    return f'<div class="block section">{"".join(parts)}</div>'


def _context(block: Block, block_id: str, names: Names, strict: bool) -> str:
    elements = [e for e in block.get("elements") or [] if isinstance(e, Mapping)]
    inner = "".join(_element(e, block_id, names, strict) for e in elements)
    return f'<div class="block context">{inner}</div>'


def _divider(block: Block, block_id: str, names: Names, strict: bool) -> str:
    return '<hr class="block divider">'


def _actions(block: Block, block_id: str, names: Names, strict: bool) -> str:
    elements = [e for e in block.get("elements") or [] if isinstance(e, Mapping)]
    inner = "".join(_element(e, block_id, names, strict) for e in elements)
    return f'<div class="block actions">{inner}</div>'


def _header(block: Block, block_id: str, names: Names, strict: bool) -> str:
    text = block.get("text") or {}
    return f'<h3 class="block header">{text_object_html(text, names)}</h3>'


def _image(block: Block, block_id: str, names: Names, strict: bool) -> str:
    # No remote images on the page: the alternative text stands in for it.
    return f'<div class="block image">[{_h(str(block.get("alt_text", "image")))}]</div>'


_BLOCKS: dict[str, Callable[[Block, str, Names, bool], str]] = {
    "section": _section,
    "context": _context,
    "divider": _divider,
    "actions": _actions,
    "header": _header,
    "image": _image,
}
assert set(_BLOCKS) == BLOCK_TYPES


def blocks_html(
    blocks: Sequence[Block], names: Names | None = None, *, strict: bool = False
) -> str:
    return "".join(block_html(block, names, strict=strict) for block in blocks)


def message_body_html(
    text: str, blocks: Sequence[Block] | None, names: Names | None = None, *, strict: bool = False
) -> str:
    """What a message shows: its blocks, or its mrkdwn `text` when it has none."""
    if blocks:
        return blocks_html(blocks, names, strict=strict)
    return (
        f'<div class="block section"><div class="mrkdwn">{mrkdwn_to_html(text, names)}</div></div>'
    )


# -- messages as the page shows them ------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class MessageView:
    """One message of the playground's conversation, as the page shows it."""

    ts: str
    author: str
    time_iso: str  # datetime attribute of <time>
    time_shown: str  # e.g. 16:30
    text: str  # mrkdwn fallback, shown when there are no blocks
    blocks: Sequence[Block] = ()
    thread_ts: str | None = None  # set on a reply in a thread
    is_bot: bool = False
    ephemeral: bool = False
    reply_count: int = 0
    files: Sequence[str] = ()  # names of attached files
    edited: bool = False


def article_html(view: MessageView, names: Names | None = None, *, strict: bool = False) -> str:
    """An <article> with the author and time, the body, attached files, and for a parent with
    replies a "N replies" button that opens its thread."""
    classes = ["message"]
    if view.is_bot:
        classes.append("bot")
    if view.ephemeral:
        classes.append("ephemeral")
    author = _h(view.author)
    head = f'<span class="author">{author}</span>'
    if view.is_bot:
        head += '<span class="badge">APP</span>'
    head += f'<time datetime="{_h(view.time_iso)}">{_h(view.time_shown)}</time>'
    if view.edited:
        head += '<span class="edited">(edited)</span>'
    parts = [f"<header>{head}</header>"]
    if view.ephemeral:
        parts.append('<p class="only-you">Only visible to you</p>')
    parts.append(
        f'<div class="body">{message_body_html(view.text, view.blocks, names, strict=strict)}</div>'
    )
    parts.extend(f'<p class="file">📄 {_h(name)}</p>' for name in view.files)
    if view.reply_count and view.thread_ts is None:
        count = view.reply_count
        label = f"{count} {'reply' if count == 1 else 'replies'}"
        parts.append(
            f'<button type="button" class="replies" data-thread="{_h(view.ts)}">{label}</button>'
        )
    thread = f' data-thread="{_h(view.thread_ts)}"' if view.thread_ts else ""
    return (
        f'<article class="{" ".join(classes)}" id="m-{_h(view.ts)}" data-ts="{_h(view.ts)}"'
        f'{thread} aria-label="{author} {_h(view.time_shown)}">'
        f'<div class="avatar" aria-hidden="true">{_h(view.author[:1].upper())}</div>'
        f'<div class="content">{"".join(parts)}</div></article>'
    )


def view_html(view: Mapping[str, Any], names: Names | None = None, *, strict: bool = False) -> str:
    """A published view (App Home): its blocks."""
    blocks = [b for b in view.get("blocks") or [] if isinstance(b, Mapping)]
    kind = _h(str(view.get("type", "")))
    return f'<div class="view {kind}">{blocks_html(blocks, names, strict=strict)}</div>'
