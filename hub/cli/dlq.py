"""`hub dlq list|show|redrive`: dead letters with their error context, and putting them back.

Reads every `<prefix>hub.dlq.<integration>` topic from its start to the end seen at
start. Redrive status comes from the `dlq_redrives` table; `list` and `show` still work,
with the status shown as `?`, when the database cannot be reached.
"""
from __future__ import annotations

import argparse
import asyncio
import getpass
from datetime import UTC, datetime
from typing import Any

from hub.cli._common import dumps, one_line_errors, table
from hub.cli._dead_letters import database_url, filtered, load, redriven, status, targets
from hub.config import Settings
from hub.dlq import DeadLetter
from hub.errors import CliError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dlq = sub.add_parser("dlq", help="dead letters: list, show, redrive",
                         description="Dead-lettered events of the provider workers.")
    actions = dlq.add_subparsers(dest="dlq_command", metavar="ACTION", required=True)
    ls = actions.add_parser("list", help="dead letters with error, attempts and redrive status")
    _filters(ls)
    ls.add_argument("--json", action="store_true", help="a JSON array")
    ls.set_defaults(func=_list)
    show = actions.add_parser("show", help="one dead letter: decoded event and error context")
    show.add_argument("id", help="the event id, or <dlq topic>:<partition>:<offset>")
    show.add_argument("--json", action="store_true")
    show.set_defaults(func=_show)
    rd = actions.add_parser(
        "redrive", help="put dead letters back on their path (each once)",
        description="Re-produce each matching dead letter, once, to its group's first retry topic "
                    "(only that group sees it again; its dedupe makes an event that already "
                    "succeeded a no-op). Recorded in dlq_redrives and as dlq.redriven events on "
                    "hub.outcomes for the audit view.")
    _filters(rd)
    rd.add_argument("--dry-run", action="store_true", help="list what would be redriven; change nothing")
    rd.add_argument("--to-original", action="store_true",
                    help="re-produce to the original topic instead (every group reading it sees it)")
    rd.add_argument("--reason", help="why, kept in the audit record")
    rd.add_argument("--by", help="who, kept in the audit record (default: the OS user)")
    rd.add_argument("--json", action="store_true")
    rd.set_defaults(func=_redrive)


def _filters(p: argparse.ArgumentParser) -> None:
    p.add_argument("--group", metavar="G", help="consumer group id or integration name")
    p.add_argument("--since", metavar="T", help="failed at or after T (RFC 3339, date, or age: 2h)")
    p.add_argument("--type", metavar="T", help="event type, or a glob such as payment.*")


@one_line_errors
def _list(args: argparse.Namespace) -> int:
    settings, _, dead = load(args.group)
    dead = filtered(dead, args)
    done = status(settings, dead)
    if args.json:
        print(dumps([{**d.context(), "redriven": redriven(done, d)} for d in dead], indent=True))
        return 0
    if not dead:
        print("no dead letters")
        return 0
    rows = [[d.event_id or "-", d.event_type or "-", d.group, str(d.attempts),
             _t(d.failed_at), _short(f"{d.error_class}: {d.error_message}"),
             _yes(redriven(done, d)), d.ref] for d in dead]
    print(table(["EVENT_ID", "TYPE", "GROUP", "ATTEMPTS", "FAILED_AT", "ERROR", "REDRIVEN",
                 "DEAD_LETTER"], rows, right=(3,)))
    again = sum(1 for d in dead if redriven(done, d))
    print(f"\n{len(dead)} dead letter{'s' if len(dead) != 1 else ''}, {again} redriven")
    return 0


