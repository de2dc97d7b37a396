"""Distinct signed Stripe deliveries, the file wrk replays, and the records ingress writes."""
from __future__ import annotations

import itertools
import secrets
import time
from collections.abc import Iterator
from contextlib import ExitStack
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import orjson

from hub import codec, normalizers, signatures
from hub.envelope import Event, sha256_hex
from hub.ids import derived_id
from hub.schemastore import SchemaStore
from hub.topics import Topics

__all__ = ["Delivery", "StripeDeliveries", "ingress_records"]

PATH = "/webhooks/stripe"
USER_AGENT = "Stripe/1.0 (+https://stripe.com/docs/webhooks)"


@dataclass(frozen=True)
class Delivery:
    event_id: str
    headers: dict[str, str]
    body: bytes


class StripeDeliveries:
    """`payment_intent.succeeded` deliveries, each with an `evt_` id never used before in
    this run, signed now (Stripe's 300 s tolerance leaves room for a run of minutes)."""

    def __init__(self, secret: str) -> None:
        self._secret = secret
        self._tag = secrets.token_hex(3)
        self._seq = itertools.count()

    def make(self, n: int) -> Iterator[Delivery]:
        for _ in range(n):
            seq = next(self._seq)
            now = int(time.time())
            body = orjson.dumps(_payment_intent_succeeded(f"{self._tag}{seq:09d}", now))
            sig = signatures.sign("stripe", secret=self._secret, body=body, timestamp=now)
            yield Delivery(f"evt_{self._tag}{seq:09d}",
                           {"Content-Type": "application/json", "User-Agent": USER_AGENT, **sig},
                           body)

    def write(self, base: Path, n: int, *, host: str, threads: int) -> Path:
        """`n` new deliveries as raw HTTP/1.1 requests for wrk, NUL-separated, dealt round-robin
        into one file per wrk thread (`base.0`, `base.1`, ...); returns `base`."""
        with ExitStack() as files:
            outs = [files.enter_context(open(f"{base}.{i}", "wb")) for i in range(threads)]
            for i, d in enumerate(self.make(n)):
                head = "".join(f"{k}: {v}\r\n" for k, v in d.headers.items())
                outs[i % threads].write(
                    f"POST {PATH} HTTP/1.1\r\nHost: {host}\r\n{head}"
                    f"Content-Length: {len(d.body)}\r\n\r\n".encode() + d.body + b"\0")
        return base


def _payment_intent_succeeded(suffix: str, now: int) -> dict[str, object]:
    # Shaped like a real Stripe event (API 2024-06-20), about 1.5 KB.
    pi = f"pi_{suffix}"
    return {
        "id": f"evt_{suffix}", "object": "event", "api_version": "2024-06-20", "created": now,
        "data": {"object": {
            "id": pi, "object": "payment_intent", "amount": 12_50, "amount_capturable": 0,
            "amount_received": 12_50, "capture_method": "automatic",
            "client_secret": f"{pi}_secret_{suffix}", "confirmation_method": "automatic",
            "created": now - 3, "currency": "usd", "customer": f"cus_{suffix[:10]}",
            "description": "Invoice inv_bench", "latest_charge": f"ch_{suffix}",
            "livemode": False, "metadata": {"invoice_id": f"inv_{suffix}"},
            "payment_method": f"pm_{suffix}", "payment_method_types": ["card"],
            "payment_method_options": {"card": {"installments": None, "mandate_options": None,
                                                "network": None,
                                                "request_three_d_secure": "automatic"}},
            "receipt_email": "ada@example.com", "status": "succeeded",
            "amount_details": {"tip": {}}, "automatic_payment_methods": None,
            "canceled_at": None, "cancellation_reason": None, "invoice": None,
            "last_payment_error": None, "next_action": None, "on_behalf_of": None,
            "processing": None, "review": None, "setup_future_usage": None, "shipping": None,
            "source": None, "statement_descriptor": None, "statement_descriptor_suffix": None,
            "transfer_data": None, "transfer_group": None,
        }},
        "livemode": False, "pending_webhooks": 1,
        "request": {"id": f"req_{suffix[:14]}", "idempotency_key": f"ik-{suffix}"},
        "type": "payment_intent.succeeded",
    }


Record = tuple[str, bytes | None, bytes, list[tuple[str, bytes]]]


def ingress_records(d: Delivery, base_url: str, schemas: SchemaStore, topics: Topics
                    ) -> list[Record]:
    """(topic, key, value, headers) of what the ingress writes for `d`: the raw
    `webhook.received` event, then its domain events, encoded as hub.ingress.webhooks does."""
    received_at = datetime.now(UTC)
    headers = {"Host": base_url.split("//", 1)[1], **d.headers,
               "Content-Length": str(len(d.body))}
    lower = {k.lower(): v for k, v in headers.items()}
    norm = normalizers.normalize("stripe", headers=lower, body=d.body,
                                 content_type="application/json", received_at=received_at)
    raw_id = derived_id("stripe", norm.provider_event_id)
    sha = sha256_hex(d.body)
    events = [Event(id=derived_id("stripe", norm.provider_event_id, e.type),
                    source="/providers/stripe", type=e.type, time=received_at, subject=e.subject,
                    schema_version=schemas.latest(e.type).version, correlation_id=raw_id,
                    causation_id=raw_id, payload_sha256=sha, data=e.data)
              for e in norm.events]
    raw = Event(
        id=raw_id, source=PATH, type="webhook.received", time=received_at,
        subject=f"stripe:{norm.provider_event_id}",
        schema_version=schemas.latest("webhook.received").version, correlation_id=raw_id,
        payload_sha256=sha,
        data={"endpoint": "stripe", "provider": "stripe", "scheme": "stripe",
              "provider_event_id": norm.provider_event_id,
              "provider_event_type": norm.provider_event_type, "url": base_url + PATH,
              "content_type": "application/json",
              "headers": [{"name": k, "value": v} for k, v in headers.items()],
              "body": d.body, "received_at": received_at, "mapped": bool(events),
              "mapped_types": [e.type for e in events]},
    )
    return [(topics.for_type(e.type), e.key, codec.encode(schemas, e), e.headers())
            for e in (raw, *events)]
