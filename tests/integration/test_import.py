"""`hub import` with messy files against the real broker and database: rejects with
reasons, a second import publishing nothing, a broker failure mid-file reported row by row."""
from __future__ import annotations

import asyncio
import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.db import create_pool
from hub.ids import derived_id
from hub.legacy.importer import import_file
from hub.producer import Delivered, HubProducer, ProduceError, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections import reconciliation_report as report
from projections.rebuild import rebuild
from projections.reconciliation import ReconciliationProjection
from tests.history import hub_env, make_topics, run_hub
from tests.stack import read_topic

pytestmark = pytest.mark.integration

INVOICES = """\
Invoice ID , Customer ID,Amount,Currency,Issued At,Due At
 L-1 ,C1," 1,234.50 ",eur,2024-03-01,2024-03-31
L-2,C2,"1.000,00",EUR,01.03.2024,
L-3,C3,500,jpy,2024-03-02T09:00:00+09:00,
L-4,C4,12.345,EUR,2024-03-01,
L-5,C5,100,EUR,2023-02-29,
L-6,C6,-20,USD,2024-03-01,
,C7,10,USD,2024-03-01,
L-8,C8,10,DOLLARS,2024-03-01,
L-9,C9,10,USD,03/04/2024,
L-1,C1,1234.50,EUR,2024-03-01,
L-10,C10,99.99,usd,2024-03-05,2024-03-01
L-11,C11,"$1,000",USD,2024-03-05,
"""
PAYMENTS = """\
payment_id,invoice_id,amount,currency,paid_at
P-1,L-1,1234.50,EUR,2024-03-10
P-2,L-2,400,EUR,2024-03-11
P-3,,75,GBP,2024-03-12
P-4,L-3,0,JPY,2024-03-12
"""
REASONS = [
    ("5", "amount '12.345' is not a whole number of EUR minor units (EUR has 2 decimal places)"),
    ("6", "issued_at '2023-02-29' is not a real date (day is out of range for month)"),
    ("7", "amount '-20' is negative"),
    ("8", "invoice_id is empty"),
    ("9", "currency 'DOLLARS' is not a 3-letter ISO 4217 code like EUR"),
    ("10", "issued_at '03/04/2024' is ambiguous (day/month or month/day?); use YYYY-MM-DD"),
    ("11", "invoice_id 'L-1' already on line 2 of this file"),
    ("12", "due_at 2024-03-01 is before issued_at 2024-03-05"),
]


class FlakyBroker:
    """Acknowledges the first `ok` records through the real producer, then fails."""

    def __init__(self, real: HubProducer, ok: int) -> None:
        self.real, self.left = real, ok

    async def produce(self, topic: str, value: bytes, *, key: bytes | None = None,
                      headers: Sequence[tuple[str, bytes]] | None = None) -> Delivered:
        self.left -= 1
        if self.left < 0:
            await asyncio.sleep(0.01)
            raise ProduceError(f"{topic}: broker did not acknowledge the record: Local: "
                               "Message timed out")
        return await self.real.produce(topic, value, key=key, headers=headers)


