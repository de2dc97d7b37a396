"""`hub dlq list|show|redrive` against dead letters in the worker's header format."""
from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from hub import codec
from hub.admin import ensure_topics
from hub.db import connect
from hub.redelivery import Origin, failure_headers
from hub.schemastore import SchemaStore
from hub.times import rfc3339
from hub.topics import Topics
from tests.examples import example_event
from tests.operator_cli import Hub, hub_env, produce, read_raw
from tests.stack import read_topic

pytestmark = pytest.mark.integration

STORE = SchemaStore.load()
ID_A = "0192f1c4-7a2b-7c3d-8e4f-00000000000a"
ID_B = "0192f1c4-7a2b-7c3d-8e4f-00000000000b"
NOW = datetime.now(UTC).replace(microsecond=0)


def dead_letter(topics: Topics, event: Any, offset: int, last: datetime, *,
                value: bytes | None = None, name: str = "payments") -> dict[str, Any]:
    """A dead-letter record exactly as the worker writes one (hub.redelivery.failure_headers)."""
    original = [] if event is None else event.headers()
    headers = failure_headers(
        original, origin=Origin(topics.name(name), 0, offset), group=topics.group(name),
        error_class="PermanentError" if event else "DecodeError",
        error_message="provider answered 400: amount must be positive", attempts=4 if event else 0,
        first_failure=last - timedelta(minutes=5), last_failure=last)
    return {"value": value if value is not None else codec.encode(STORE, event),
            "key": event.key if event else b"raw-key", "headers": headers, "partition": 0}


def rows(servers: Any, schema: str) -> list[tuple[Any, ...]]:
    async def fetch() -> list[tuple[Any, ...]]:
        conn = await connect(servers.database_url, schema)
        try:
            return [tuple(r) for r in await conn.fetch(
                "SELECT dlq_offset, group_name, event_id, target_topic, target_offset, redriven_by,"
                " reason FROM dlq_redrives ORDER BY dlq_topic, dlq_offset")]
        finally:
            await conn.close()
    return asyncio.run(fetch())


