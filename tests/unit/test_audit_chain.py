"""The audit hash chain: hashing is canonical, and verify names the first broken link."""
from __future__ import annotations

import hashlib
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from projections.audit_chain import (
    GENESIS,
    Break,
    Entry,
    Head,
    StoredRow,
    canonical,
    link_hash,
    verify_chain,
)

pytestmark = pytest.mark.unit

T0 = datetime(2025, 3, 14, 9, 26, 53, 589793, tzinfo=UTC)


def entry(seq: int) -> Entry:
    return Entry(topic="hub.payments", partition=1, seq=seq, offset=10 + seq,
                 event_id=f"00000000-0000-4000-8000-{seq:012d}", event_type="payment.succeeded",
                 kind="event", source="/providers/stripe", subject="INV-1", refs=("pi_1",),
                 event_time=T0 + timedelta(seconds=seq), correlation_id="c", causation_id=None,
                 payload_sha256="a" * 64, record_sha256="b" * 64, amount_minor=1250,
                 currency="EUR", status=None, summary="payment.succeeded by stripe")


def chain(n: int) -> list[StoredRow]:
    rows, prev = [], GENESIS
    for seq in range(1, n + 1):
        e = entry(seq)
        h = link_hash(prev, e)
        rows.append(StoredRow(100 + seq, e, prev, h))
        prev = h
    return rows


def head(rows: list[StoredRow]) -> Head:
    return Head(rows[-1].entry.seq, rows[-1].hash)


def test_hash_is_sha256_of_prev_and_sorted_compact_json() -> None:
    e = entry(1)
    text = canonical(e).decode()
    assert text.startswith('{"amount_minor":1250,"causation_id":null,"correlation_id":"c",')
    assert '"event_time":"2025-03-14T09:26:54.589793Z"' in text
    assert '"refs":["pi_1"]' in text
    assert link_hash(GENESIS, e) == hashlib.sha256(
        GENESIS.encode() + b"\n" + canonical(e)).hexdigest()


def test_time_in_another_zone_hashes_the_same() -> None:
    e = entry(1)
    other = replace(e, event_time=e.event_time.astimezone(datetime.now().astimezone().tzinfo))
    assert link_hash(GENESIS, other) == link_hash(GENESIS, e)


def test_intact_chain() -> None:
    rows = chain(5)
    assert verify_chain("hub.payments", 1, rows, head(rows)) is None
    assert verify_chain("hub.payments", 1, [], None) is None


def test_altered_row_is_named() -> None:
    rows = chain(5)
    bad = replace(rows[2], entry=replace(rows[2].entry, amount_minor=99))
    found = verify_chain("hub.payments", 1, [*rows[:2], bad, *rows[3:]], head(rows))
    assert found == Break("hub.payments", 1, 3, 103, rows[2].entry.event_id, "altered",
                          "the row's content does not match its hash")
    assert found.describe().startswith(
        "hub.payments[1] seq 3 (row_id 103, event 00000000-0000-4000-8000-000000000003): altered:")


def test_altered_and_rehashed_row_breaks_the_next_link() -> None:
    rows = chain(5)
    forged = replace(rows[1].entry, amount_minor=1)
    rehashed = StoredRow(102, forged, rows[1].prev_hash, link_hash(rows[1].prev_hash, forged))
    found = verify_chain("hub.payments", 1, [rows[0], rehashed, *rows[2:]], head(rows))
    assert found is not None
    assert (found.seq, found.row_id, found.problem) == (3, 103, "altered")
    assert "prev_hash does not match the hash of seq 2" in found.detail


def test_deleted_row_is_named() -> None:
    rows = chain(5)
    found = verify_chain("hub.payments", 1, [*rows[:2], *rows[3:]], head(rows))
    assert found == Break("hub.payments", 1, 3, 104, rows[3].entry.event_id, "deleted",
                          "seq 3 missing before this row")


def test_deleted_last_rows_are_caught_by_the_head() -> None:
    rows = chain(5)
    found = verify_chain("hub.payments", 1, rows[:3], head(rows))
    assert found == Break("hub.payments", 1, 4, None, None, "deleted",
                          "the chain ends at seq 3 but its head says 5")


def test_inserted_duplicate_seq_is_named() -> None:
    rows = chain(5)
    copy = StoredRow(999, rows[2].entry, rows[2].prev_hash, rows[2].hash)
    found = verify_chain("hub.payments", 1, [*rows[:3], copy, *rows[3:]], head(rows))
    assert found == Break("hub.payments", 1, 3, 999, rows[2].entry.event_id, "inserted",
                          "a second row with seq 3")


def test_forged_row_appended_after_the_head_is_named() -> None:
    rows = chain(5)
    extra = replace(entry(6), summary="forged")
    forged = StoredRow(555, extra, rows[-1].hash, link_hash(rows[-1].hash, extra))
    found = verify_chain("hub.payments", 1, [*rows, forged], head(rows))
    assert found == Break("hub.payments", 1, 6, 555, extra.event_id, "inserted",
                          "the chain head ends at seq 5")


def test_rows_without_head() -> None:
    found = verify_chain("hub.payments", 1, chain(2), None)
    assert found is not None and (found.problem, found.detail) == (
        "inserted", "rows without a chain head")
