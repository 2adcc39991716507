"""A small PowerShell tokeniser for tests: the commands a script would run.

It knows what matters for "does this script only read": comments, single- and double-quoted
strings (with `$( ... )` subexpressions inside double quotes, which run code), statement and
pipeline boundaries, and the invocation operators `&` and `.`. Every bareword in command position
is a command; so is any Verb-Noun word anywhere outside strings.
"""

from __future__ import annotations

import re

KEYWORDS = frozenset(
    {"if", "else", "elseif", "foreach", "for", "while", "do", "until", "switch", "param", "in",
     "return", "break", "continue", "begin", "process", "end", "try", "catch", "finally"}
)  # fmt: skip
_WORD = re.compile(r"[A-Za-z_][\w-]*")
_VERB_NOUN = re.compile(r"[A-Z][a-z]+-[A-Z]\w*")
_STARTS = set(";{(|=\n")


class Tokens:
    def __init__(self) -> None:
        self.commands: list[str] = []
        self.invocations: list[str] = []  # & or . used to run something


def commands(script: str) -> Tokens:
    found = Tokens()
    _scan(script, found)
    return found


def _scan(text: str, found: Tokens) -> None:
    i = 0
    at_start = True
    previous = ""
    while i < len(text):
        ch = text[i]
        if text.startswith("<#", i):
            end = text.find("#>", i + 2)
            i = len(text) if end < 0 else end + 2
            continue
        if ch == "#":
            end = text.find("\n", i)
            i = len(text) if end < 0 else end
            continue
        if ch == "`":  # escape / line continuation
            i += 2
            continue
        if ch == "'":
            i = _single(text, i)
            at_start = False
            continue
        if ch == '"':
            i = _double(text, i, found)
            at_start = False
            continue
        if ch in _STARTS:
            at_start = True
            previous = ch
            i += 1
            continue
        if ch in " \t\r":
            i += 1
            continue
        if ch in "&" and at_start:
            found.invocations.append(text[i : i + 20])
            i += 1
            continue
        if ch == "." and at_start and i + 1 < len(text) and text[i + 1] in " \t":
            found.invocations.append(text[i : i + 20])
            i += 1
            continue
        if ch == "$" and text.startswith("$(", i):
            at_start = True
            i += 2
            continue
        word = _WORD.match(text, i)
        if word and (i == 0 or text[i - 1] not in ".-:$[\\"):
            value = word.group(0)
            key = text[word.end() :].lstrip(" \t").startswith("=")  # a hashtable key: n='x'
            if key:
                pass
            elif (at_start and value.lower() not in KEYWORDS) or _VERB_NOUN.fullmatch(value):
                found.commands.append(value)
            at_start = value.lower() in KEYWORDS and value.lower() != "in"
            i = word.end()
            continue
        at_start = False
        previous = ch
        i += 1
    del previous


def _single(text: str, i: int) -> int:
    i += 1
    while i < len(text):
        if text[i] == "'":
            if text.startswith("''", i):
                i += 2
                continue
            return i + 1
        i += 1
    return i


def _double(text: str, i: int, found: Tokens) -> int:
    i += 1
    while i < len(text):
        ch = text[i]
        if ch == "`":
            i += 2
            continue
        if ch == '"':
            if text.startswith('""', i):
                i += 2
                continue
            return i + 1
        if text.startswith("$(", i):
            depth, j = 1, i + 2
            while j < len(text) and depth:
                depth += {"(": 1, ")": -1}.get(text[j], 0)
                j += 1
            _scan(text[i + 2 : j - 1], found)
            i = j
            continue
        i += 1
    return i
