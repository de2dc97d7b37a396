"""Least-privilege roles from the migrations: each kind of process writes only its tables."""
from __future__ import annotations

import json

import aiohttp
import asyncpg
import pytest

from hub.db import connect
from hub.signatures import sign
from tests.stack import SECRETS, run_ingress

pytestmark = pytest.mark.integration


async def as_role(servers, schema: str, role: str, sql: str, *args: object) -> str:
    conn = await connect(servers.database_url, schema)
    try:
        async with conn.transaction():
            await conn.execute(f"SET LOCAL ROLE {role}")
            return str(await conn.execute(sql, *args))
    finally:
        await conn.close()


DEDUPE = ("INSERT INTO processed_events (group_name, event_id, event_type, status)"
          " VALUES ('hub.payments', gen_random_uuid(), 'payment.intent_requested', 'reserved')")


@pytest.mark.parametrize("role", ["hub_ingress", "hub_projection"])
async def test_only_workers_write_dedupe_records(servers, db_schema, role) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_role(servers, db_schema, role, DEDUPE)
    assert await as_role(servers, db_schema, "hub_worker", DEDUPE) == "INSERT 0 1"


async def test_projection_tables_are_written_by_projections_only(servers, db_schema) -> None:
    await as_role(servers, db_schema, "hub_projection",
                  "CREATE TABLE demo_view_v1 (subject text PRIMARY KEY, amount bigint)")
    assert await as_role(servers, db_schema, "hub_projection",
                         "INSERT INTO demo_view_v1 VALUES ('INV-1', 100)") == "INSERT 0 1"
    for role in ("hub_ingress", "hub_worker"):
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await as_role(servers, db_schema, role, "INSERT INTO demo_view_v1 VALUES ('X', 1)")
    # The ingress reads views for the operators' page.
    assert await as_role(servers, db_schema, "hub_ingress",
                         "SELECT * FROM demo_view_v1") == "SELECT 1"


@pytest.mark.parametrize("table", ["webhook_events", "api_keys", "publish_requests"])
async def test_workers_cannot_write_ingress_tables(servers, db_schema, table) -> None:
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_role(servers, db_schema, "hub_worker", f"DELETE FROM {table}")


async def test_ingress_works_under_its_role(servers, topic_prefix, db_schema, tmp_path,
                                            monkeypatch) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema, db_roles=True) as ing:
        conn = await ing.deps.records._pool.acquire()
        try:
            assert await conn.fetchval("SELECT current_user") == "hub_ingress"
        finally:
            await ing.deps.records._pool.release(conn)
        body = json.dumps({"id": "evt_role", "type": "customer.created", "created": 1,
                           "data": {"object": {}}}).encode()
        async with aiohttp.ClientSession() as s, s.post(
                f"{ing.url}/webhooks/stripe", data=body,
                headers=sign("stripe", secret=SECRETS["stripe"], body=body)) as r:
            assert r.status == 202
    with pytest.raises(asyncpg.InsufficientPrivilegeError):
        await as_role(servers, db_schema, "hub_ingress", "DELETE FROM api_keys")
