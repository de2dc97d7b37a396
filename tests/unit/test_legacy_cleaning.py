"""Cleaning legacy CSV values and rows: what is fixed, what is refused and why."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.ids import derived_id
from hub.legacy import cleaning as clean
from hub.legacy.importer import line_ranges, read_rows
from hub.legacy.rows import Clean, Reject, clean_row, header_map, to_event

pytestmark = pytest.mark.unit

NOW = datetime(2025, 6, 1, tzinfo=UTC)


@pytest.mark.parametrize(("raw", "code", "minor"), [
    ("12.50", "EUR", 1250), (" 12.5 ", "EUR", 1250), ("1,234.56", "USD", 123456),
    ("1.234,56", "EUR", 123456), ("12,50", "EUR", 1250), ("€12.50", "EUR", 1250),
    ("EUR 7", "EUR", 700), ("US$1,000", "USD", 100000), ("1 234.00", "EUR", 123400),
    ("1500", "JPY", 1500), ("1.250", "KWD", 1250), ("0", "EUR", 0), ("1,234", "USD", 123400),
])
def test_amounts_become_minor_units(raw: str, code: str, minor: int) -> None:
    assert clean.amount_minor(raw, code) == minor


@pytest.mark.parametrize(("raw", "code", "reason"), [
    ("-5.00", "EUR", "amount '-5.00' is negative"),
    ("(5.00)", "EUR", "amount '(5.00)' is negative"),
    ("12.345", "EUR", "amount '12.345' is not a whole number of EUR minor units"),
    ("10.5", "JPY", "amount '10.5' is not a whole number of JPY minor units"),
    ("1e3", "EUR", "amount '1e3' is not a plain decimal number"),
    ("", "EUR", "amount is empty"),
    ("twelve", "EUR", "amount 'twelve' is not a plain decimal number"),
])
def test_bad_amounts_are_refused(raw: str, code: str, reason: str) -> None:
    with pytest.raises(clean.Invalid) as info:
        clean.amount_minor(raw, code)
    assert str(info.value).startswith(reason)


@pytest.mark.parametrize(("raw", "code"), [("usd", "USD"), (" eur ", "EUR"), ("€", "EUR"),
                                           ("£", "GBP"), ("Jpy", "JPY")])
def test_currencies(raw: str, code: str) -> None:
    assert clean.currency(raw) == code


def test_bad_currency() -> None:
    with pytest.raises(clean.Invalid, match="currency 'EURO' is not a 3-letter ISO 4217 code"):
        clean.currency("EURO")


@pytest.mark.parametrize(("raw", "when"), [
    ("2024-03-01", datetime(2024, 3, 1, tzinfo=UTC)),
    (" 2024/3/1 ", datetime(2024, 3, 1, tzinfo=UTC)),
    ("01.03.2024", datetime(2024, 3, 1, tzinfo=UTC)),
    ("2024-02-29", datetime(2024, 2, 29, tzinfo=UTC)),
    ("2024-03-01T10:00:00+01:00", datetime(2024, 3, 1, 9, tzinfo=UTC)),
    ("2024-03-01T10:00:00Z", datetime(2024, 3, 1, 10, tzinfo=UTC)),
])
def test_dates(raw: str, when: datetime) -> None:
    assert clean.timestamp(raw, "issued_at") == when


@pytest.mark.parametrize(("raw", "reason"), [
    ("2023-02-29", "issued_at '2023-02-29' is not a real date (day is out of range for month)"),
    ("2024-13-01", "issued_at '2024-13-01' is not a real date (month must be in 1..12)"),
    ("31.04.2024", "issued_at '31.04.2024' is not a real date (day is out of range for month)"),
    ("03/01/2024", "issued_at '03/01/2024' is ambiguous (day/month or month/day?); use YYYY-MM-DD"),
    ("1899-12-31", "issued_at '1899-12-31' is before 1900"),
    ("2024-03-01T10:00:00", "issued_at '2024-03-01T10:00:00' has a time but no UTC offset"),
    ("", "issued_at is empty"),
])
def test_impossible_dates_are_refused(raw: str, reason: str) -> None:
    with pytest.raises(clean.Invalid) as info:
        clean.timestamp(raw, "issued_at")
    assert str(info.value).startswith(reason)


def test_contacts() -> None:
    assert clean.email(" Ada@Example.COM ") == "Ada@example.com"
    assert clean.email("") is None
    assert clean.phone("+1 (555) 123-4567") == "+15551234567"
    assert clean.phone("0044 20 7946 0958") == "+442079460958"
    assert clean.country(" de ") == "DE"
    assert clean.name("  Ada \u00a0 Lovelace ") == "Ada Lovelace"
    with pytest.raises(clean.Invalid, match="has no country code"):
        clean.phone("555 123 4567")
    with pytest.raises(clean.Invalid, match="is not an e-mail address"):
        clean.email("ada at example.com")


def test_header_is_matched_loosely_and_missing_columns_are_named() -> None:
    assert header_map("payments", ["Payment ID", "amount", "Currency", "paid-at"]) == {
        "payment_id": "Payment ID", "amount": "amount", "currency": "Currency",
        "paid_at": "paid-at"}
    with pytest.raises(ValueError, match="missing column.s. currency, issued_at for --type invoices"):
        header_map("invoices", ["invoice_id", "customer_id", "amount"])


def test_invoice_row_becomes_an_event_with_a_derived_id() -> None:
    cols = header_map("invoices", ["invoice_id", "customer_id", "amount", "currency", "issued_at",
                                   "due_at"])
    raw = {"invoice_id": " L-1 ", "customer_id": "C9", "amount": "1.234,50", "currency": "eur",
           "issued_at": "2024-03-01", "due_at": ""}
    row = clean_row("invoices", 2, raw, cols, NOW)
    assert isinstance(row, Clean)
    event = to_event("invoices", row, NOW)
    assert event.id == derived_id("legacy", "invoices", "L-1")
    assert (event.type, event.source, event.subject, event.time) == (
        "invoice.issued", "/legacy/import", "L-1", datetime(2024, 3, 1, tzinfo=UTC))
    assert event.data == {"invoice_id": "L-1", "customer_id": "C9", "amount_minor": 123450,
                          "currency": "EUR", "issued_at": datetime(2024, 3, 1, tzinfo=UTC),
                          "due_at": None, "lines": []}


def test_row_rules() -> None:
    cols = header_map("payments", ["payment_id", "invoice_id", "amount", "currency", "paid_at"])
    base = {"payment_id": "P1", "invoice_id": "", "amount": "10", "currency": "USD",
            "paid_at": "2025-05-01"}
    ok = clean_row("payments", 3, base, cols, NOW)
    assert isinstance(ok, Clean) and (ok.subject, ok.data["provider"]) == ("P1", "legacy")
    assert clean_row("payments", 3, {**base, "amount": "0"}, cols, NOW) == Reject(
        3, "amount is 0; a payment moves money", {**base, "amount": "0"})
    future = clean_row("payments", 4, {**base, "paid_at": "2025-07-01"}, cols, NOW)
    assert isinstance(future, Reject) and future.reason == "paid_at 2025-07-01 is in the future"
    inv = header_map("invoices", ["invoice_id", "customer_id", "amount", "currency", "issued_at",
                                  "due_at"])
    early = clean_row("invoices", 5, {"invoice_id": "I", "customer_id": "C", "amount": "1",
                                      "currency": "EUR", "issued_at": "2025-03-02",
                                      "due_at": "2025-03-01"}, inv, NOW)
    assert isinstance(early, Reject)
    assert early.reason == "due_at 2025-03-01 is before issued_at 2025-03-02"


def test_file_duplicates_blank_lines_and_extra_values(tmp_path: Path) -> None:
    path = tmp_path / "c.csv"
    path.write_text("\ufeffcustomer_id,name,email\nC1,Ada,\n,,\nC1,Ada again,\nC2,Bob,b@x.io,extra\n")
    header, rows = read_rows(path, "customers", NOW)
    assert header == ["customer_id", "name", "email"]
    assert [(r.line, r.reason) for r in rows if isinstance(r, Reject)] == [
        (4, "customer_id 'C1' already on line 2 of this file"),
        (5, "1 more value(s) than the header has")]
    assert [r.line for r in rows if isinstance(r, Clean)] == [2]


def test_line_ranges() -> None:
    assert line_ranges([7, 2, 3, 4, 9, 10]) == "2-4, 7, 9-10"
    assert line_ranges([]) == "none"
