"""The composition root: builds producer, pool and stores inside an async lifespan."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import aiohttp

from hub.admin import BrokerUnavailable, wait_for_broker
from hub.apikeys import ApiKeyStore
from hub.config import HubConfig, Settings, load_config
from hub.db import create_pool
from hub.devstack.state import Servers, resolve_servers
from hub.ingress.app import IngressDeps
from hub.ingress.records import IngressRecords
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from hub.ui.actions import operations

__all__ = ["Runtime", "WorkerDeps", "ingress_deps", "load", "worker_deps"]


@dataclass(frozen=True)
class Runtime:
    """What every process knows before it connects to anything."""

    settings: Settings
    config: HubConfig
    servers: Servers
    schemas: SchemaStore
    topics: Topics


def load(settings: Settings | None = None) -> Runtime:
    """Read environment, config file and schemas; connects to nothing."""
    settings = settings or Settings.from_env()
    config = load_config(settings.config_path, settings.env)
    return Runtime(
        settings=settings,
        config=config,
        servers=resolve_servers(settings),
        schemas=SchemaStore.load(),
        topics=Topics(settings.topic_prefix),
    )


@asynccontextmanager
async def ingress_deps(rt: Runtime) -> AsyncIterator[IngressDeps]:
    """The ingress's producer, pool and stores; closed (producer flushed) on exit."""
    await asyncio.to_thread(wait_for_broker, rt.servers.kafka_bootstrap, 30.0)
    # The ingress never changes session state: no reset query on every pool release.
    pool = await create_pool(rt.servers.database_url, rt.settings.db_schema, max_size=20,
                             reset_session=False, role=rt.settings.db_role("hub_ingress"))
    producer = HubProducer(producer_config(rt.servers.kafka_bootstrap, **{"client.id": "hub-ingress"}))
    records = IngressRecords(pool, timeout_s=rt.config.ingress.request_timeout_s)

    async def ready() -> dict[str, bool]:
        checks = {"database": False, "kafka": False}
        try:
            checks["database"] = await pool.fetchval("SELECT true", timeout=2)
        except Exception:  # noqa: BLE001 - any failure means not ready
            checks["database"] = False
        try:
            await asyncio.to_thread(wait_for_broker, rt.servers.kafka_bootstrap, 2.0)
            checks["kafka"] = True
        except BrokerUnavailable:
            checks["kafka"] = False
        return checks

    try:
        yield IngressDeps(
            ingress=rt.config.ingress,
            endpoints=rt.config.endpoints,
            schemas=rt.schemas,
            topics=rt.topics,
            producer=producer,
            records=records,
            keys=ApiKeyStore(pool),
            ready=ready,
            ops=operations(rt, pool, producer),
        )
    finally:
        await records.drain()
        await asyncio.to_thread(producer.close, 10.0)
        await pool.close()


@dataclass(frozen=True)
class WorkerDeps:
    """What provider workers share in one process."""

    producer: HubProducer
    pool: Any
    http: aiohttp.ClientSession


@asynccontextmanager
async def worker_deps(rt: Runtime, *, pool_size: int = 20) -> AsyncIterator[WorkerDeps]:
    """Producer (outcomes, retry and dead-letter records), pool and HTTP session of the
    workers; the producer is flushed and everything closed on exit."""
    await asyncio.to_thread(wait_for_broker, rt.servers.kafka_bootstrap, 30.0)
    # Workers never change session state either: no reset query on every pool release.
    pool = await create_pool(rt.servers.database_url, rt.settings.db_schema, max_size=pool_size,
                             reset_session=False, role=rt.settings.db_role("hub_worker"))
    # Outcomes are awaited in batches before each group commit, never by a caller holding
    # a request open: a longer linger makes fuller produce batches and cut the worker's
    # CPU per event by about a fifth (docs/adr/0007).
    producer = HubProducer(producer_config(rt.servers.kafka_bootstrap,
                                           **{"client.id": "hub-worker", "linger.ms": 10}))
    http = aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=0, ttl_dns_cache=300))
    try:
        yield WorkerDeps(producer=producer, pool=pool, http=http)
    finally:
        await http.close()
        await asyncio.to_thread(producer.close, 10.0)
        await pool.close()
