"""The bare-handler baseline: an aiohttp app whose POST handler reads the body and answers 200.

Served like `hub serve` serves the ingress (uvloop, AppRunner, no access log, backlog 1024), so the
difference to the ingress is the ingress's own work. `python -m bench.bare_app --port N`.
"""
from __future__ import annotations

import argparse
import asyncio
import signal

import uvloop
from aiohttp import web

__all__ = ["build_app", "main"]


async def _ok(request: web.Request) -> web.Response:
    await request.read()
    return web.Response(status=200)


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


def build_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/healthz", _healthz)
    app.router.add_post("/webhooks/{endpoint}", _ok)
    return app


async def _serve(host: str, port: int) -> None:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    runner = web.AppRunner(build_app(), access_log=None, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, host, port, backlog=1024).start()
    try:
        await stop.wait()
    finally:
        await runner.cleanup()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    # The same event loop `hub serve` runs on (hub/ingress/server.py), for a fair baseline.
    with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
        runner.run(_serve(args.host, args.port))


if __name__ == "__main__":
    main()
