"""Thin Slack listeners: parse the request, call the engines through the runtime, render, post."""

from __future__ import annotations

from slack_bolt.async_app import AsyncApp

from bot.slack.runtime import Runtime
from handlers import actions, commands, messages, workflows


def register_all(app: AsyncApp, runtime: Runtime) -> None:
    commands.register(app, runtime)
    messages.register(app, runtime)
    actions.register(app, runtime)
    workflows.register(app, runtime)
