"""`hub consume <integration> [<integration>...]`: run provider workers until SIGTERM."""
from __future__ import annotations

import argparse
import asyncio
import signal
from typing import TYPE_CHECKING

from hub.metrics_endpoint import port_number

if TYPE_CHECKING:
    from hub.bootstrap import Runtime

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    consume = sub.add_parser(
        "consume", help="run provider workers (one consumer group per integration)",
        description="Run the named integrations' workers in this process until SIGTERM/SIGINT; "
                    "`all` runs every integration in [integrations]. Creates the retry and "
                    "dead-letter topics it needs.")
    consume.add_argument("integrations", nargs="+", metavar="INTEGRATION",
                         help="integration names from [integrations.<name>], or all")
    consume.add_argument("--metrics-port", type=port_number, metavar="PORT",
                         help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics "
                              "(default: off)")
    consume.set_defaults(func=_consume)


def _consume(args: argparse.Namespace) -> int:
    from consumers.runner import resolve_names, tune_gc
    from hub import bootstrap
    from hub.telemetry import configure_logging

    rt = bootstrap.load()
    configure_logging(rt.settings.log_level, rt.settings.log_format)
    names = resolve_names(rt, list(args.integrations))  # a bad name fails before connecting
    if rt.settings.trace_exporter != "none":
        from hub.telemetry import configure_tracing

        configure_tracing("hub-worker", rt.settings.trace_exporter)
    tune_gc()
    asyncio.run(_run(rt, names, args.metrics_port))
    return 0


async def _run(rt: Runtime, names: list[str], metrics_port: int | None = None) -> None:
    from consumers.runner import run_workers
    from hub.metrics_endpoint import metrics_server

    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    async with metrics_server(metrics_port, "hub-consume"):
        await run_workers(rt, names, stop)
