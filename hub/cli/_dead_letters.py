"""Reading dead letters for `hub dlq`: every `<prefix>hub.dlq.*` topic (or one group's),
the retry topic each would be redriven to, and their rows in `dlq_redrives`."""
from __future__ import annotations

import argparse
import asyncio
import sys
from datetime import UTC, datetime
from typing import Any

from hub.cli._common import kafka_bootstrap, when
from hub.config import Settings
from hub.dlq import DeadLetter
from hub.errors import CliError, ConfigError, HubError

__all__ = ["database_url", "filtered", "load", "redriven", "status", "targets"]


def load(group: str | None) -> tuple[Settings, str, list[DeadLetter]]:
    from hub.dlqreader import read_dead_letters
    from hub.topics import Topics

    settings = Settings.from_env()
    bootstrap = kafka_bootstrap(settings)
    try:
        dead = read_dead_letters(bootstrap, Topics(settings.topic_prefix), group)
    except HubError as exc:
        raise CliError(str(exc)) from None
    return settings, bootstrap, dead


def filtered(dead: list[DeadLetter], args: argparse.Namespace) -> list[DeadLetter]:
    since = when(args.since, datetime.now(UTC), "--since") if args.since else None
    return [d for d in dead if d.matches(group=args.group, since=since, type_=args.type)]


def targets(bootstrap: str, dead: list[DeadLetter], topics: Any, *,
             to_original: bool) -> dict[str, str]:
    from hub.dlqreader import retry_targets

    if to_original:
        return {d.ref: d.origin.topic for d in dead}
    out, missing = retry_targets(bootstrap, dead, topics)
    if missing:
        raise CliError(
            f"no retry topic for {', '.join(sorted(missing))} "
            f"(looked for {topics.name('retry.<integration>.<delay>')}); pass --to-original to "
            "re-produce to the original topic (every group reading it sees the record; "
            "their dedupe on event_id makes it a no-op)", 2)
    return out


def status(settings: Settings, dead: list[DeadLetter]) -> dict[Any, Any] | None:
    """dlq_redrives rows of `dead`, or None (with a warning) when they cannot be read."""
    import asyncpg

    from hub.db import connect
    from hub.redrive import done_redrives

    url = database_url(settings)
    if url is None or not dead:
        return None if url is None else {}

    async def fetch() -> dict[Any, Any]:
        conn = await connect(url, settings.db_schema)
        try:
            return await done_redrives(conn, dead)
        finally:
            await conn.close()

    try:
        return asyncio.run(fetch())
    except (HubError, asyncpg.PostgresError) as exc:
        print(f"hub: redrive status unknown: {exc}", file=sys.stderr)
        return None


def redriven(done: dict[Any, Any] | None, d: DeadLetter) -> Any:
    if done is None:
        return None
    row = done.get((d.record.topic, d.record.partition, d.record.offset))
    if row is None:
        return False
    landed = (f"{row['target_topic']}:{row['target_partition']}:{row['target_offset']}"
              if row["target_offset"] is not None else row["target_topic"])
    return {"at": row["redriven_at"], "by": row["redriven_by"], "to": landed,
            "reason": row["reason"]}


def database_url(settings: Settings) -> str | None:
    from hub.devstack.state import resolve_servers

    try:
        return resolve_servers(settings).database_url
    except ConfigError:
        return None
