"""`hub replay` into a topic (byte for byte) and into a JSON-lines file, by offset and by time."""
from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from hub import codec
from hub.admin import ensure_topics
from hub.schemastore import SchemaStore
from tests.examples import example_event
from tests.operator_cli import Hub, hub_env, produce, read_raw

pytestmark = pytest.mark.integration

STORE = SchemaStore.load()
T0 = 1_767_225_600_000  # 2026-01-01T00:00:00Z in ms


def event_record(type_: str, n: int, partition: int, ts: int) -> dict[str, Any]:
    e = example_event(type_, id=f"0192f1c4-7a2b-7c3d-8e4f-{n:012d}", subject=f"inv_{n}")
    return {"value": codec.encode(STORE, e), "key": e.key, "partition": partition,
            "headers": e.headers() + [("x-extra", b"\x00\xff")], "timestamp": ts}


def raw_rows(bootstrap: str, topic: str) -> list[tuple[Any, ...]]:
    return sorted((r.key, r.value, r.headers, r.timestamp_ms) for r in read_raw(bootstrap, topic))


def test_replay_into_a_topic_keeps_the_bytes(servers, topic_prefix, tmp_path, monkeypatch,
                                             capsys) -> None:
    bootstrap = servers.kafka_bootstrap
    source, target = f"{topic_prefix}hub.payments", f"{topic_prefix}replayed"
    ensure_topics(bootstrap, [source, target], partitions=2)
    payments = [event_record("payment.succeeded", i, i % 2, T0 + i * 1000) for i in range(6)]
    other = [event_record("payment.failed", 100 + i, i % 2, T0 + 500 + i * 1000) for i in range(3)]
    junk = {"value": b"not avro", "key": b"j", "partition": 0, "timestamp": T0 + 9000}
    produce(bootstrap, source, payments + other + [junk])
    hub_env(monkeypatch, servers, tmp_path, topic_prefix)
    hub = Hub(capsys)

    ran = hub("replay", "--topic", source, "--from-offset", "0", "--type", "payment.succeeded",
              "--to-topic", target)
    assert ran.code == 0
    err = ran.err.splitlines()
    assert err[-1] == f"replayed 6 of 10 records from {source} to {target}"
    assert err[-2].startswith(f"replay {source} [####################] 100.0%  10/10  ")
    assert " p0 6/6 p1 4/4  done in 0:0" in err[-2]
    expected = sorted((r["key"], r["value"], tuple(r["headers"]), r["timestamp"]) for r in payments)
    assert raw_rows(bootstrap, target) == expected

    again = hub("replay", "--topic", source, "--from-offset", "3", "--to-topic", target, "--quiet")
    assert again.err == f"replayed 4 of 4 records from {source} to {target}\n"  # p0 3-5, p1 3
    assert len(raw_rows(bootstrap, target)) == 10

    same = hub("replay", "--topic", source, "--from-offset", "0", "--to-topic", source)
    assert (same.code, same.err) == (2, f"hub: --to-topic {source} is the topic being read; "
                                        "pick another\n")
    gone = hub("replay", "--topic", source, "--from-offset", "0", "--to-topic", "nope")
    assert (gone.code, gone.err) == (1, "hub: topic 'nope' does not exist (see `hub topics`)\n")


def test_replay_a_time_window_to_a_file(servers, topic_prefix, tmp_path, monkeypatch,
                                        capsys) -> None:
    bootstrap = servers.kafka_bootstrap
    source = f"{topic_prefix}hub.payments"
    ensure_topics(bootstrap, [source], partitions=1)
    records = [event_record("payment.succeeded", i, 0, T0 + i * 60_000) for i in range(5)]
    junk = {"value": b"not avro", "key": b"j", "partition": 0, "timestamp": T0 + 150_000}
    produce(bootstrap, source, records[:3] + [junk] + records[3:])
    hub_env(monkeypatch, servers, tmp_path, topic_prefix)
    out = tmp_path / "replay.jsonl"

    ran = Hub(capsys)("replay", "--topic", source, "--from-time", "2026-01-01T00:01:00Z",
                      "--until", "2026-01-01T00:03:00Z", "--to-file", str(out), "--quiet")
    assert (ran.code, ran.err) == (0, f"replayed 4 of 4 records from {source} to {out} "
                                      "(1 undecodable)\n")
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    assert [(line["offset"], line.get("id", "-")[-2:]) for line in lines] == [
        (1, "01"), (2, "02"), (3, "-"), (4, "03")]
    b64 = lambda b: base64.b64encode(b).decode()  # noqa: E731
    assert lines[0] == {
        "topic": source, "partition": 0, "offset": 1, "timestamp": "2026-01-01T00:01:00.000Z",
        "key": b64(b"inv_1"),
        "headers": [{"name": k, "value": b64(v)} for k, v in records[1]["headers"]],
        "id": "0192f1c4-7a2b-7c3d-8e4f-000000000001", "source": "/tests",
        "type": "payment.succeeded", "specversion": "1.0", "time": "2025-03-14T09:26:53.589793Z",
        "subject": "inv_1", "schema_version": 1,
        "correlation_id": "0192f1c4-7a2b-7c3d-8e4f-000000000001",
        "causation_id": None,
        "payload_sha256": "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
        "traceparent": "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
        "data": {"provider": "stripe", "payment_id": "pi_3Pq2", "invoice_id": "inv_1001",
                 "amount_minor": 1250, "currency": "USD",
                 "occurred_at": "2025-03-14T09:26:53.589793Z"}}
    assert lines[2]["value"] == b64(b"not avro")
    assert lines[2]["error"].startswith(f"cannot decode topic={source} partition=0 offset=3 ")


def test_replay_into_a_projection_applies_once(servers, topic_prefix, db_schema, tmp_path,
                                               monkeypatch, capsys) -> None:
    import asyncio

    from hub.db import connect, create_pool
    from projections.audit import AuditProjection
    from projections.registry import ensure_active

    bootstrap = servers.kafka_bootstrap
    source = f"{topic_prefix}hub.payments"
    ensure_topics(bootstrap, [source], partitions=1)
    produce(bootstrap, source, [event_record("payment.succeeded", i, 0, T0 + i) for i in range(3)])
    hub_env(monkeypatch, servers, tmp_path, topic_prefix, db_schema)
    hub = Hub(capsys)

    async def activate() -> None:
        pool = await create_pool(servers.database_url, db_schema, min_size=1, max_size=2)
        try:
            await ensure_active(pool, AuditProjection())
        finally:
            await pool.close()

    async def audited() -> list[str]:
        conn = await connect(servers.database_url, db_schema)
        try:
            return [str(r["event_id"]) for r in await conn.fetch(
                "SELECT event_id FROM audit ORDER BY seq")]
        finally:
            await conn.close()

    unknown = hub("replay", "--topic", source, "--from-offset", "0", "--to-projection", "nope")
    assert unknown.code == 2 and "unknown projection 'nope'" in unknown.err
    asyncio.run(activate())
    for _ in range(2):  # the second run finds every event applied: nothing changes
        ran = hub("replay", "--topic", source, "--from-offset", "0", "--to-projection", "audit",
                  "--quiet")
        assert (ran.code, ran.err) == (0, f"replayed 3 of 3 records from {source} to audit\n")
        assert asyncio.run(audited()) == [f"0192f1c4-7a2b-7c3d-8e4f-{i:012d}" for i in range(3)]
