"""General-ledger journals: the accounts each kind hits, balance, and amount formatting."""
from __future__ import annotations

from datetime import date

import pytest

from projections.gl import Accounts, JournalLine, journal, major, render_csv, unbalanced

pytestmark = pytest.mark.unit

D = date(2025, 3, 31)


def test_each_kind_debits_and_credits_the_right_accounts() -> None:
    assert journal("invoice", "invoice:I1", D, 12345, "EUR") == [
        JournalLine(D, "1100", 12345, 0, "EUR", "invoice:I1"),
        JournalLine(D, "4000", 0, 12345, "EUR", "invoice:I1")]
    assert [(x.account, x.debit_minor, x.credit_minor) for x in
            journal("payment", "payment:stripe:P1", D, 500, "USD")] == [
        ("1000", 500, 0), ("1100", 0, 500)]
    assert [(x.account, x.debit_minor, x.credit_minor) for x in
            journal("refund", "refund:stripe:R1", D, 200, "USD", Accounts("AR", "REV", "BANK"))
            ] == [("AR", 200, 0), ("BANK", 0, 200)]


def test_unbalanced_names_the_reference() -> None:
    lines = journal("invoice", "invoice:I1", D, 100, "EUR") + [
        JournalLine(D, "1100", 5, 0, "EUR", "invoice:I2"),
        JournalLine(D, "4000", 0, 5, "USD", "invoice:I2")]
    assert unbalanced(lines) == ["invoice:I2"]
    assert unbalanced(journal("payment", "p", D, 7, "JPY")) == []


def test_amounts_in_major_units() -> None:
    assert major(123450, "EUR") == "1234.50"
    assert major(5, "USD") == "0.05"
    assert major(1500, "JPY") == "1500"
    assert major(1250, "KWD") == "1.250"


def test_csv() -> None:
    text = render_csv(journal("invoice", "invoice:I1", D, 12345, "EUR"))
    assert text == ("date,account,debit,credit,currency,reference\n"
                    "2025-03-31,1100,123.45,,EUR,invoice:I1\n"
                    "2025-03-31,4000,,123.45,EUR,invoice:I1\n")
