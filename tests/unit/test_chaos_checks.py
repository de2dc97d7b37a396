"""The chaos suite's judges on hand-made evidence: they must catch a lost event, a doubled
or missing effect and a leaked secret, and accept a dead-lettered effect."""
from __future__ import annotations

import base64
from datetime import UTC, datetime
from typing import Any

import pytest

from chaos import checks, leaks
from chaos.client import Ack
from chaos.evidence import Evidence, LogIndex
from chaos.workload import Request, generate
from hub.envelope import Event
from hub.ids import derived_id

pytestmark = pytest.mark.unit

T = datetime(2026, 11, 22, tzinfo=UTC)


def event(type_: str, event_id: str, data: dict[str, Any]) -> Event:
    return Event(id=event_id, source="/tests", type=type_, time=T, schema_version=1,
                 correlation_id=event_id, payload_sha256="0" * 64, data=data)


def evidence(events: list[tuple[str, Event]], effects: dict[str, list[dict[str, Any]]],
             dead: list[dict[str, Any]] | None = None) -> Evidence:
    log = LogIndex(records=[])
    for topic, e in events:
        log.ids[topic].add(e.id)
        log.domain.append(e)
    return Evidence(log, effects, {}, dead or [])


def charge(invoice: str) -> dict[str, Any]:
    return {"effect": "charge", "client_reference": invoice, "body": {}}


def publish_ack(key: str, event_id: str, copy: int = 0) -> Ack:
    request = Request(0.0, "publish", f"invoice.issued {key}", "/events", b"{}", key,
                      "invoice.issued", copy=copy)
    return Ack(request, 202, {"event_id": event_id}, 1)


def test_effects_once_accepts_one_effect_per_needed_effect() -> None:
    intent = event("payment.intent_requested", "e1", {"invoice_id": "INV-1"})
    check, tally = checks.effects_once(evidence([("hub.payments", intent)],
                                                {"payments": [charge("INV-1")]}))
    assert check.ok, check.problems
    assert tally == {"once": 1}


def test_effects_once_names_a_doubled_and_a_missing_effect() -> None:
    first = event("payment.intent_requested", "e1", {"invoice_id": "INV-1"})
    second = event("payment.intent_requested", "e2", {"invoice_id": "INV-2"})
    check, tally = checks.effects_once(evidence(
        [("hub.payments", first), ("hub.payments", second)],
        {"payments": [charge("INV-1"), charge("INV-1")]}))
    assert not check.ok
    assert check.problems == [
        "payments charge INV-1: 2 effects (events ['e1'])",
        "payments charge INV-2: no effect and no dead letter (events ['e2'])",
    ]
    assert tally == {"doubled": 1, "missing": 1}


def test_effects_once_accepts_a_dead_letter_with_a_reason() -> None:
    sms = event("sms.requested", "s1", {"to": "+15550000001"})
    dead = [{"integration": "sms", "event_id": "s1", "error_message": "rejected (422)"}]
    check, tally = checks.effects_once(evidence([("hub.messaging", sms)], {"sms": []}, dead))
    assert check.ok, check.problems
    assert tally == {"dead-lettered": 1}


def test_effects_once_names_an_effect_nothing_needed() -> None:
    check, _ = checks.effects_once(evidence([], {"accounting": [
        {"effect": "journal", "client_reference": "pi_9", "body": {"reference": "pi_9"}}]}))
    assert check.problems == ["accounting journal pi_9: 1 effect(s) no event in the log needs"]


def test_a_payment_needs_a_journal_and_a_receipt() -> None:
    paid = event("payment.succeeded", "p1", {"payment_id": "pi_1", "invoice_id": "INV-1"})
    needed = checks.needed_effects(evidence([("hub.payments", paid)], {}))
    assert needed == {("accounting", "journal", "pi_1"): {"p1"}, ("email", "receipt", "pi_1"): {"p1"}}


def test_acknowledged_in_log_names_an_acknowledged_event_missing_from_the_log() -> None:
    present = event("invoice.issued", "a1", {"invoice_id": "INV-1"})
    acks = [publish_ack("k1", "a1"), publish_ack("k2", "a2")]
    check = checks.acknowledged_in_log(acks, evidence([("hub.accounting", present)], {}))
    assert not check.ok
    assert check.problems == ["invoice.issued k2 (key k2): event a2, acknowledged 202, "
                              "not on hub.accounting"]


def test_acknowledged_webhooks_are_found_by_their_derived_id() -> None:
    raw = derived_id("stripe", "evt_1")
    paid = derived_id("stripe", "evt_1", "payment.succeeded")
    request = Request(0.0, "webhook", "stripe evt_1", "/webhooks/stripe", b"{}",
                      event_type="payment_intent.succeeded", provider_event_id="evt_1")
    ack = Ack(request, 202, {"event_id": raw,
                             "events": [{"event_id": paid, "type": "payment.succeeded"}]}, 1)
    found = evidence([("hub.webhooks", event("webhook.received", raw, {}))], {})
    check = checks.acknowledged_in_log([ack], found)
    assert check.problems == [f"stripe evt_1: payment.succeeded {paid} acknowledged, not in the log"]


def test_one_id_per_key() -> None:
    assert checks.one_id_per_key([publish_ack("k", "a"), publish_ack("k", "a", copy=1)]).ok
    split = checks.one_id_per_key([publish_ack("k", "a"), publish_ack("k", "b", copy=1)])
    assert split.problems == ["Idempotency-Key k: event ids ['a', 'b']"]


def test_the_workload_is_the_same_for_a_seed() -> None:
    one, again, other = generate(7, 120, 30.0), generate(7, 120, 30.0), generate(8, 120, 30.0)
    assert one.requests == again.requests
    assert one.requests != other.requests
    assert len(one.requests) >= 120
    assert {r.kind for r in one.requests} == {"publish", "webhook"}


SECRET = "twilio_token_0123456789abcdef"


def test_scan_finds_a_secret_raw_and_base64_encoded_and_masks_it() -> None:
    basic = base64.b64encode(f"AC123:{SECRET}".encode())
    found = leaks.scan_bytes("workers.log", b"ok\nAuthorization: Basic " + basic + b"\n",
                             {"sms.auth_token": SECRET})
    assert [(x.secret, x.where) for x in found] == [("sms.auth_token", "workers.log:2")]
    assert SECRET not in found[0].context
    raw = leaks.scan_bytes("answer", f"bad token {SECRET}!".encode(), {"t": SECRET})
    assert raw[0].context == "bad token <secret:t>!"
    assert leaks.scan_bytes("clean", b"nothing to see", {"t": SECRET}) == []


def test_api_keys_are_scanned_whole_and_by_their_secret_part() -> None:
    from hub.config import parse_config

    config = parse_config({"ingress": {"admin_token": "admin-token-0123456789"}}, {})
    key = "hubk_abcdefghijkl_" + "s_" * 20  # a token_urlsafe secret may hold underscores
    found = leaks.secrets_of(config, api_keys=[key])
    assert found == {"ingress.admin_token": "admin-token-0123456789",
                     "api_key[0]": key, "api_key[0].secret": "s_" * 20}
    with pytest.raises(ValueError, match="too short"):
        leaks.secrets_of(parse_config({"ingress": {"admin_token": "short"}}, {}))
