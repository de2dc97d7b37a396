"""`hub audit verify` and `hub audit show SUBJECT`."""
from __future__ import annotations

import argparse
import json
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hub.cli.projections import run_async
from hub.errors import CliError

__all__ = ["register"]

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    audit = sub.add_parser("audit", help="the hash-chained audit log: verify it, tell a story")
    asub = audit.add_subparsers(dest="audit_command", metavar="ACTION")
    verify = asub.add_parser("verify", help="recompute every hash chain; name the first broken link")
    verify.set_defaults(func=_verify)
    show = asub.add_parser("show", help="everything about one invoice, order, payment or phone number")
    show.add_argument("subject")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)

    def usage(_args: argparse.Namespace) -> int:
        audit.print_help()
        return 2

    audit.set_defaults(func=usage)


def _with_conn(work: Callable[[Any], Awaitable[T]]) -> T:
    import asyncpg

    from hub.config import Settings
    from hub.db import connect
    from hub.devstack.state import resolve_servers

    settings = Settings.from_env()
    url = resolve_servers(settings).database_url

    async def main() -> T:
        conn = await connect(url, settings.db_schema)
        try:
            return await work(conn)
        except asyncpg.UndefinedTableError:
            raise CliError("no audit log yet; run `hub project audit` or "
                               "`hub projections rebuild audit`") from None
        finally:
            await conn.close()

    return run_async(main())


def _verify(args: argparse.Namespace) -> int:
    from projections.audit_store import verify

    result = _with_conn(verify)
    if result.first_break is not None:
        print(f"audit log BROKEN at {result.first_break.describe()}")
        print(f"({result.rows:,} rows in {result.chains} chains read; later links not judged)")
        return 1
    print(f"audit log intact: {result.rows:,} rows in {result.chains} chains, every hash and "
          "chain head matches")
    return 0


def _show(args: argparse.Namespace) -> int:
    from projections.audit_store import render_story, story

    async def work(conn: Any) -> Any:
        return await story(conn, args.subject)

    lines = _with_conn(work)
    if args.json:
        print(json.dumps([{"time": s.time.isoformat(), "kind": s.kind, "type": s.event_type,
                           "source": s.source, "summary": s.summary, "event_id": s.event_id,
                           "where": s.where} for s in lines], indent=2))
    else:
        print(render_story(args.subject, lines))
    return 0 if lines else 1