@one_line_errors
def _show(args: argparse.Namespace) -> int:
    from hub import codec
    from hub.schemastore import SchemaStore

    settings, _, dead = load(None)
    found = [d for d in dead if args.id in (d.event_id, d.ref)]
    if not found:
        raise CliError(f"no dead letter with id {args.id!r} (an event id, or "
                       "<dlq topic>:<partition>:<offset>; see `hub dlq list`)")
    done = status(settings, found)
    store = SchemaStore.load()
    docs = []
    for d in found:
        r = d.record
        try:
            event: Any = codec.decode(store, r.value or b"", topic=r.topic, partition=r.partition,
                                      offset=r.offset).envelope_dict()
        except codec.DecodeError as exc:
            event = {"undecodable": str(exc), "value": r.value}
        docs.append({**d.context(), "key": r.key.decode("utf-8", "replace") if r.key else None,
                     "redriven": redriven(done, d), "event": event})
    if args.json:
        print(dumps(docs if len(docs) > 1 else docs[0], indent=True))
        return 0
    for doc in docs:
        print(f"dead letter {doc['ref']}")
        for label in ("group", "original", "error_class", "error_message", "attempts",
                      "first_failure", "last_failure", "key", "redriven"):
            print(f"  {label.replace('_', ' '):<14} {_fmt(doc[label])}")
        print("event\n" + "\n".join("  " + line for line in dumps(doc["event"], indent=True)
                                                               .splitlines()))
    return 0


@one_line_errors
def _redrive(args: argparse.Namespace) -> int:
    from hub.schemastore import SchemaStore
    from hub.topics import Topics

    settings, bootstrap, dead = load(args.group)
    dead = filtered(dead, args)
    url = database_url(settings)
    if url is None:
        raise CliError("no database configured: redrive records what it sent; set "
                       "HUB_DATABASE_URL, or run `hub dev up`", 2)
    topics = Topics(settings.topic_prefix)
    where = targets(bootstrap, dead, topics, to_original=args.to_original)
    by = args.by or _os_user()
    results = asyncio.run(_run(settings, bootstrap, url, dead, where, SchemaStore.load(), topics, by,
                               args.reason, args.dry_run))
    if args.json:
        print(dumps([r.as_dict() for r in results], indent=True))
        return 0
    if results:
        print(table(["ACTION", "EVENT_ID", "TYPE", "DEAD_LETTER", "TARGET", "LANDED"],
                    [[r.action, r.dead.event_id or "-", r.dead.event_type or "-", r.dead.ref,
                      r.target, r.landed or "-"] for r in results]))
        print()
    counts = {a: sum(1 for r in results if r.action == a)
              for a in ("redriven", "would redrive", "already redriven", "same event")}
    summary = ", ".join(f"{a} {n}" for a, n in counts.items() if n) or "no dead letters matched"
    print(f"{'dry run: ' if args.dry_run else ''}{summary}"
          f"{'; nothing was sent' if args.dry_run else ''}")
    return 0


async def _run(settings: Settings, bootstrap: str, url: str, dead: list[DeadLetter],
               targets: dict[str, str], store: Any, topics: Any, by: str, reason: str | None,
               dry_run: bool) -> list[Any]:
    import asyncpg

    from hub.db import connect
    from hub.producer import HubProducer, producer_config
    from hub.redrive import redrive

    conn = await connect(url, settings.db_schema)
    producer = None if dry_run else HubProducer(producer_config(
        bootstrap, **{"client.id": "hub-dlq-redrive"}))
    try:
        return await redrive(dead, targets, conn=conn, producer=producer, schemas=store,
                             topics=topics, by=by, reason=reason, now=datetime.now(UTC),
                             dry_run=dry_run)
    except asyncpg.UndefinedTableError:
        raise CliError(f"table dlq_redrives is missing in schema {settings.db_schema}; "
                       "run `hub migrate`") from None
    finally:
        if producer is not None:
            await asyncio.to_thread(producer.close, 10.0)
        await conn.close()


def _os_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def _yes(value: Any) -> str:
    return "?" if value is None else "yes" if value else "no"


def _t(value: datetime | None) -> str:
    from hub.times import rfc3339

    return rfc3339(value) if value is not None else "-"


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 3] + "..."


def _fmt(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, dict):
        return f"at {_t(value['at'])} by {value['by']} to {value['to']}" + (
            f" ({value['reason']})" if value.get("reason") else "")
    if value is False:
        return "no"
    return str(value)
