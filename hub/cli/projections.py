"""`hub project NAME`, `hub projections status` and `hub projections rebuild NAME`."""
from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sys
from collections.abc import Coroutine
from datetime import UTC, datetime
from typing import Any, TypeVar

from hub.errors import CliError, HubError
from hub.metrics_endpoint import port_number

__all__ = ["parse_time", "register", "run_async"]

T = TypeVar("T")


def run_async(main: Coroutine[Any, Any, T]) -> T:
    """`asyncio.run(main)`, with hub's own errors (database or broker unreachable, registry
    missing, rebuild busy) turned into one-line CLI errors."""
    try:
        return asyncio.run(main)
    except CliError:
        raise
    except HubError as exc:
        raise CliError(str(exc)) from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    project = sub.add_parser("project", help="keep a projection (read model) up to date")
    project.add_argument("name", help="reconciliation, audit, or all")
    project.add_argument("--batch-size", type=int, default=1000, help="events per transaction")
    project.add_argument("--metrics-port", type=port_number, metavar="PORT",
                         help="serve Prometheus metrics on http://127.0.0.1:PORT/metrics "
                              "(default: off)")
    project.set_defaults(func=_project)

    projections = sub.add_parser("projections", help="projection status and rebuilds")
    psub = projections.add_subparsers(dest="projections_command", metavar="ACTION")
    status = psub.add_parser("status", help="versions, positions and lag of every projection")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)
    rebuild = psub.add_parser("rebuild", help="replay the log into a new version and swap it in")
    rebuild.add_argument("name")
    rebuild.add_argument("--from-time", type=parse_time, metavar="T",
                         help="replay from the first record at or after T (ISO 8601; a date "
                              "means midnight UTC) instead of the oldest")
    rebuild.add_argument("--batch-size", type=int, default=2000, help="events per transaction")
    rebuild.add_argument("--keep-old", action="store_true",
                         help="keep the replaced version's tables (default: drop them)")
    rebuild.add_argument("--quiet", action="store_true", help="no progress bar")
    rebuild.set_defaults(func=_rebuild)

    def usage(_args: argparse.Namespace) -> int:
        projections.print_help()
        return 2

    projections.set_defaults(func=usage)


def parse_time(text: str) -> datetime:
    """ISO 8601 with a UTC offset, or a date (midnight UTC); ArgumentTypeError otherwise."""
    try:
        value = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not an ISO 8601 time such as 2025-03-01T00:00:00Z or 2025-03-01") from None
    if value.tzinfo is None:
        if len(text.strip()) > 10:
            raise argparse.ArgumentTypeError(f"{text!r} has no UTC offset; add Z or +01:00")
        value = value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def _stop_on_signals() -> asyncio.Event:
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return stop


def _project(args: argparse.Namespace) -> int:
    from hub.telemetry import configure_logging
    from projections.deps import load_env

    env = load_env()
    configure_logging(env.settings.log_level, env.settings.log_format)
    chosen = env.all() if args.name == "all" else [env.projection(args.name)]

    async def main() -> int:
        from hub.metrics_endpoint import metrics_server
        from projections.deps import connected
        from projections.runtime import ProjectionRunner

        stop = _stop_on_signals()
        async with metrics_server(args.metrics_port, "hub-project"), \
                connected(env, topics_of=chosen, pool_size=2 + 2 * len(chosen)) as deps:
            runners = [ProjectionRunner(p, deps.pool, deps.producer, env.schemas, env.topics,
                                        env.bootstrap, batch_size=args.batch_size)
                       for p in chosen]
            await asyncio.gather(*(r.run(stop) for r in runners))
        return 0

    return run_async(main())


def _status(args: argparse.Namespace) -> int:
    from projections.deps import connected, load_env
    from projections.status import gather, render

    env = load_env()

    async def main() -> int:
        async with connected(env) as deps:
            found = await gather(deps.pool, env.bootstrap, env.topics, env.all())
        if args.json:
            print(json.dumps([s.as_json() for s in found], indent=2))
        else:
            print(render(found))
        return 0

    return run_async(main())


def _rebuild(args: argparse.Namespace) -> int:
    from hub.telemetry import configure_logging
    from projections.deps import connected, load_env
    from projections.rebuild import RebuildInterrupted, rebuild

    env = load_env()
    configure_logging("WARNING" if env.settings.log_level == "INFO" else env.settings.log_level,
                      env.settings.log_format)
    projection = env.projection(args.name)

    async def main() -> int:
        stop = _stop_on_signals()
        async with connected(env, topics_of=[projection]) as deps:
            try:
                result = await rebuild(
                    projection, pool=deps.pool, producer=deps.producer, schemas=env.schemas,
                    topics=env.topics, bootstrap=env.bootstrap, stop=stop,
                    from_time=args.from_time, batch_size=args.batch_size,
                    progress=None if args.quiet else sys.stderr, keep_old=args.keep_old)
            except RebuildInterrupted as exc:
                raise CliError(str(exc), exit_code=130) from None
        replaced = f"v{result.replaced}" if result.replaced is not None else "nothing"
        dropped = " (kept)" if args.keep_old and result.replaced is not None else ""
        print(f"{result.name} v{result.version} is active: {result.events:,} events in "
              f"{result.seconds:.1f} s ({result.rate:,.0f} events/s); replaced {replaced}{dropped}")
        return 0

    return run_async(main())
