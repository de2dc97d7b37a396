"""The projections' composition root: what a projection command knows before connecting
(`load_env`), and the pool and producer it connects with (`connected`)."""
from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

from hub.admin import ensure_topics, wait_for_broker
from hub.config import Settings
from hub.db import create_pool
from hub.devstack.state import resolve_servers
from hub.errors import ConfigError
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections.audit import AuditProjection
from projections.base import Projection
from projections.options import ProjectionOptions, read_options
from projections.reconciliation import ReconciliationProjection

__all__ = ["NAMES", "Deps", "ProjectionEnv", "connected", "load_env"]

NAMES: tuple[str, ...] = ("reconciliation", "audit")


@dataclass(frozen=True)
class ProjectionEnv:
    settings: Settings
    bootstrap: str
    database_url: str
    schemas: SchemaStore
    topics: Topics
    options: ProjectionOptions

    def projection(self, name: str) -> Projection:
        """The projection called `name`; ConfigError listing the known ones otherwise."""
        if name == "reconciliation":
            return ReconciliationProjection(self.options.accounting_integrations)
        if name == "audit":
            return AuditProjection()
        raise ConfigError(f"unknown projection {name!r}; known: {', '.join(NAMES)}")

    def all(self) -> list[Projection]:
        return [self.projection(n) for n in NAMES]


def load_env(settings: Settings | None = None) -> ProjectionEnv:
    """Environment, `[projections]` of the config file (if any) and schemas; no I/O."""
    settings = settings or Settings.from_env()
    servers = resolve_servers(settings)
    return ProjectionEnv(settings, servers.kafka_bootstrap, servers.database_url,
                         SchemaStore.load(), Topics(settings.topic_prefix),
                         read_options(settings.config_path))


@dataclass(frozen=True)
class Deps:
    pool: Any
    producer: HubProducer


@asynccontextmanager
async def connected(env: ProjectionEnv, *, pool_size: int = 4,
                    topics_of: list[Projection] | None = None) -> AsyncIterator[Deps]:
    """Pool and producer (for dead letters); with `topics_of`, the topics those
    projections read and their dead-letter topics are created if missing."""
    await asyncio.to_thread(wait_for_broker, env.bootstrap, 30.0)
    if topics_of:
        names = {t for p in topics_of for t in p.topics(env.topics)}
        names |= {env.topics.dlq(f"projection.{p.name}") for p in topics_of}
        await asyncio.to_thread(ensure_topics, env.bootstrap, sorted(names),
                                partitions=env.options.partitions,
                                replication_factor=env.options.replication_factor)
    pool = await create_pool(env.database_url, env.settings.db_schema, min_size=2,
                             max_size=pool_size, role=env.settings.db_role("hub_projection"))
    producer = HubProducer(producer_config(env.bootstrap, **{"client.id": "hub-projection"}))
    try:
        yield Deps(pool, producer)
    finally:
        await asyncio.to_thread(producer.close, 10.0)
        await pool.close()