def test_list_show_and_redrive_once(servers, topic_prefix, db_schema, tmp_path, monkeypatch,
                                    capsys) -> None:
    bootstrap = servers.kafka_bootstrap
    topics = Topics(topic_prefix)
    dlq, retry = topics.dlq("payments"), topics.retry("payments", "30s")
    ensure_topics(bootstrap, [dlq, retry, topics.retry("payments", "5m"), topics.name("payments"),
                              topics.outcomes], partitions=1)
    a = example_event("payment.intent_requested", id=ID_A, subject="inv_7")
    b = example_event("payment.refund_requested", id=ID_B, subject="inv_8")
    produce(bootstrap, dlq, [dead_letter(topics, a, 10, NOW - timedelta(hours=3)),
                             dead_letter(topics, b, 11, NOW - timedelta(minutes=10)),
                             dead_letter(topics, a, 12, NOW - timedelta(minutes=2))])
    hub_env(monkeypatch, servers, tmp_path, topic_prefix, db_schema)
    hub = Hub(capsys)
    group = topics.group("payments")

    listed = hub("dlq", "list", "--json")
    assert listed.code == 0
    assert [d["ref"] for d in listed.json()] == [f"{dlq}:0:0", f"{dlq}:0:1", f"{dlq}:0:2"]
    assert listed.json()[1] == {
        "ref": f"{dlq}:0:1", "group": group, "integration": "payments",
        "original": f"{topics.name('payments')}:0:11", "error_class": "PermanentError",
        "error_message": "provider answered 400: amount must be positive", "attempts": 4,
        "first_failure": rfc3339(NOW - timedelta(minutes=15)),
        "last_failure": rfc3339(NOW - timedelta(minutes=10)), "event_id": ID_B,
        "event_type": "payment.refund_requested", "redriven": False}
    assert [d["ref"] for d in hub("dlq", "list", "--json", "--since", "1h").json()] == [
        f"{dlq}:0:1", f"{dlq}:0:2"]
    assert [d["event_id"] for d in hub("dlq", "list", "--json", "--type", "payment.refund_*",
                                       "--group", "payments").json()] == [ID_B]
    text = hub("dlq", "list").out.splitlines()
    assert text[0].split() == ["EVENT_ID", "TYPE", "GROUP", "ATTEMPTS", "FAILED_AT", "ERROR",
                               "REDRIVEN", "DEAD_LETTER"]
    assert text[2].split() == [ID_B, "payment.refund_requested", group, "4",
                               rfc3339(NOW - timedelta(minutes=10)), "PermanentError:",
                               "provider", "answered", "400:", "amount", "must", "be",
                               "pos...", "no", f"{dlq}:0:1"]
    assert text[-1] == "3 dead letters, 0 redriven"

    shown = hub("dlq", "show", ID_B, "--json").json()
    assert shown["event"]["data"] == {"payment_id": "pi_3Pq2", "invoice_id": "inv_1001",
                                      "amount_minor": 250, "currency": "USD",
                                      "reason": "requested_by_customer"}
    assert (shown["event"]["id"], shown["key"], shown["attempts"]) == (ID_B, "inv_8", 4)
    by_ref = hub("dlq", "show", f"{dlq}:0:1").out.splitlines()
    assert by_ref[:4] == [f"dead letter {dlq}:0:1", f"  group          {group}",
                          f"  original       {topics.name('payments')}:0:11",
                          "  error class    PermanentError"]
    assert "  redriven       no" in by_ref and '    "type": "payment.refund_requested",' in by_ref
    missing = hub("dlq", "show", "nope")
    assert (missing.code, missing.err) == (1, "hub: no dead letter with id 'nope' (an event id, or "
                                              "<dlq topic>:<partition>:<offset>; see `hub dlq list`)\n")

    dry = hub("dlq", "redrive", "--dry-run", "--json")
    assert [(r["ref"], r["action"], r["target"]) for r in dry.json()] == [
        (f"{dlq}:0:0", "would redrive", retry), (f"{dlq}:0:1", "would redrive", retry),
        (f"{dlq}:0:2", "same event", retry)]
    assert hub("dlq", "redrive", "--dry-run").out.splitlines()[-1] == (
        "dry run: would redrive 2, same event 1; nothing was sent")
    assert rows(servers, db_schema) == []

    done = hub("dlq", "redrive", "--reason", "provider fixed", "--by", "ada")
    assert done.code == 0 and done.out.splitlines()[-1] == "redriven 2, same event 1"
    copies = read_topic(bootstrap, retry, expect=2)
    assert [(c.key, c.value, c.event.id) for c in copies] == [
        (b"inv_7", codec.encode(STORE, a), ID_A), (b"inv_8", codec.encode(STORE, b), ID_B)]
    heads = copies[0].headers
    assert {k: v for k, v in heads.items() if not k.startswith("hub_")} == dict(a.headers())
    assert sorted(k for k in heads if k.startswith("hub_")) == [
        "hub_attempts", "hub_first_failure", "hub_group", "hub_original_offset",
        "hub_original_partition", "hub_original_topic", "hub_redriven_at", "hub_redriven_by",
        "hub_redriven_from"]
    assert (heads["hub_redriven_from"], heads["hub_redriven_by"], heads["hub_original_offset"]) == (
        f"{dlq}:0:0".encode(), b"ada", b"10")
    [audit_a, audit_b] = read_topic(bootstrap, topics.outcomes, expect=2)
    assert audit_b.event.type == "dlq.redriven" and audit_b.key == b"inv_8"
    assert (audit_b.event.causation_id, audit_b.event.correlation_id) == (ID_B, b.correlation_id)
    assert {k: v for k, v in audit_b.event.data.items() if k != "redriven_at"} == {
        "group": group, "original_topic": topics.name("payments"), "original_partition": 0,
        "original_offset": 11, "event_id": ID_B, "event_type": "payment.refund_requested",
        "redriven_by": "ada", "reason": "provider fixed", "dlq_topic": dlq, "dlq_partition": 0,
        "dlq_offset": 1, "target_topic": retry, "target_partition": 0, "target_offset": 1,
        "error_class": "PermanentError", "attempts": 4}
    assert rows(servers, db_schema) == [
        (0, group, ID_A, retry, 0, "ada", "provider fixed"),
        (1, group, ID_B, retry, 1, "ada", "provider fixed"),
        (2, group, ID_A, retry, 0, "ada", "provider fixed")]

    again = hub("dlq", "redrive", "--json")
    assert [r["action"] for r in again.json()] == ["already redriven"] * 3
    assert [r["landed"] for r in again.json()] == [f"{retry}:0:0", f"{retry}:0:1", f"{retry}:0:0"]
    assert len(read_topic(bootstrap, retry)) == 2 and len(read_topic(bootstrap, topics.outcomes)) == 2
    assert hub("dlq", "list").out.splitlines()[-1] == "3 dead letters, 3 redriven"
    assert hub("dlq", "list", "--json").json()[0]["redriven"]["to"] == f"{retry}:0:0"


def test_a_group_without_retry_topics_needs_to_original(servers, topic_prefix, db_schema, tmp_path,
                                                       monkeypatch, capsys) -> None:
    bootstrap = servers.kafka_bootstrap
    topics = Topics(topic_prefix)
    dlq, original = topics.dlq("sms"), topics.name("sms")
    ensure_topics(bootstrap, [dlq, original, topics.outcomes], partitions=1)
    produce(bootstrap, dlq, [dead_letter(topics, None, 4, NOW, value=b"not avro", name="sms")])
    hub_env(monkeypatch, servers, tmp_path, topic_prefix, db_schema)
    hub = Hub(capsys)

    refused = hub("dlq", "redrive", "--group", "sms")
    assert refused.code == 2
    assert refused.err.startswith(f"hub: no retry topic for sms (looked for "
                                  f"{topic_prefix}hub.retry.<integration>.<delay>); pass --to-original")
    assert hub("dlq", "list", "--group", "nosuch").err == (
        f"hub: no dead-letter topic for group 'nosuch' (looked for {topic_prefix}hub.dlq.nosuch)\n")

    done = hub("dlq", "redrive", "--group", f"{topic_prefix}hub.sms", "--to-original", "--json")
    assert [(r["action"], r["event_id"], r["landed"]) for r in done.json()] == [
        ("redriven", None, f"{original}:0:0")]
    [copy] = read_raw(bootstrap, original)
    assert (copy.key, copy.value) == (b"raw-key", b"not avro")
    assert [k for k, _ in copy.headers] == ["hub_redriven_from", "hub_redriven_at", "hub_redriven_by"]
    [audit] = read_topic(bootstrap, topics.outcomes, expect=1)
    assert (audit.event.data["event_id"], audit.event.data["event_type"], audit.event.subject) == (
        None, None, "raw-key")
    assert (audit.event.data["error_class"], audit.event.data["target_topic"]) == (
        "DecodeError", original)

