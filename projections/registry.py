"""The projection registry in PostgreSQL: the active version of each projection, every
version built, and the offsets each version has applied.

The active version changes only in `swap`, which locks the registry row FOR UPDATE;
the incremental runtime reads it FOR SHARE at the start of every batch transaction,
so a batch is either wholly written to the old version before a swap or not at all.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg

from hub.consumer_client import TP
from hub.errors import HubError
from projections.base import Projection

__all__ = [
    "RegistryMissing", "VersionInfo", "active_version", "create_version", "drop_version",
    "ensure_active", "load_offsets", "lock_key", "save_offsets", "swap", "versions",
]

log = logging.getLogger(__name__)


class RegistryMissing(HubError):
    """The registry tables do not exist in this schema: migrations were not applied."""


@dataclass(frozen=True)
class VersionInfo:
    name: str
    version: int
    state: str
    from_time: datetime | None
    created_at: datetime
    activated_at: datetime | None


def lock_key(kind: str, name: str) -> str:
    """Text for an advisory lock of this schema: `pg_advisory_lock(hashtext(...))`."""
    return f"hub.{kind}.{name}"


async def _guard(coro: Any) -> Any:
    try:
        return await coro
    except asyncpg.UndefinedTableError as exc:
        raise RegistryMissing(
            f"projection registry missing in this schema ({exc}); run `hub migrate`") from None


async def active_version(conn: Any, name: str) -> int | None:
    value = await _guard(conn.fetchval(
        "SELECT active_version FROM projections WHERE name = $1", name))
    return int(value) if value is not None else None


async def versions(conn: Any, name: str | None = None) -> list[VersionInfo]:
    rows = await _guard(conn.fetch(
        "SELECT name, version, state, from_time, created_at, activated_at"
        " FROM projection_versions WHERE $1::text IS NULL OR name = $1"
        " ORDER BY name, version", name))
    return [VersionInfo(r["name"], r["version"], r["state"], r["from_time"], r["created_at"],
                        r["activated_at"]) for r in rows]


async def _create_objects(conn: Any, projection: Projection, version: int) -> None:
    for statement in projection.create_sql(version):
        await conn.execute(statement)


async def _point_views(conn: Any, projection: Projection, version: int) -> None:
    """Re-point the stable views at `version` (inside the caller's transaction)."""
    for view, select in projection.stable_views(version).items():
        try:
            async with conn.transaction():  # a savepoint: fall back if the columns changed
                await conn.execute(f"CREATE OR REPLACE VIEW {view} AS {select}")
        except asyncpg.InvalidTableDefinitionError:
            await conn.execute(f"DROP VIEW IF EXISTS {view}")
            await conn.execute(f"CREATE VIEW {view} AS {select}")


async def ensure_active(pool: Any, projection: Projection) -> int:
    """The active version of `projection`, creating version 1 (empty) when there is none."""
    name = projection.name
    async with pool.acquire() as conn, conn.transaction():
        await _guard(conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || $1))",
            lock_key("projection", name)))
        current = await active_version(conn, name)
        if current is not None:
            await _create_objects(conn, projection, current)  # IF NOT EXISTS: a no-op normally
            return current
        version = await _next_version(conn, name)
        await _create_objects(conn, projection, version)
        await conn.execute(
            "INSERT INTO projection_versions (name, version, state, activated_at)"
            " VALUES ($1, $2, 'active', now())", name, version)
        await conn.execute(
            "INSERT INTO projections (name, active_version) VALUES ($1, $2)", name, version)
        await _point_views(conn, projection, version)
        log.info("projection %s starts at version %d", name, version)
        return version


async def _next_version(conn: Any, name: str) -> int:
    top = await conn.fetchval(
        "SELECT max(version) FROM projection_versions WHERE name = $1", name)
    return int(top or 0) + 1


async def create_version(pool: Any, projection: Projection, *, from_time: datetime | None,
                         start: Mapping[TP, int]) -> int:
    """A new `building` version with empty tables, its offsets set to `start`."""
    name = projection.name
    async with pool.acquire() as conn, conn.transaction():
        await _guard(conn.execute(
            "SELECT pg_advisory_xact_lock(hashtext(current_schema() || $1))",
            lock_key("projection", name)))
        version = await _next_version(conn, name)
        await _create_objects(conn, projection, version)
        await conn.execute(
            "INSERT INTO projection_versions (name, version, state, from_time)"
            " VALUES ($1, $2, 'building', $3)", name, version, from_time)
        await save_offsets(conn, name, version, start)
        return version


async def load_offsets(conn: Any, name: str, version: int) -> dict[TP, int]:
    rows = await _guard(conn.fetch(
        "SELECT topic, partition, next_offset FROM projection_offsets"
        " WHERE name = $1 AND version = $2", name, version))
    return {(r["topic"], r["partition"]): int(r["next_offset"]) for r in rows}


async def save_offsets(conn: Any, name: str, version: int, offsets: Mapping[TP, int]) -> None:
    """Set the next offset of each partition (inside the caller's transaction)."""
    if not offsets:
        return
    tps = sorted(offsets)  # a stable order: concurrent writers lock rows alike
    await conn.execute(
        "INSERT INTO projection_offsets (name, version, topic, partition, next_offset)"
        " SELECT $1, $2, t, p, o FROM unnest($3::text[], $4::int[], $5::bigint[]) AS u(t, p, o)"
        " ON CONFLICT (name, version, topic, partition) DO UPDATE"
        " SET next_offset = excluded.next_offset, updated_at = now()",
        name, version, [t for t, _ in tps], [p for _, p in tps], [offsets[tp] for tp in tps])


async def swap(pool: Any, projection: Projection, version: int) -> int | None:
    """Make `version` active and point the stable views at it, in one transaction.
    Returns the version it replaced (None if there was none)."""
    name = projection.name
    async with pool.acquire() as conn, conn.transaction():
        old = await _guard(conn.fetchval(
            "SELECT active_version FROM projections WHERE name = $1 FOR UPDATE", name))
        if old is None:
            await conn.execute(
                "INSERT INTO projections (name, active_version) VALUES ($1, $2)", name, version)
        else:
            await conn.execute(
                "UPDATE projections SET active_version = $2, swapped_at = now() WHERE name = $1",
                name, version)
            await conn.execute(
                "UPDATE projection_versions SET state = 'retired', retired_at = now()"
                " WHERE name = $1 AND version = $2", name, old)
        await conn.execute(
            "UPDATE projection_versions SET state = 'active', activated_at = now()"
            " WHERE name = $1 AND version = $2", name, version)
        await _point_views(conn, projection, version)
        return int(old) if old is not None else None


async def drop_version(pool: Any, projection: Projection, version: int) -> None:
    """Drop the tables and offsets of a version that is not active."""
    async with pool.acquire() as conn, conn.transaction():
        active = await active_version(conn, projection.name)
        if active == version:
            raise HubError(f"projection {projection.name} v{version} is active; not dropping it")
        for statement in projection.drop_sql(version):
            await conn.execute(statement)
        await conn.execute("DELETE FROM projection_offsets WHERE name = $1 AND version = $2",
                           projection.name, version)
        await conn.execute(
            "UPDATE projection_versions SET state = 'retired', retired_at = coalesce(retired_at, now())"
            " WHERE name = $1 AND version = $2", projection.name, version)
