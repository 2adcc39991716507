"""`python -m bot` is the `mailflow` command."""

from bot.cli import entry

entry()
