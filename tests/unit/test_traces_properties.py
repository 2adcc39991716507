# ruff: noqa: E501 - a table of sample tokens
"""Properties of `scan` on arbitrary and adversarial input: it never raises, its result does not
depend on how the input is cut into chunks, it stays linear, and no pattern can backtrack."""

from __future__ import annotations

import random
import re
import string
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import bot.core.traces as traces_package
from bot.core.traces import InputKind, scan
from tests.unit.traces_helpers import example

# Pieces that steer arbitrary text into every parser's interesting branches.
TOKENS = [
    "\n", "\r\n", " ", ",", ":", ";", "[", "]", "{", "}", "<", ">", "'", '"', "\t", "    ",
    "550 ", "5.1.1", "4.7.320", "450 4.4.316", "{LED=", "[Message=", "{FQDN=", "};",
    "Reason: [", "OutboundProxyTargetIP: ", "LastError : ", "Identity  : ", "-------- ",
    "2026-11-20T09:00:00.000Z,", "SERVER1\\Default Frontend SERVER1,", "08DC1,", "1,",
    "10.0.0.1:25,", ">,", "<,", "*,", "+,", "-,", '" CN=a CN=b 01 ', "AB" * 20,
    " 2026-01-01T00:00:00.000Z", "Sending certificate", "Certificate subject",
    "TlsDomainCapabilities='AcceptCloudServicesMail'; Status='Success'",
    "TLS negotiation failed with error X", "EHLO x.outbound.protection.outlook.com",
    "220 mail.contoso.com", "Delivery has failed to these recipients or groups:",
    "Remote Server returned '", "Generating server: ", "a@b.example", "<a@b.example>: ",
    "host mx[192.0.2.1] said: ", "(in reply to RCPT TO command)", "This is the mail system at host h.",
    "The following address(es) failed:", "  a@b.example", "The response was:",
    "Final-Recipient: rfc822; ", "Status: ", "Action: failed", "Diagnostic-Code: smtp; ",
    "postfix/smtp[1]: ", "status=deferred (", "dsn=4.7.5, ", "certificate verification failed for ",
    "2026-11-20 09:00:02 1rXyZa-0004Qm-2B ** ", "TLS error on connection to ",
    "<!channel>", "<mailto:a@b.example|a@b.example>", "&lt;", "```", "> ", "é", "中",
    "From: x@y\nMIME-Version: 1.0\nContent-Type: multipart/report; boundary=\"q\"\n\n--q\n",
]  # fmt: skip

texts = st.lists(st.one_of(st.sampled_from(TOKENS), st.text(max_size=12)), max_size=60).map("".join)


def _cut(text: str, cuts: list[int]) -> list[str]:
    points = sorted({min(max(cut, 0), len(text)) for cut in cuts})
    return [text[a:b] for a, b in zip([0, *points], [*points, len(text)], strict=True)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts, cuts=st.lists(st.integers(min_value=0, max_value=400), max_size=8))
def test_never_raises_and_chunking_does_not_matter(text: str, cuts: list[int]) -> None:
    whole = scan([text])
    events = list(whole)
    assert isinstance(whole.kind, InputKind)
    pieces = scan(_cut(text, cuts))
    assert list(pieces) == events
    assert pieces.kind is whole.kind


@settings(max_examples=200, deadline=None)
@given(text=st.text(max_size=2000))
def test_arbitrary_unicode_never_raises(text: str) -> None:
    result = scan([text])
    list(result)
    assert result.chars == len(text)


def _noise(size: int, seed: int) -> str:
    rng = random.Random(seed)
    pieces: list[str] = []
    length = 0
    while length < size:
        token = (
            rng.choice(TOKENS)
            if rng.random() < 0.7
            else "".join(rng.choices(string.printable, k=rng.randint(1, 40)))
        )
        pieces.append(token)
        length += len(token)
    return "".join(pieces)[:size]


def _seconds(text: str) -> float:
    best = float("inf")
    for _ in range(3):
        start = time.perf_counter()
        list(scan([text]))
        best = min(best, time.perf_counter() - start)
    return best


def test_linear_time() -> None:
    small, large = _noise(256 * 1024, 1), _noise(512 * 1024, 1)
    ratio = _seconds(large) / max(_seconds(small), 1e-4)
    assert ratio < 3.5, ratio


@pytest.mark.parametrize(
    "noise",
    [
        "".join(random.Random(3).choices(string.printable, k=1024 * 1024)),
        "[[[[{{{{" * (128 * 1024),
        "4.4.4.4.4 " * (100 * 1024),
        ("x" * 70_000 + "\n") * 15,
        "<!channel> <@U024BE7LH> <mailto:a@b.example|a@b.example> " * (18 * 1024),
    ],
    ids=["printable", "brackets", "dotted", "long-lines", "slack"],
)
def test_one_megabyte_of_noise_is_fast_and_quiet(noise: str) -> None:
    start = time.perf_counter()
    result = scan([noise])
    events = list(result)
    assert time.perf_counter() - start < 0.5
    assert events == []


def test_one_megabyte_of_real_errors_is_fast() -> None:
    text = (example("ndr-outlook-5.1.1.txt") + example("postfix-tls.log")) * 120
    start = time.perf_counter()
    events = list(scan([text[: 1024 * 1024]]))
    assert time.perf_counter() - start < 0.5
    assert events


_QUANTIFIER = re.compile(r"(?<!\\)(?:[*+]|\{\d*,?\d*\})")


def _nested_quantifiers(pattern: str) -> bool:
    """A group that contains a quantifier and is itself repeated (`*`, `+`, `{m,n}` with n > 1),
    which is how catastrophic backtracking starts. Optional groups (`?`, `{0,1}`) are fine."""
    stack: list[bool] = []
    index = 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\":
            index += 2
            continue
        if char == "[":  # skip a character class
            end = index + 1
            if pattern[end : end + 1] == "]":
                end += 1
            while end < len(pattern) and pattern[end] != "]":
                end += 2 if pattern[end] == "\\" else 1
            index = end + 1
            continue
        if char == "(":
            stack.append(False)
        elif char == ")":
            inner = stack.pop() if stack else False
            after = pattern[index + 1 : index + 12]
            repeated = re.match(r"[*+]|\{\d*,(\d*)\}", after)
            if inner and repeated and (repeated.group(0)[0] in "*+" or repeated.group(1) != "1"):
                return True
            if stack and inner:
                stack[-1] = True
        elif _QUANTIFIER.match(pattern, index) and stack:
            stack[-1] = True
        index += 1
    return False


def test_no_pattern_has_nested_quantifiers() -> None:
    sources = Path(traces_package.__file__).parent.glob("*.py")
    patterns = []
    for source in sources:
        module = __import__(f"bot.core.traces.{source.stem}", fromlist=["_"])
        for name, value in vars(module).items():
            items = value if isinstance(value, tuple) else (value,)
            for item in items:
                found = item[0] if isinstance(item, tuple) and item else item
                if isinstance(found, re.Pattern):
                    patterns.append((source.stem, name, found.pattern))
    assert len(patterns) > 30
    offenders = [(m, n) for m, n, p in patterns if _nested_quantifiers(str(p))]
    assert offenders == []
    assert _nested_quantifiers(r"(a+)+b") and _nested_quantifiers(r"(?:x\d{1,3}){2,9}")
    assert not _nested_quantifiers(r"(?: \(in reply to (.{1,200}?)\))?$")
