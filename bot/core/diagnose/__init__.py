"""The text diagnosis: pasted or uploaded text -> findings (pure: no network, no Slack)."""
