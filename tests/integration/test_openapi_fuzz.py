"""Hostile input: schemathesis fuzzes the ingress from its own OpenAPI document."""
from __future__ import annotations

import asyncio
import sys
from pathlib import Path

import aiohttp
import pytest

from hub.apikeys import ApiKeyStore
from hub.db import connect
from tests.stack import run_ingress

pytestmark = pytest.mark.integration

ST = Path(sys.executable).parent / "st"


async def test_openapi_document_is_served(servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        async with aiohttp.ClientSession() as s, s.get(f"{ing.url}/openapi.json") as r:
            doc = await r.json()
    assert r.status == 200
    assert doc["openapi"] == "3.0.3"
    assert sorted(doc["paths"]) == ["/events", "/events:batch", "/healthz", "/readyz",
                                    "/webhooks/{endpoint}"]
    titles = [v["title"] for v in
              doc["paths"]["/events"]["post"]["requestBody"]["content"]["application/json"]
              ["schema"]["oneOf"]]
    assert "invoice.issued" in titles and "webhook.received" not in titles


async def test_schemathesis_finds_no_server_error(servers, topic_prefix, db_schema,
                                                 tmp_path) -> None:
    conn = await connect(servers.database_url, db_schema)
    try:
        key, _ = await ApiKeyStore(conn).create("fuzzer", ["*"])
    finally:
        await conn.close()
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress="rate_limit_per_s = 100000.0\nrate_limit_burst = 100000") as ing:
        proc = await asyncio.create_subprocess_exec(
            str(ST), "run", f"{ing.url}/openapi.json",
            "--checks", "not_a_server_error,status_code_conformance,content_type_conformance,"
                        "response_schema_conformance",
            "--max-examples", "60", "--seed", "20261122", "--workers", "2",
            "--generation-database", "none", "--no-color",
            "-H", f"Authorization: Bearer {key}",
            stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, cwd=tmp_path)
        out, _ = await asyncio.wait_for(proc.communicate(), timeout=240)
    report = out.decode(errors="replace")
    assert proc.returncode == 0, report[-6000:]
    # Every operation was exercised, not skipped for want of a valid example.
    assert "Tested: 5" in report, report[-3000:]
    assert "Missing test data" not in report, report[-3000:]
