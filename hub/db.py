"""PostgreSQL: the connection pool and the migrations that shape hub's schema."""
from __future__ import annotations

import logging
import re
from importlib import resources
from typing import Any

import asyncpg

from hub.errors import HubError

__all__ = ["DatabaseUnavailable", "connect", "create_pool", "migrate", "migrations"]

log = logging.getLogger(__name__)

_SCHEMA_NAME = re.compile(r"^[a-z_][a-z0-9_]{0,62}$")


class DatabaseUnavailable(HubError):
    """The database did not answer, or refused the connection."""


def _check_schema(schema: str) -> str:
    if not _SCHEMA_NAME.match(schema):
        raise HubError(f"HUB_DB_SCHEMA={schema!r}: use lowercase letters, digits and _")
    return schema


def _redact(url: str) -> str:
    return re.sub(r"://([^:@/]+):[^@/]*@", r"://\1:***@", url)


async def connect(url: str, schema: str = "hub", connect_timeout: float = 10.0) -> Any:
    """One connection with `search_path` set to `schema`."""
    _check_schema(schema)
    try:
        return await asyncpg.connect(url, timeout=connect_timeout, server_settings={"search_path": schema})
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(
            f"HUB_DATABASE_URL={_redact(url)}: cannot connect ({exc}); "
            "is PostgreSQL running? (`hub dev up` starts one)"
        ) from None


async def create_pool(
    url: str, schema: str = "hub", *, min_size: int = 2, max_size: int = 10,
    connect_timeout: float = 10.0, reset_session: bool = True, role: str | None = None,
) -> Any:
    """A pool with `search_path` set to `schema`, acting as `role` when given (one of the
    least-privilege roles migration 0013 creates).

    `reset_session=False` skips the reset query (advisory unlocks, CLOSE ALL, UNLISTEN, RESET
    ALL: one round trip) each release would cost; an open transaction is still rolled back.
    Only for users that never change session state (SET, LISTEN, session advisory locks).
    """
    _check_schema(schema)
    try:
        return await asyncpg.create_pool(
            url, min_size=min_size, max_size=max_size, timeout=connect_timeout,
            server_settings={"search_path": schema, **({"role": role} if role else {})},
            reset=None if reset_session else _keep_session,
        )
    except (TimeoutError, OSError, asyncpg.PostgresError) as exc:
        raise DatabaseUnavailable(
            f"HUB_DATABASE_URL={_redact(url)}: cannot connect ({exc}); "
            "is PostgreSQL running? (`hub dev up` starts one)"
        ) from None


async def _keep_session(conn: Any) -> None:
    """Pool release hook: asyncpg has already rolled back an open transaction; nothing more."""


def migrations() -> list[tuple[int, str, str]]:
    """(version, name, sql) for every file in hub/migrations, in order."""
    found = []
    for entry in resources.files("hub.migrations").iterdir():
        m = re.match(r"^(\d{4})_(\w+)\.sql$", entry.name)
        if m:
            found.append((int(m.group(1)), m.group(2), entry.read_text(encoding="utf-8")))
    return sorted(found)


async def migrate(url: str, schema: str = "hub") -> list[str]:
    """Apply pending migrations in one transaction each; returns the names applied."""
    conn = await connect(url, "public")
    applied: list[str] = []
    try:
        # One migrator at a time, whatever process runs it.
        await conn.execute("SELECT pg_advisory_lock(hashtext('hub.migrate'))")
        await conn.execute(f'CREATE SCHEMA IF NOT EXISTS "{_check_schema(schema)}"')
        await conn.execute(f'SET search_path TO "{schema}"')
        await conn.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations ("
            " version integer PRIMARY KEY, name text NOT NULL,"
            " applied_at timestamptz NOT NULL DEFAULT now())"
        )
        done = {r["version"] for r in await conn.fetch("SELECT version FROM schema_migrations")}
        for version, name, sql in migrations():
            if version in done:
                continue
            async with conn.transaction():
                await conn.execute(sql)
                await conn.execute(
                    "INSERT INTO schema_migrations (version, name) VALUES ($1, $2)", version, name
                )
            applied.append(f"{version:04d}_{name}")
            log.info("applied migration %04d_%s to schema %s", version, name, schema)
    finally:
        await conn.execute("SELECT pg_advisory_unlock(hashtext('hub.migrate'))")
        await conn.close()
    return applied
