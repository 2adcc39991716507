"""Shared by every test: the caches that only make processes start faster (`bot.core.cachefiles`)
live in a directory of this run, so tests neither read nor fill the developer's own cache.
Subprocesses (the `mailflow` program in integration tests) inherit it."""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile

_RUN_CACHE = tempfile.mkdtemp(prefix="mailflow-test-cache-")
os.environ["MAILFLOW_CACHE_DIR"] = _RUN_CACHE
atexit.register(shutil.rmtree, _RUN_CACHE, ignore_errors=True)
