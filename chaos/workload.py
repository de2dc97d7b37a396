"""The generated workload: signed Stripe deliveries (with redeliveries and out-of-order
arrival) and published events (with Idempotency-Key retries), in bursts, all from a seed."""
from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

__all__ = ["Request", "Workload", "generate"]

_CREATED = 1_790_000_000  # Stripe `created` stamps: fixed, so a seed gives the same bodies
_DECLINED = 402  # the payments simulator declines this amount


@dataclass(frozen=True)
class Request:
    """One HTTP request the workload sends (again, identically, until it is acknowledged).

    `at`: seconds after the workload starts. `copy`: 0 for the first send of a body, 1.. for
    the deliberate repeats (a provider's redelivery, an upstream retry with the same key).
    """

    at: float
    kind: Literal["publish", "webhook"]
    label: str
    path: str
    body: bytes
    idempotency_key: str | None = None
    event_type: str = ""
    provider_event_id: str | None = None
    copy: int = 0


@dataclass
class Workload:
    requests: list[Request] = field(default_factory=list)
    counts: dict[str, int] = field(default_factory=dict)

    def add(self, request: Request) -> None:
        self.requests.append(request)


def _publish(at: float, event_type: str, subject: str, data: dict[str, Any], key: str,
             copy: int = 0) -> Request:
    body = orjson.dumps({"type": event_type, "subject": subject, "data": data})
    return Request(at, "publish", f"{event_type} {subject}", "/events", body, key, event_type,
                   copy=copy)


def _stripe(at: float, event: dict[str, Any], copy: int = 0) -> Request:
    return Request(at, "webhook", f"stripe {event['type']} {event['id']}", "/webhooks/stripe",
                   orjson.dumps(event), None, event["type"], provider_event_id=event["id"],
                   copy=copy)


def _intent_object(pi: str, invoice: str, amount: int, status: str) -> dict[str, Any]:
    received = amount if status == "succeeded" else 0
    return {"id": pi, "object": "payment_intent", "amount": amount, "amount_received": received,
            "currency": "eur", "status": status, "metadata": {"invoice_id": invoice}}


