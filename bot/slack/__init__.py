"""The Slack side of mailflow-bot.

app.py      build_app(settings, engines=None, client=None) -> MailflowApp (bolt AsyncApp; no
            module-level app) and the Web API client (rate-limit retries, pooled session)
http.py     HTTP mode: POST /slack/events for every payload type, GET /healthz
serve.py    `mailflow serve`: config/ and the store first, then HTTP mode, or Socket Mode when
            SLACK_APP_TOKEN is set; stops on SIGTERM/SIGINT in any state
socket_mode.py  the Socket Mode connection loop (reconnects with backoff, stops at once)
runtime.py  what one running bot owns: store, task registry, rate limiter, dedupe memory
engines.py  the seam to the diagnosis core and the live probe (tests inject their own)
commands.py /tlscheck text -> command (pure)
checks.py   one live check: parent message, progress, threaded report, response_url fallback
watches.py  watch until fixed (SQLite-backed, resumes after a restart)
store.py    aiosqlite: checks, watches, incidents, deliveries; versioned schema and migrations
dedupe.py   event_id TTL middleware; tasks.py: task registry; ratelimit.py; poster.py; files.py
"""
