"""The local playground: a fake Slack client in front of the real app.

The page's actions become the signed requests Slack's platform sends (bot.playground.signing);
the app's Web API calls and response_url posts come back to the playground (server.py), which
keeps the conversation (conversation.py) and pushes every change to the page as server-sent
events, rendered by bot.render.html. `mailflow serve` starts it without Slack credentials or
with `--playground` (serve.py).
"""
