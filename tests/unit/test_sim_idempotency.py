"""The simulators' Stripe-like idempotency store and their call log."""
from __future__ import annotations

import pytest

from hub.simulators.calllog import CallLog
from hub.simulators.idempotency import IdempotencyStore, SavedAnswer, fingerprint

pytestmark = pytest.mark.unit

PARAMS = {"amount": 1000, "currency": "eur", "metadata": {"invoice_id": "INV-1"}}


def test_first_use_reserves_then_replays_the_saved_answer() -> None:
    store = IdempotencyStore()
    digest = fingerprint("POST", "/v1/payment_intents", PARAMS)
    assert store.begin("k", digest).verdict == "new"
    assert store.begin("k", digest).verdict == "in_flight"
    store.save("k", SavedAnswer(200, b'{"id":"pi_1"}'))
    lookup = store.begin("k", digest)
    assert (lookup.verdict, lookup.saved) == ("replay", SavedAnswer(200, b'{"id":"pi_1"}'))


def test_other_parameters_or_path_are_a_mismatch() -> None:
    store = IdempotencyStore()
    store.begin("k", fingerprint("POST", "/v1/payment_intents", PARAMS))
    store.save("k", SavedAnswer(200, b"{}"))
    changed = {**PARAMS, "amount": 1001}
    assert store.begin("k", fingerprint("POST", "/v1/payment_intents", changed)).verdict == (
        "mismatch")
    assert store.begin("k", fingerprint("POST", "/v1/refunds", PARAMS)).verdict == "mismatch"


def test_unsaved_reservation_is_released_saved_one_is_kept() -> None:
    store = IdempotencyStore()
    digest = fingerprint("POST", "/x", PARAMS)
    store.begin("a", digest)
    store.release_unsaved("a")
    assert store.begin("a", digest).verdict == "new"
    store.save("a", SavedAnswer(201, b"{}"))
    store.release_unsaved("a")
    assert store.begin("a", digest).verdict == "replay"


def test_form_and_json_spellings_of_the_same_parameters_match() -> None:
    form = {"amount": "1000", "confirm": "true", "metadata": {"invoice_id": "INV-1"}}
    json = {"confirm": True, "metadata": {"invoice_id": "INV-1"}, "amount": 1000}
    assert fingerprint("POST", "/p", form) == fingerprint("POST", "/p", json)


def test_call_log_pages_by_sequence_and_counts_effects() -> None:
    log = CallLog("payments")
    for i in range(5):
        log.record("in", "POST", "/v1/payment_intents", 200,
                   effect="charge" if i % 2 == 0 else None)
    assert [c.seq for c in log.since(0, 100)] == [1, 2, 3, 4, 5]
    assert [c.seq for c in log.since(3, 100)] == [4, 5]
    assert [c.seq for c in log.since(1, 2)] == [2, 3]
    assert log.since(5, 100) == []
    assert [c.seq for c in log.effects("charge")] == [1, 3, 5]
    assert log.effect_counts() == {"charge": 3}
    log.clear()
    assert (len(log), log.last_seq, log.effect_counts()) == (0, 0, {})


def test_call_log_drops_the_oldest_beyond_its_cap() -> None:
    log = CallLog("sms", cap=3)
    for _ in range(5):
        log.record("in", "POST", "/m", 201)
    assert [c.seq for c in log.since(0, 10)] == [3, 4, 5]
    assert [c.seq for c in log.since(3, 10)] == [4, 5]
