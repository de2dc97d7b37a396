"""Test helpers: an in-process ingress on a free port against the session's real servers."""
from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiohttp import web
from confluent_kafka import Consumer, TopicPartition

from hub import codec
from hub.admin import ensure_topics, watermarks
from hub.bootstrap import Runtime, ingress_deps
from hub.config import Settings, load_config
from hub.devstack.procs import free_port
from hub.devstack.state import Servers as HubServers
from hub.envelope import Event
from hub.ingress.app import build_app, runner_options
from hub.schemastore import SchemaStore
from hub.topics import Topics

SECRETS = {
    "stripe": "whsec_test_stripe_secret_0123456789",
    "github": "github-test-secret",
    "standard-webhooks": "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
    "twilio": "twilio-test-auth-token",
    "shopify": "shopify-test-secret",
    "slack": "slack-test-signing-secret",
}


def config_text(port: int, *, ack_timeout_s: float = 5.0, max_body_bytes: int = 1048576,
                extra: str = "", ingress: str = "", secrets: dict[str, str] | None = None) -> str:
    lines = [
        "[ingress]", 'host = "127.0.0.1"', f"port = {port}",
        f'public_url = "http://127.0.0.1:{port}"', f"max_body_bytes = {max_body_bytes}",
        f"ack_timeout_s = {ack_timeout_s}", "retry_after_s = 7", ingress, "",
        "[kafka]", "partitions = 3", "",
    ]
    for scheme, secret in (secrets or SECRETS).items():
        lines += [f"[endpoints.{scheme}]", f'scheme = "{scheme}"', f'provider = "{scheme}"',
                  f'secrets = ["{secret}"]', ""]
    return "\n".join(lines) + extra


@dataclass
class Ingress:
    url: str
    runtime: Runtime
    deps: Any
    config_path: Path

    @property
    def topics(self) -> Topics:
        return self.runtime.topics


def make_runtime(tmp: Path, servers: Any, topic_prefix: str, db_schema: str, text: str,
                 *, db_roles: bool = False) -> Runtime:
    tmp.mkdir(parents=True, exist_ok=True)
    path = tmp / "hub.toml"
    path.write_text(text)
    env = {"HUB_CONFIG": str(path), "HUB_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
           "HUB_DATABASE_URL": servers.database_url, "HUB_DB_SCHEMA": db_schema,
           "HUB_TOPIC_PREFIX": topic_prefix, "HUB_STATE_DIR": str(tmp / "state"),
           "HUB_DB_ROLES": "on" if db_roles else "off"}
    settings = Settings.from_env(env)
    return Runtime(settings=settings, config=load_config(path, env),
                   servers=HubServers(servers.kafka_bootstrap, servers.database_url),
                   schemas=SchemaStore.load(), topics=Topics(topic_prefix))


@asynccontextmanager
async def run_ingress(tmp: Path, servers: Any, topic_prefix: str, db_schema: str,
                      db_roles: bool = False, **config: Any) -> AsyncIterator[Ingress]:
    port = free_port()
    rt = make_runtime(tmp, servers, topic_prefix, db_schema, config_text(port, **config),
                      db_roles=db_roles)
    tmp_config = tmp / "hub.toml"
    await asyncio.to_thread(ensure_topics, servers.kafka_bootstrap, rt.topics.core(),
                            partitions=3)
    async with ingress_deps(rt) as deps:
        runner = web.AppRunner(build_app(deps), access_log=None,
                               **runner_options(rt.config.ingress))
        await runner.setup()
        await web.TCPSite(runner, "127.0.0.1", port).start()
        try:
            yield Ingress(f"http://127.0.0.1:{port}", rt, deps, tmp_config)
        finally:
            await runner.cleanup()


@dataclass(frozen=True)
class Record:
    topic: str
    partition: int
    offset: int
    key: bytes | None
    headers: dict[str, bytes]
    value: bytes
    event: Event


def read_topic(bootstrap: str, topic: str, *, expect: int | None = None,
               timeout: float = 10.0) -> list[Record]:
    """Every record of `topic` from the beginning, decoded; waits until `expect` arrived."""
    store = SchemaStore.load()
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"test-read-{time.time_ns()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    try:
        md = consumer.list_topics(topic, timeout=10)
        parts = [TopicPartition(topic, p, 0) for p in md.topics[topic].partitions]
        consumer.assign(parts)
        ends = {}
        for p in parts:
            ends[p.partition] = watermarks(consumer, p, timeout=10)[1]
        out: list[Record] = []
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            msgs = consumer.consume(500, 0.2)
            for m in msgs:
                if m.error():
                    continue
                out.append(Record(m.topic(), m.partition(), m.offset(), m.key(),
                                  {k: v for k, v in (m.headers() or [])}, m.value(),
                                  codec.decode(store, m.value(), topic=m.topic(),
                                               partition=m.partition(), offset=m.offset())))
            if expect is not None:
                if len(out) >= expect:
                    break
            elif not msgs and all(
                end == 0 or consumer.position([TopicPartition(topic, p)])[0].offset >= end
                for p, end in ends.items()
            ):
                break
        return sorted(out, key=lambda r: (r.partition, r.offset))
    finally:
        consumer.close()
