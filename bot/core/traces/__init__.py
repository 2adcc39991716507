"""Parsers that turn pasted or uploaded text (NDRs, DSNs, message traces, queue errors, protocol
logs, MTA logs) into MailEvents for the rule engine. Entry point: `scan(chunks)`."""

from bot.core.traces.events import EventKind, InputKind, MailEvent
from bot.core.traces.scanner import Scan, scan

__all__ = ["EventKind", "InputKind", "MailEvent", "Scan", "scan"]