async def test_import_messy_files_twice(servers, topic_prefix, db_schema, tmp_path: Path) -> None:
    topics = Topics(topic_prefix)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, topics)
    env = hub_env(servers, topic_prefix, db_schema, tmp_path)
    (tmp_path / "invoices.csv").write_text(INVOICES)
    (tmp_path / "payments.csv").write_text(PAYMENTS)

    first = await asyncio.to_thread(run_hub, ["import", str(tmp_path / "invoices.csv"),
                                              "--type", "invoices"], env)
    assert first.returncode == 0, first.stderr
    rejects = tmp_path / "invoices.csv.rejects.csv"
    assert first.stdout.splitlines() == [
        f"invoices from {tmp_path / 'invoices.csv'}: read 12, published 4, already present 0, "
        f"rejected 8 (reasons in {rejects})"]
    rows = list(csv.reader(io.StringIO(rejects.read_text())))
    assert rows[0] == ["line", "reason", "Invoice ID ", " Customer ID", "Amount", "Currency",
                       "Issued At", "Due At"]
    assert [(r[0], r[1]) for r in rows[1:]] == REASONS
    assert rows[2][2:] == ["L-5", "C5", "100", "EUR", "2023-02-29", ""]

    again = await asyncio.to_thread(run_hub, ["import", str(tmp_path / "invoices.csv"),
                                              "--type", "invoices", "--rejects",
                                              str(tmp_path / "r2.csv")], env)
    assert again.returncode == 0, again.stderr
    assert "read 12, published 0, already present 4, rejected 8" in again.stdout
    assert (tmp_path / "r2.csv").read_text() == rejects.read_text()
    records = await asyncio.to_thread(read_topic, servers.kafka_bootstrap,
                                      topics.for_type("invoice.issued"))
    assert sorted(r.event.subject for r in records) == ["L-1", "L-11", "L-2", "L-3"]
    by_id = {r.event.subject: r.event for r in records}
    assert by_id["L-1"].id == derived_id("legacy", "invoices", "L-1")
    assert (by_id["L-1"].data["amount_minor"], by_id["L-1"].data["currency"]) == (123450, "EUR")
    assert (by_id["L-2"].data["amount_minor"], by_id["L-3"].data["amount_minor"]) == (100000, 500)
    assert by_id["L-3"].data["issued_at"] == datetime(2024, 3, 2, tzinfo=UTC)
    assert by_id["L-11"].data["amount_minor"] == 100000

    (tmp_path / "customers.csv").write_text(
        "customer_id,name,email,phone,country\nC1, Ada  Lovelace ,ADA@EXAMPLE.COM,+44 20 7946 0958,gb\n"
        "C2,Bob,,555-0100,US\n")
    people = await asyncio.to_thread(run_hub, ["import", str(tmp_path / "customers.csv"),
                                               "--type", "customers"], env)
    assert "read 2, published 1, already present 0, rejected 1" in people.stdout, people.stderr
    [customer] = [r.event for r in await asyncio.to_thread(
        read_topic, servers.kafka_bootstrap, topics.for_type("customer.imported"))
        if r.event.type == "customer.imported"]
    assert (customer.id, customer.subject, customer.data) == (
        derived_id("legacy", "customers", "C1"), "C1",
        {"customer_id": "C1", "name": "Ada Lovelace", "email": "ADA@example.com",
         "phone": "+442079460958", "country": "GB", "legacy_system": "legacy"})

    # Payments: the broker fails after two acknowledgements; the summary says which rows.
    pool = await create_pool(servers.database_url, db_schema, min_size=1, max_size=2)
    real = HubProducer(producer_config(servers.kafka_bootstrap))
    path = tmp_path / "payments.csv"
    try:
        args = dict(pool=pool, schemas=SchemaStore.load(), topics=topics,
                    rejects_path=tmp_path / "p.rejects.csv", now=datetime.now(UTC), chunk=2)
        broken = await import_file(path, "payments", publisher=FlakyBroker(real, 2), **args)
        assert broken.summary().splitlines() == [
            f"payments from {path}: read 4, published 2, already present 0, rejected 1 "
            f"(reasons in {tmp_path / 'p.rejects.csv'})",
            "STOPPED: ProduceError: hub.payments: broker did not acknowledge the record: Local: "
            "Message timed out".replace("hub.payments", topics.for_type("payment.succeeded")),
            "published before the failure: lines 2-3",
            "not published: lines 4; run the same command again: published rows are skipped"]
        fixed = await import_file(path, "payments", publisher=real, **args)
        assert (fixed.published, fixed.already, fixed.error) == ([4], [2, 3], None)
        projection = ReconciliationProjection()
        await rebuild(projection, pool=pool, producer=real, schemas=SchemaStore.load(),
                      topics=topics, bootstrap=servers.kafka_bootstrap)
        async with pool.acquire() as conn:
            lines = await report.read(conn, datetime(2024, 3, 20, tzinfo=UTC))
    finally:
        await asyncio.to_thread(real.close, 5)
        await pool.close()
    assert {line.facts.subject: line.status for line in lines} == {
        "L-1": "paid_not_posted", "L-2": "partially_paid", "L-3": "unpaid", "L-11": "unpaid",
        "P-3": "orphan_payment"}
