"""Session fixtures: a real Kafka broker and a real PostgreSQL, started by hub's own dev-stack
code on random free ports in a temporary folder. Each test gets its own topic prefix and
database schema, so tests never see each other's data."""
from __future__ import annotations

import os
import secrets
import shutil
import tempfile
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from hub.devstack.kafka import LocalKafka
from hub.devstack.postgres import LocalPostgres


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    database_url: str
    home: Path


@pytest.fixture(scope="session")
def servers() -> Iterator[Servers]:
    """Kafka + PostgreSQL for the whole session; HUB_TEST_KAFKA/HUB_TEST_DATABASE_URL reuse others."""
    ext_kafka = os.environ.get("HUB_TEST_KAFKA_BOOTSTRAP")
    ext_db = os.environ.get("HUB_TEST_DATABASE_URL")
    home = Path(tempfile.mkdtemp(prefix="hub-test-"))
    os.chmod(home, 0o755)  # the postgres OS user must reach its folder when tests run as root
    kafka = LocalKafka(home / "kafka", partitions=3)
    pg = LocalPostgres(home / "postgres")
    try:
        if not ext_kafka:
            kafka.start()
        if not ext_db:
            pg.start()
        from hub.admin import wait_for_broker

        bootstrap = ext_kafka or kafka.bootstrap
        wait_for_broker(bootstrap, timeout=60)
        yield Servers(bootstrap, ext_db or pg.url, home)
    finally:
        if not ext_kafka:
            kafka.stop()
        if not ext_db:
            pg.stop()
        shutil.rmtree(home, ignore_errors=True)


@pytest.fixture
def suffix() -> str:
    return secrets.token_hex(4)


@pytest.fixture
def topic_prefix(suffix: str) -> str:
    return f"t{suffix}."


@pytest.fixture
async def db_schema(servers: Servers, suffix: str) -> AsyncIterator[str]:
    """A fresh schema with hub's migrations applied; dropped after the test."""
    from hub.db import connect, migrate

    schema = f"t_{suffix}"
    await migrate(servers.database_url, schema)
    yield schema
    conn = await connect(servers.database_url, "public")
    try:
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
    finally:
        await conn.close()


@pytest.fixture(scope="session")
def span_exporter() -> Any:
    """Every span the test process records, in memory (the tracer provider is global)."""
    from opentelemetry import trace
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    trace.set_tracer_provider(provider)
    return exporter
