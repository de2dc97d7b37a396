"""`hub keys create|list|revoke`: API keys for upstream services."""
from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

from hub.errors import CliError

__all__ = ["register"]

T = TypeVar("T")


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    keys = sub.add_parser("keys", help="API keys for the publish API")
    ksub = keys.add_subparsers(dest="keys_command", metavar="ACTION", required=True)
    create = ksub.add_parser("create", help="create a key; it is printed once")
    create.add_argument("--name", required=True, help="the service that will use it")
    create.add_argument("--scope", action="append", required=True, dest="scopes",
                        help="event type or pattern it may publish (repeat): invoice.issued, payment.*, *")
    create.set_defaults(func=_create)
    lst = ksub.add_parser("list", help="list keys (never their secrets)")
    lst.set_defaults(func=_list)
    revoke = ksub.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("key_id")
    revoke.set_defaults(func=_revoke)


def _with_store(action: Callable[[Any], Awaitable[T]]) -> T:
    from hub.apikeys import ApiKeyStore
    from hub.config import Settings
    from hub.db import connect
    from hub.devstack.state import resolve_servers

    settings = Settings.from_env()
    servers = resolve_servers(settings)

    async def run() -> T:
        conn = await connect(servers.database_url, settings.db_schema)
        try:
            return await action(ApiKeyStore(conn))
        finally:
            await conn.close()

    return asyncio.run(run())


def _create(args: argparse.Namespace) -> int:
    try:
        full, key = _with_store(lambda store: store.create(args.name, args.scopes))
    except ValueError as exc:
        raise CliError(str(exc), exit_code=2) from None
    print(f"key id   {key.key_id}")
    print(f"name     {key.name}")
    print(f"scopes   {', '.join(key.scopes)}")
    print(f"key      {full}")
    print("Store the key now: hub keeps only its hash and cannot show it again.")
    return 0


def _list(args: argparse.Namespace) -> int:
    keys = _with_store(lambda store: store.list())
    print(f"{'KEY ID':<14}{'NAME':<24}{'CREATED':<22}{'REVOKED':<22}SCOPES")
    for k in keys:
        created = k.created_at.strftime("%Y-%m-%d %H:%M:%S") if k.created_at else "-"
        revoked = k.revoked_at.strftime("%Y-%m-%d %H:%M:%S") if k.revoked_at else "-"
        print(f"{k.key_id:<14}{k.name:<24}{created:<22}{revoked:<22}{','.join(k.scopes)}")
    return 0


def _revoke(args: argparse.Namespace) -> int:
    if not _with_store(lambda store: store.revoke(args.key_id)):
        raise CliError(f"no active key with id {args.key_id!r} (see `hub keys list`)")
    print(f"revoked {args.key_id}")
    return 0
