"""`hub export gl` over a generated history: every journal balances, and the journals are
exactly the invoices, confirmed payments and refunds of the date range."""
from __future__ import annotations

import asyncio
import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime
from decimal import Decimal
from pathlib import Path

import pytest

from hub.db import create_pool
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections.gl import major
from projections.rebuild import rebuild
from projections.reconciliation import ReconciliationProjection
from projections.reconciliation_rules import confirms_payment
from projections.synthetic import HistoryGen
from tests.history import hub_env, make_topics, produce, run_hub

pytestmark = pytest.mark.integration

NOW = datetime(2025, 4, 10, 12, 0, tzinfo=UTC)
FROM, TO = date(2025, 4, 9), date(2025, 4, 9)


def _day(value: datetime) -> date:
    return value.astimezone(UTC).date()


async def test_gl_export_is_balanced(servers, topic_prefix, db_schema, tmp_path: Path) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, topics)
    gen = HistoryGen(seed=5, now=NOW, run="g")
    events = [e for c in gen.chunks(400) for e in c]
    await asyncio.to_thread(produce, servers.kafka_bootstrap, topics, events)
    pool = await create_pool(servers.database_url, db_schema, min_size=1, max_size=2)
    producer = HubProducer(producer_config(servers.kafka_bootstrap))
    try:
        await rebuild(ReconciliationProjection(), pool=pool, producer=producer,
                      schemas=SchemaStore.load(), topics=topics, bootstrap=servers.kafka_bootstrap)
    finally:
        await asyncio.to_thread(producer.close, 5)
        await pool.close()

    expected: dict[str, tuple[int, str]] = {}
    for e in events:
        d = e.data
        if e.type == "invoice.issued" and _day(d["issued_at"]) == FROM:
            expected[f"invoice:{d['invoice_id']}"] = (d["amount_minor"], d["currency"])
        elif (e.type == "payment.succeeded" and confirms_payment(e.source)
              and _day(d["occurred_at"]) == FROM):
            expected[f"payment:stripe:{d['payment_id']}"] = (d["amount_minor"], d["currency"])
        elif e.type == "payment.refunded" and _day(d["occurred_at"]) == FROM:
            expected[f"refund:stripe:{d['refund_id']}"] = (d["amount_minor"], d["currency"])
    assert {k.split(":")[0] for k in expected} == {"invoice", "payment", "refund"}

    env = hub_env(servers, topic_prefix, db_schema, tmp_path)
    out = tmp_path / "gl.csv"
    done = await asyncio.to_thread(run_hub, ["export", "gl", "--from", FROM.isoformat(), "--to",
                                             TO.isoformat(), "--out", str(out)], env)
    assert done.returncode == 0, done.stderr
    rows = list(csv.DictReader(io.StringIO(out.read_text())))
    assert done.stderr.strip() == f"wrote {len(rows)} journal lines ({len(rows) // 2} journals) to {out}"
    assert list(rows[0]) == ["date", "account", "debit", "credit", "currency", "reference"]
    balance: dict[tuple[str, str], Decimal] = defaultdict(Decimal)
    debits: dict[str, tuple[str, str]] = {}
    for r in rows:
        assert r["date"] == FROM.isoformat()
        balance[(r["reference"], r["currency"])] += Decimal(r["debit"] or 0) - Decimal(r["credit"] or 0)
        if r["debit"]:
            debits[r["reference"]] = (r["debit"], r["currency"])
            assert r["account"] == {"invoice": "1100", "payment": "1000", "refund": "1100"}[
                r["reference"].split(":")[0]]
        else:
            assert r["account"] == {"invoice": "4000", "payment": "1100", "refund": "1000"}[
                r["reference"].split(":")[0]]
    assert all(v == 0 for v in balance.values())
    assert len(rows) == 2 * len(expected)
    assert debits == {ref: (major(a, c), c) for ref, (a, c) in expected.items()}

    empty = await asyncio.to_thread(run_hub, ["export", "gl", "--from", "2020-01-01", "--to",
                                              "2020-01-31", "--format", "json"], env)
    assert (empty.returncode, empty.stdout) == (0, "[]\n")
    wrong = await asyncio.to_thread(run_hub, ["export", "gl", "--from", "2025-04-09", "--to",
                                              "2025-04-01"], env)
    assert (wrong.returncode, wrong.stderr) == (2, "hub: --to 2025-04-01 is before --from 2025-04-09\n")
