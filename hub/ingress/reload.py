"""Webhook secrets rotate without a restart: the config file is re-read when it changes."""
from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from hub.config import load_config
from hub.errors import ConfigError
from hub.ingress.app import IngressDeps

__all__ = ["reload_endpoints", "watch_config"]

log = logging.getLogger(__name__)


def reload_endpoints(path: Path, deps: IngressDeps, env: dict[str, str]) -> bool:
    """Swap in the endpoints (and their secrets) of `path`; a bad file keeps the old ones."""
    try:
        config = load_config(path, env)
    except ConfigError as exc:
        log.error("config reload refused, keeping the running endpoints: %s", exc)
        return False
    deps.endpoints = config.endpoints
    log.info("reloaded %d webhook endpoints from %s", len(config.endpoints), path)
    return True


async def watch_config(path: Path, deps: IngressDeps, env: dict[str, str], *,
                       interval_s: float = 2.0, wake: asyncio.Event | None = None) -> None:
    """Re-read `path` whenever its modification time changes, or when `wake` is set (SIGHUP)."""
    def stamp() -> int | None:
        try:
            return path.stat().st_mtime_ns
        except FileNotFoundError:
            return None

    seen = stamp()
    wake = wake or asyncio.Event()
    while True:
        try:
            await asyncio.wait_for(wake.wait(), timeout=interval_s)
        except TimeoutError:
            pass
        forced = wake.is_set()
        wake.clear()
        now = stamp()
        if forced or (now is not None and now != seen):
            seen = now
            await asyncio.to_thread(reload_endpoints, path, deps, env)
