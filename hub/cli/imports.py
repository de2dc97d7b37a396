"""`hub import FILE --type invoices|payments|customers`: move legacy records into the log."""
from __future__ import annotations

import argparse
import asyncio
from datetime import UTC, datetime
from pathlib import Path

from hub.errors import CliError

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    imp = sub.add_parser(
        "import", help="import a legacy CSV file (invoices, payments or customers) as events",
        description="Cleans each row (trims, normalises currency codes, amounts to minor units, "
                    "dates), publishes valid rows as events with ids derived from the legacy id "
                    "(importing the same file again publishes nothing new), and writes rejected "
                    "rows with a reason to a reject file. Exit 0 when every valid row is in the "
                    "log, 1 when publishing stopped (the summary lists the lines published), 2 "
                    "for a file or header that cannot be read.")
    imp.add_argument("file", type=Path)
    imp.add_argument("--type", dest="kind", required=True,
                     choices=("invoices", "payments", "customers"))
    imp.add_argument("--rejects", type=Path, metavar="PATH",
                     help="where rejected rows go (default: <file>.rejects.csv)")
    imp.add_argument("--dry-run", action="store_true",
                     help="clean and write the rejects only; publish nothing")
    imp.set_defaults(func=_import)


def _import(args: argparse.Namespace) -> int:
    from hub.admin import BrokerUnavailable, ensure_topics, wait_for_broker
    from hub.config import Settings
    from hub.db import DatabaseUnavailable, create_pool
    from hub.devstack.state import resolve_servers
    from hub.errors import HubError
    from hub.legacy.importer import import_file
    from hub.legacy.rows import COLUMNS
    from hub.producer import HubProducer, producer_config
    from hub.schemastore import SchemaStore
    from hub.topics import Topics

    settings = Settings.from_env()
    servers = resolve_servers(settings)
    topics = Topics(settings.topic_prefix)
    rejects = args.rejects or args.file.with_name(args.file.name + ".rejects.csv")
    if not args.file.is_file():
        raise CliError(f"{args.file}: no such file", exit_code=2)

    async def main() -> int:
        now = datetime.now(UTC)
        schemas = SchemaStore.load()
        if args.dry_run:
            result = await import_file(args.file, args.kind, pool=None, publisher=None,
                                       schemas=schemas, topics=topics, rejects_path=rejects, now=now)
            print(f"dry run, nothing published: {result.summary()}")
            return 0
        await asyncio.to_thread(wait_for_broker, servers.kafka_bootstrap, 10.0)
        await asyncio.to_thread(ensure_topics, servers.kafka_bootstrap,
                                [topics.for_type(COLUMNS[args.kind][2])], partitions=3)
        pool = await create_pool(servers.database_url, settings.db_schema, min_size=1, max_size=2)
        producer = HubProducer(producer_config(servers.kafka_bootstrap,
                                               **{"client.id": "hub-import"}))
        try:
            result = await import_file(args.file, args.kind, pool=pool, publisher=producer,
                                       schemas=schemas, topics=topics, rejects_path=rejects, now=now)
        finally:
            await asyncio.to_thread(producer.close, 10.0)
            await pool.close()
        print(result.summary())
        return 1 if result.error else 0

    try:
        return asyncio.run(main())
    except (DatabaseUnavailable, BrokerUnavailable) as exc:
        raise CliError(str(exc)) from None
    except HubError as exc:  # the file or its header cannot be read
        if isinstance(exc, CliError):
            raise
        raise CliError(str(exc), exit_code=2) from None
