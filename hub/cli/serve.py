"""`hub serve` and `hub migrate`."""
from __future__ import annotations

import argparse
import asyncio

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    serve = sub.add_parser("serve", help="run the ingress (webhooks and publish API)")
    serve.add_argument("--host", help="listen address (default: [ingress] host)")
    serve.add_argument("--port", type=int, help="listen port (default: [ingress] port)")
    serve.add_argument("--workers", type=int, default=1,
                       help="processes sharing the port with SO_REUSEPORT (default 1)")
    serve.set_defaults(func=_serve)
    mig = sub.add_parser("migrate", help="apply database migrations")
    mig.set_defaults(func=_migrate)


def _serve(args: argparse.Namespace) -> int:
    from hub import bootstrap
    from hub.ingress.server import serve
    from hub.telemetry import configure_logging

    rt = bootstrap.load()
    configure_logging(rt.settings.log_level, rt.settings.log_format)
    host = args.host or rt.config.ingress.host
    port = args.port or rt.config.ingress.port
    return serve(rt, host, port, workers=max(1, args.workers))


def _migrate(args: argparse.Namespace) -> int:
    from hub.config import Settings
    from hub.db import migrate
    from hub.devstack.state import resolve_servers

    settings = Settings.from_env()
    servers = resolve_servers(settings)
    applied = asyncio.run(migrate(servers.database_url, settings.db_schema))
    print("\n".join(f"applied {name}" for name in applied) or "database is up to date")
    return 0
