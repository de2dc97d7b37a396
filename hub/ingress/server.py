"""Running the ingress: one process, or several sharing the port with SO_REUSEPORT."""
from __future__ import annotations

import asyncio
import gc
import logging
import os
import signal
import sys
from collections.abc import Coroutine
from typing import Any

import uvloop
from aiohttp import web

from hub.bootstrap import Runtime, ingress_deps
from hub.ingress.app import build_app, runner_options
from hub.ingress.reload import watch_config
from hub.telemetry import configure_metrics, configure_tracing

__all__ = ["serve"]

log = logging.getLogger(__name__)

# Allocations between young collections (CPython's default 700 runs one every request or two).
GC_GEN0_THRESHOLD = 20_000


async def _serve_one(rt: Runtime, host: str, port: int, reuse_port: bool) -> None:
    stop = asyncio.Event()
    reread = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    loop.add_signal_handler(signal.SIGHUP, reread.set)
    configure_metrics("hub-ingress")
    # No exporter, no tracer provider: the ingress then does no span work at all.
    tracing = rt.settings.trace_exporter != "none"
    provider = configure_tracing("hub-ingress", rt.settings.trace_exporter) if tracing else None
    async with ingress_deps(rt) as deps:
        watcher = asyncio.create_task(
            watch_config(rt.settings.config_path, deps, dict(rt.settings.env), wake=reread))
        runner = web.AppRunner(build_app(deps), access_log=None, handle_signals=False,
                               **runner_options(rt.config.ingress))
        await runner.setup()
        site = web.TCPSite(runner, host, port, reuse_port=reuse_port, backlog=1024)
        await site.start()
        _settle_heap()
        log.info("ingress listening on http://%s:%d (pid %d)", host, port, os.getpid())
        try:
            await stop.wait()
        finally:
            # Stop accepting, let requests in flight finish, then flush the producer.
            watcher.cancel()
            await runner.cleanup()
            if provider is not None:
                provider.shutdown()
    log.info("ingress stopped")


def _settle_heap() -> None:
    """Once started: what start-up built (schemas, app, libraries) leaves the collector's view
    for good, and young collections run less often (docs/adr/0009: full collections of the
    start-up heap had paused the loop for up to 87 ms; CPU per webhook -12%)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(GC_GEN0_THRESHOLD, 10, 10)


def _run(main: Coroutine[Any, Any, None]) -> None:
    """Run `main` on uvloop (docs/adr/0009: less CPU per request than the default loop)."""
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(main)


def serve(rt: Runtime, host: str, port: int, workers: int = 1) -> int:
    """Serve until SIGTERM/SIGINT; with workers > 1, fork that many processes on one port."""
    if workers <= 1:
        _run(_serve_one(rt, host, port, reuse_port=False))
        return 0
    children: list[int] = []
    for _ in range(workers):
        pid = os.fork()
        if pid == 0:
            try:
                _run(_serve_one(rt, host, port, reuse_port=True))
            finally:
                os._exit(0)
        children.append(pid)

    def forward(signum: int, _frame: object) -> None:
        for child in children:
            try:
                os.kill(child, signum)
            except ProcessLookupError:
                pass

    signal.signal(signal.SIGTERM, forward)
    signal.signal(signal.SIGINT, forward)
    status = 0
    for child in children:
        _, code = os.waitpid(child, 0)
        status = status or os.waitstatus_to_exitcode(code)
    sys.stdout.flush()
    return status
