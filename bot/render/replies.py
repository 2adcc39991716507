"""The short answers the bot gives (acks, refusals, hints), in one place.

Every value that came from a user is escaped here; handlers never build message text.
"""

from __future__ import annotations

from bot.render.blocks import Message, plain_message, section
from bot.render.mrkdwn import code_block, code_length, escape, inline_code

DM_HELP = (
    "Hi! Paste an NDR, a message-trace reason, a queue error or protocol-log lines here and I "
    "will diagnose them, or upload a .txt/.log/.csv/.eml/.json file. For a live TLS check use "
    "`/tlscheck contoso.com`."
)
INVITE_HINT = (
    ":information_source: I am not a member of this conversation, so only you can see this. "
    "Invite me with `/invite @mailflow` (or add the app in the channel settings) to get the "
    "results in a thread everyone can see."
)


def checking(label: str) -> Message:
    return plain_message(f":mag: Checking {inline_code(label)}…")


def already_running(label: str) -> Message:
    return plain_message(
        f":repeat: A check of {inline_code(label)} is already running in this channel; "
        "its results will appear in its thread."
    )


def rate_limited(limit: int, wait: float) -> Message:
    return plain_message(
        f":hourglass: You have started {limit} checks in the last minute. "
        f"Please try again in {max(1, round(wait))} s."
    )


def channel_not_allowed() -> Message:
    return plain_message(
        ":no_entry: mailflow-bot is not enabled in this channel. "
        "Ask an admin to add it to MAILFLOW_ALLOWED_CHANNELS, or DM me."
    )


def invite_hint() -> Message:
    return plain_message(INVITE_HINT)


def cannot_post_here() -> Message:
    return plain_message(
        ":information_source: I cannot post in this conversation. "
        "Invite me with `/invite @mailflow`."
    )


def dm_help() -> Message:
    return plain_message(DM_HELP)


def diagnosis_failed() -> Message:
    return plain_message(":boom: Sorry, I could not diagnose that message.")


def job_failed(what: str) -> Message:
    """A background job crashed: the user hears about it (details are in the log)."""
    return plain_message(
        f":boom: Sorry, I could not {escape(what)}: something went wrong on my side."
    )


def not_recognised() -> Message:
    return plain_message("I did not recognise a mail-flow error in that message.")


def file_problem(reason: str) -> Message:
    return plain_message(f":page_facing_up: {escape(reason)}")


def watch_starting(label: str) -> Message:
    return plain_message(f":eyes: Starting to watch {inline_code(label)}…")


def watch_started(label: str) -> Message:
    return plain_message(
        f":eyes: Watching {inline_code(label)}: I will post in the thread when the errors clear."
    )


def already_watching(label: str) -> Message:
    return plain_message(f"I am already watching {inline_code(label)} in this channel.")


def watch_cannot_post() -> Message:
    return plain_message(
        "I cannot post in this channel, so I cannot keep a watch status here: "
        "invite me with `/invite @mailflow`."
    )


def watch_stopped(label: str) -> Message:
    return plain_message(f":octagonal_sign: Stopped watching {inline_code(label)}.")


def no_such_watch(target: str) -> Message:
    return plain_message(f"No active watch of {inline_code(target)} in this channel.")


def evidence_expired() -> Message:
    return plain_message("That evidence is no longer in memory: press Re-run for a fresh check.")


COLLECT_INTRO = (
    ":clipboard: *Collect the Exchange configuration* for the cross-check: two read-only scripts "
    "(only Get-* cmdlets) in this thread. Run them, upload the JSON files they write into this "
    "thread, and everything in it is judged together."
)
_SCRIPT_CHUNK = 2800  # characters of a script per section (a section holds 3000)


def collect_intro() -> Message:
    return plain_message(COLLECT_INTRO)


def collect_snippet_comment(file_name: str, how: str) -> str:
    """The comment posted with a collector snippet: one line on how to run it (mrkdwn)."""
    return f"*{escape(file_name)}*: {escape(how)}"


def collect_upload_refused(code: str) -> Message:
    hint = (
        "the app lacks the files:write scope: reinstall it from the current manifest"
        if code == "missing_scope"
        else f"Slack answered {inline_code(code[:60])}"
    )
    return plain_message(
        f":warning: I could not attach the scripts as files ({hint}), so here they are as code "
        "blocks: paste a script's blocks, in order, into one .ps1 file."
    )


def collect_script(how: str, file_name: str, script: str) -> Message:
    """One collector script as code blocks in one message (split at line ends), with one line
    on how to run it."""
    sections = [section(f"*{escape(file_name)}*: {escape(how)}")]
    chunk: list[str] = []
    size = 0
    for line in script.splitlines():
        length = code_length(line) + 1
        if chunk and size + length > _SCRIPT_CHUNK:
            sections.append(section(code_block("\n".join(chunk))))
            chunk, size = [], 0
        chunk.append(line)
        size += length
    if chunk:
        sections.append(section(code_block("\n".join(chunk))))
    return Message(f"{file_name}: {how}", tuple(sections))