def generate(seed: int, requests: int, window_s: float) -> Workload:
    """About `requests` requests over `window_s` seconds, in bursts, deterministic per seed."""
    rng = random.Random(f"{seed}:workload")
    tag = f"{seed:x}"
    bursts = sorted(rng.uniform(0.0, window_s * 0.92) for _ in range(max(1, requests // 15)))
    work = Workload()
    n = 0
    while len(work.requests) < requests:
        n += 1
        t0 = rng.choice(bursts) + rng.uniform(0.0, 0.5)
        case = rng.choices(["charge", "external", "sms", "email"], [30, 25, 25, 20])[0]
        for request in _case(rng, case, tag, n, t0):
            work.add(request)
        work.counts[case] = work.counts.get(case, 0) + 1
    work.requests.sort(key=lambda r: r.at)
    return work


def _case(rng: random.Random, case: str, tag: str, n: int, t0: float) -> Iterator[Request]:
    if case == "charge":
        yield from _charge(rng, tag, n, t0)
    elif case == "external":
        yield from _external(rng, tag, n, t0)
    elif case == "sms":
        # 5% name a template the SMS integration does not have: a permanent error, so the
        # event must end in the dead-letter topic with that reason, and no SMS is sent.
        template = "no_such_template" if rng.random() < 0.05 else "invoice_issued"
        phone = f"+1555{n:07d}"
        data = {"to": phone, "template": template, "params": {"invoice": f"INV-{tag}-{n}"},
                "body": None}
        yield from _with_retry(rng, _publish(t0, "sms.requested", phone, data, f"{tag}:sms:{n}"))
    else:
        to = f"user{n}@example.com"
        data = {"to": to, "template": "welcome", "params": {"name": f"User {n}"},
                "subject_line": None}
        yield from _with_retry(rng, _publish(t0, "email.requested", to, data, f"{tag}:email:{n}"))


def _with_retry(rng: random.Random, request: Request) -> Iterator[Request]:
    """The request, and in 15% of cases the same body and key again later (an upstream
    service retrying after a lost answer): both answers must carry one event id."""
    yield request
    if rng.random() < 0.15:
        yield Request(**{**request.__dict__, "at": request.at + rng.uniform(0.0, 6.0), "copy": 1})


def _invoice(t: float, invoice: str, amount: int, key: str) -> Request:
    data = {"invoice_id": invoice, "customer_id": f"CUS-{invoice}", "amount_minor": amount,
            "currency": "EUR", "issued_at": "2026-11-22T00:00:00Z", "due_at": None,
            "lines": [{"description": "Plan", "quantity": 1, "unit_amount_minor": amount}]}
    return _publish(t, "invoice.issued", invoice, data, key)


def _charge(rng: random.Random, tag: str, n: int, t0: float) -> Iterator[Request]:
    """An invoice and its payment intent (charged by the payments worker; the simulator's
    webhook comes back); out of order in 20% of cases; 5% are declined."""
    invoice = f"INV-{tag}-{n}"
    amount = _DECLINED if rng.random() < 0.05 else rng.randrange(500, 99_999, 7)
    gap = rng.uniform(0.0, 3.0) * (-1 if rng.random() < 0.2 else 1)
    yield from _with_retry(rng, _invoice(t0, invoice, amount, f"{tag}:inv:{n}"))
    data = {"invoice_id": invoice, "amount_minor": amount, "currency": "EUR",
            "customer_id": f"CUS-{invoice}", "customer_email": f"c{n}@example.com",
            "description": None}
    yield from _with_retry(rng, _publish(max(0.0, t0 + gap), "payment.intent_requested", invoice,
                                         data, f"{tag}:intent:{n}"))


def _external(rng: random.Random, tag: str, n: int, t0: float) -> Iterator[Request]:
    """An invoice paid outside hub: Stripe's payment_intent.succeeded; redelivered in 35%
    of cases (at once or later); a partial refund arriving before it in 25%; an earlier
    failed attempt arriving after it in 10%."""
    invoice, pi = f"INV-{tag}-x{n}", f"pi_{tag}_x{n}"
    amount = rng.randrange(500, 99_999, 11)
    yield from _with_retry(rng, _invoice(t0, invoice, amount, f"{tag}:inv:x{n}"))
    t = t0 + rng.uniform(0.0, 4.0)
    paid = {"id": f"evt_{tag}_s{n}", "object": "event", "type": "payment_intent.succeeded",
            "created": _CREATED + 2 * n, "data": {"object": _intent_object(pi, invoice, amount,
                                                                             "succeeded")}}
    yield _stripe(t, paid)
    if rng.random() < 0.35:
        yield _stripe(t + rng.choice([0.0, rng.uniform(0.0, 8.0)]), paid, copy=1)
    if rng.random() < 0.25:
        refunded = amount // 2
        charge = {"id": f"ch_{tag}_x{n}", "object": "charge", "payment_intent": pi,
                  "amount": amount, "amount_refunded": refunded, "currency": "eur",
                  "metadata": {"invoice_id": invoice},
                  "refunds": {"data": [{"id": f"re_{tag}_x{n}", "amount": refunded}]}}
        event = {"id": f"evt_{tag}_r{n}", "object": "event", "type": "charge.refunded",
                 "created": _CREATED + 2 * n + 1, "data": {"object": charge}}
        yield _stripe(max(0.0, t - rng.uniform(0.2, 3.0)), event)
    if rng.random() < 0.10:
        failed_intent = {**_intent_object(pi, invoice, amount, "requires_payment_method"),
                         "last_payment_error": {"code": "card_declined",
                                                "message": "Your card was declined."}}
        event = {"id": f"evt_{tag}_f{n}", "object": "event",
                 "type": "payment_intent.payment_failed", "created": _CREATED + 2 * n - 1,
                 "data": {"object": failed_intent}}
        yield _stripe(t + rng.uniform(0.2, 3.0), event)
