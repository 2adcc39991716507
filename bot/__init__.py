"""mailflow-bot. Loading the package first installs the dataclass code cache (`bot.startup`)."""

from bot import startup

startup.install()
