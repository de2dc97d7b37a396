"""Helpers for projection tests: produce a synthetic history, wait for a projection to
catch up, snapshot a projection's stable views, run `hub` as a subprocess."""
from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from hub import codec
from hub.admin import ensure_topics
from hub.envelope import Event
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections import registry
from projections.base import Projection
from projections.kafka_offsets import watermarks

REPO = Path(__file__).resolve().parents[1]


def make_topics(bootstrap: str, topics: Topics, extra: Sequence[str] = ()) -> None:
    ensure_topics(bootstrap, [*topics.core(), *extra], partitions=3)


def produce(bootstrap: str, topics: Topics, events: Iterable[Event],
            store: SchemaStore | None = None) -> int:
    """Encode and produce `events` in order (acks=all); returns how many. Blocking."""
    store = store or SchemaStore.load()
    producer = HubProducer(producer_config(bootstrap, **{"client.id": "test-history"}))
    n = 0
    try:
        for e in events:
            producer.produce_nowait(topics.for_type(e.type), codec.encode(store, e), key=e.key,
                                    headers=e.headers())
            n += 1
        assert producer.flush(30) == 0
    finally:
        producer.close()
    return n


async def wait_caught_up(pool: Any, projection: Projection, bootstrap: str, topics: Topics,
                         within: float = 60.0, version: int | None = None) -> int:
    """Wait until the active version (or `version`) has applied every record; returns it."""
    deadline = time.monotonic() + within
    marks = await asyncio.to_thread(watermarks, bootstrap, projection.topics(topics))
    while True:
        async with pool.acquire() as conn:
            active = version or await registry.active_version(conn, projection.name)
            stored = await registry.load_offsets(conn, projection.name, active) if active else {}
        if active and all(stored.get(tp, 0) >= end for tp, end in marks.high.items() if end):
            return active
        if time.monotonic() > deadline:
            raise AssertionError(f"{projection.name} not caught up in {within} s: {stored} vs "
                                 f"{dict(marks.high)}")
        await asyncio.sleep(0.1)


async def snapshot(conn: Any, views: Sequence[str]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of each view, ordered by all its columns."""
    out = {}
    for view in views:
        rows = await conn.fetch(f"SELECT * FROM {view} ORDER BY 1, 2, 3")
        out[view] = sorted((tuple(r.values()) for r in rows), key=repr)
    return out


def hub_env(servers: Any, topic_prefix: str, db_schema: str, tmp: Path,
            config: Path | None = None) -> dict[str, str]:
    return {**os.environ, "HUB_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
            "HUB_DATABASE_URL": servers.database_url, "HUB_DB_SCHEMA": db_schema,
            "HUB_TOPIC_PREFIX": topic_prefix, "HUB_STATE_DIR": str(tmp / "state"),
            "HUB_CONFIG": str(config or tmp / "hub.toml"), "HUB_LOG_LEVEL": "WARNING"}


def run_hub(args: Sequence[str], env: dict[str, str], timeout: float = 60.0,
            stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "hub", *args], env=env, cwd=REPO,
                          capture_output=True, text=True, timeout=timeout, input=stdin)


def start_hub(args: Sequence[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    with open(log, "ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hub", *args], env=env, cwd=REPO,
                                stdout=out, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
