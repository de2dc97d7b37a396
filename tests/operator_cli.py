"""Helpers for tests of the operator commands (`hub lag`, `hub dlq`, `hub replay`): run the
real CLI in-process against the session's servers, and drive real producers and groups."""
from __future__ import annotations

import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from confluent_kafka import Consumer, Producer

from hub.cli import main
from hub.logreader import LogRecord, open_reader, plan, read


@dataclass(frozen=True)
class Ran:
    code: int
    out: str
    err: str

    def json(self) -> Any:
        return json.loads(self.out)


@dataclass
class Hub:
    """`hub(...)` runs the CLI with HUB_* pointing at the test's servers, prefix and schema."""

    capsys: pytest.CaptureFixture[str]

    def __call__(self, *argv: str) -> Ran:
        self.capsys.readouterr()
        code = main(list(argv))
        out, err = self.capsys.readouterr()
        return Ran(code, out, err)


def hub_env(monkeypatch: pytest.MonkeyPatch, servers: Any, tmp_path: Path, topic_prefix: str,
            db_schema: str | None = None) -> None:
    monkeypatch.setenv("HUB_KAFKA_BOOTSTRAP", servers.kafka_bootstrap)
    monkeypatch.setenv("HUB_DATABASE_URL", servers.database_url)
    monkeypatch.setenv("HUB_TOPIC_PREFIX", topic_prefix)
    monkeypatch.setenv("HUB_STATE_DIR", str(tmp_path / "state"))
    monkeypatch.setenv("HUB_CONFIG", str(tmp_path / "hub.toml"))
    if db_schema is not None:
        monkeypatch.setenv("HUB_DB_SCHEMA", db_schema)


def produce(bootstrap: str, topic: str, records: list[dict[str, Any]]) -> None:
    """Each record: value, and optionally key, headers, partition, timestamp (ms)."""
    p = Producer({"bootstrap.servers": bootstrap, "enable.idempotence": True, "linger.ms": 0})
    for r in records:
        extra = {k: r[k] for k in ("key", "headers", "partition", "timestamp") if k in r}
        p.produce(topic, value=r["value"], **extra)
    assert p.flush(10) == 0


def consume_and_commit(bootstrap: str, group: str, topic: str, count: int,
                       timeout: float = 20.0) -> None:
    """Join `group`, read `count` records of `topic`, commit, leave the group."""
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": group, "enable.auto.commit": False,
                  "auto.offset.reset": "earliest", "session.timeout.ms": 6000})
    try:
        c.subscribe([topic])
        got = 0
        deadline = time.monotonic() + timeout
        while got < count and time.monotonic() < deadline:
            got += sum(1 for m in c.consume(100, 0.5) if m.error() is None)
        assert got == count
        c.commit(asynchronous=False)
    finally:
        c.close()


def read_raw(bootstrap: str, topic: str) -> list[LogRecord]:
    """Every record of `topic` as stored (no decoding), by partition and offset."""
    consumer = open_reader(bootstrap)
    try:
        return list(read(consumer, plan(consumer, topic)))
    finally:
        consumer.close()
