"""`GET /metrics` for processes without the ingress (`hub consume`, `hub project`): a tiny
aiohttp server on `--metrics-port`, bound to 127.0.0.1 (a scraper on another host reaches
it through a local agent or a sidecar; the metrics carry no secrets, but no token either)."""
from __future__ import annotations

import argparse
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING

from hub.errors import ConfigError

if TYPE_CHECKING:
    from aiohttp import web

__all__ = ["metrics_server", "port_number"]

log = logging.getLogger(__name__)


async def _metrics(_request: web.Request) -> web.Response:
    from aiohttp import web

    from hub.telemetry import prometheus_text

    body, content_type = prometheus_text()
    return web.Response(body=body, headers={"Content-Type": content_type})


@asynccontextmanager
async def metrics_server(port: int | None, service: str,
                         host: str = "127.0.0.1") -> AsyncIterator[str | None]:
    """Serve Prometheus text on http://host:port/metrics while the block runs; yields
    that URL, or None when `port` is None (metrics off). Raises ConfigError when the
    port cannot be bound."""
    if port is None:
        yield None
        return
    from aiohttp import web

    from hub.telemetry import configure_metrics

    configure_metrics(service)
    app = web.Application()
    app.router.add_get("/metrics", _metrics)
    runner = web.AppRunner(app, access_log=None, handle_signals=False)
    await runner.setup()
    try:
        await web.TCPSite(runner, host, port).start()
    except OSError as exc:
        await runner.cleanup()
        raise ConfigError(f"--metrics-port {port}: cannot listen on {host}:{port} ({exc.strerror}); "
                          "pick a free port") from None
    url = f"http://{host}:{port}/metrics"
    log.info("metrics on %s", url, extra={"service": service})
    try:
        yield url
    finally:
        await runner.cleanup()


def port_number(text: str) -> int:
    """argparse type of `--metrics-port`: 1-65535."""
    try:
        port = int(text)
    except ValueError:
        port = 0
    if not 0 < port < 65536:
        raise argparse.ArgumentTypeError(f"{text!r} is not a TCP port (1-65535)")
    return port
