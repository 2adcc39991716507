"""The bolt AsyncApp factory. No module-level app: every call builds a fresh, independent bot."""

from __future__ import annotations

import logging

from slack_bolt.async_app import AsyncApp
from slack_bolt.logger.messages import warning_client_prioritized_and_token_skipped
from slack_sdk.http_retry.builtin_async_handlers import AsyncRateLimitErrorRetryHandler
from slack_sdk.web.async_client import AsyncWebClient

from bot.settings import Settings
from bot.slack.dedupe import dedupe_middleware
from bot.slack.engines import Engines
from bot.slack.runtime import Runtime
from handlers import register_all

log = logging.getLogger("mailflow.app")


class _SameTokenNotice(logging.Filter):
    """bolt reads SLACK_BOT_TOKEN itself and warns, at every start, that the client we pass
    takes precedence over it; that client carries the same token, so the warning is noise."""

    def filter(self, record: logging.LogRecord) -> bool:
        return record.getMessage() != warning_client_prioritized_and_token_skipped()


_BOLT_LOG = logging.getLogger("mailflow.bolt")
_BOLT_LOG.addFilter(_SameTokenNotice())


class MailflowApp(AsyncApp):
    """An AsyncApp that carries the bot's runtime (store, tasks, engines)."""

    runtime: Runtime


def build_client(settings: Settings) -> AsyncWebClient:
    client = AsyncWebClient(token=settings.bot_token, base_url=settings.slack_api_url)
    client.retry_handlers.append(AsyncRateLimitErrorRetryHandler(max_retry_count=2))
    return client


def build_app(
    settings: Settings,
    engines: Engines | None = None,
    client: AsyncWebClient | None = None,
) -> MailflowApp:
    """Build the bot. Call `await app.runtime.start()` before serving (the HTTP server and
    the Socket Mode runner in bot.slack.serve do) and `await app.runtime.aclose()` after."""
    client = client or build_client(settings)
    runtime = Runtime(settings, engines or Engines.real(settings), client)
    app = MailflowApp(
        name="mailflow",
        client=client,
        signing_secret=settings.signing_secret or "",
        request_verification_enabled=settings.signing_secret is not None,
        # Listeners only parse, ack and hand slow work to our task registry, so the response
        # can be sent as soon as they return: no polling for ack(), no bolt-owned futures.
        process_before_response=True,
        logger=_BOLT_LOG,
    )
    app.runtime = runtime
    app.use(dedupe_middleware(runtime.first_delivery))
    register_all(app, runtime)
    return app
