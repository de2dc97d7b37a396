"""The payments integration: a Stripe-like API (the payments simulator, or Stripe).

payment.intent_requested ⇒ POST /v1/payment_intents (confirmed), Idempotency-Key
`<invoice_id>:create_intent`; payment.refund_requested ⇒ POST /v1/refunds,
Idempotency-Key `<payment_id>:refund:<amount_minor>`. Stripe's header names, error
bodies and decline shape stay in this module.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import aiohttp
import orjson

from consumers.errors import ProviderError, TransientError, classify_exception, classify_http
from consumers.ports import Effect, Integration
from hub.envelope import Event
from hub.routing import KINDS, IntegrationConfig

__all__ = ["PaymentsIntegration"]

_INTENT = "payment.intent_requested"
_REFUND = "payment.refund_requested"
_ACTIONS = {_INTENT: "create_payment_intent", _REFUND: "refund"}
_STRIPE_REFUND_REASONS = frozenset({"duplicate", "fraudulent", "requested_by_customer"})


class PaymentsIntegration(Integration):
    provider = "stripe"
    handles = KINDS["payments"].types

    def __init__(self, config: IntegrationConfig, session: aiohttp.ClientSession, *,
                 pool: Any = None) -> None:
        self.name = config.name
        self._base = config.base_url
        self._api_key = config.credentials["api_key"]
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)

    def action(self, event: Event) -> str:
        return _ACTIONS[event.type]

    def idempotency_key(self, event: Event) -> str:
        d = event.data
        if event.type == _INTENT:
            return f"{d['invoice_id']}:create_intent"
        return f"{d['payment_id']}:refund:{d['amount_minor']}"

    async def perform(self, event: Event, idempotency_key: str | None) -> Effect:
        d = event.data
        body: dict[str, Any]
        if event.type == _INTENT:
            path = "/v1/payment_intents"
            metadata = {k: d[k] for k in ("invoice_id", "customer_id") if d.get(k) is not None}
            body = {"amount": d["amount_minor"], "currency": d["currency"].lower(),
                    "confirm": True, "metadata": metadata}
            if d.get("customer_email"):
                body["receipt_email"] = d["customer_email"]
            if d.get("description"):
                body["description"] = d["description"]
        else:
            path = "/v1/refunds"
            metadata = {k: d[k] for k in ("invoice_id", "reason") if d.get(k) is not None}
            body = {"payment_intent": d["payment_id"], "amount": d["amount_minor"],
                    "metadata": metadata}
            if d.get("reason") in _STRIPE_REFUND_REASONS:
                body["reason"] = d["reason"]
        status, headers, answer = await self._post(path, body, idempotency_key)
        action = _ACTIONS[event.type]
        money = {"amount_minor": d["amount_minor"], "currency": d["currency"]}
        if 200 <= status < 300 and isinstance(answer, dict):
            return Effect(action=action, status=str(answer.get("status", "succeeded")),
                          provider_reference=answer.get("id"), request=body, response=answer,
                          **money)
        declined = _declined_intent(status, answer)
        if declined is not None:
            return Effect(action=action, status="declined", provider_reference=declined,
                          request=body, response=answer, ok=False, **money)
        error = classify_http(status, headers, answer, reason=_reason(answer), request=body)
        if error is None:  # a 2xx/3xx that is not a JSON object
            raise TransientError(f"provider answered {status} without a JSON object",
                                 status=status, request=body, response=answer)
        raise error

    async def _post(
        self, path: str, body: dict[str, Any], key: str | None
    ) -> tuple[int, dict[str, str], Any]:
        headers = {"Authorization": f"Bearer {self._api_key}"}
        if key is not None:
            headers["Idempotency-Key"] = key
        try:
            async with self._session.post(self._base + path, data=orjson.dumps(body),
                                          headers={**headers, "Content-Type": "application/json"},
                                          timeout=self._timeout) as resp:
                raw = await resp.read()
                answer: Any = orjson.loads(raw) if raw else None
                return resp.status, dict(resp.headers), answer
        except ProviderError:
            raise
        except Exception as exc:
            error = classify_exception(exc, request=body)
            if error is None:
                raise
            raise error from None

    async def record(self, conn: Any, event: Event, effect: Effect) -> None:
        await conn.execute(_RECORD, *self._record_args(event, effect))

    async def record_many(self, conn: Any, done: Sequence[tuple[Event, Effect]]) -> None:
        await conn.executemany(_RECORD, [self._record_args(e, effect) for e, effect in done])

    def _record_args(self, event: Event, effect: Effect) -> tuple[Any, ...]:
        d = event.data
        return (
            self.name, event.id, effect.action, d.get("invoice_id"),
            d.get("payment_id") or (effect.provider_reference if event.type == _INTENT else None),
            self.idempotency_key(event), d.get("amount_minor"), d.get("currency"),
            orjson.dumps(effect.request).decode(), orjson.dumps(effect.response).decode(),
            effect.status, effect.provider_reference)


_RECORD = (
    "INSERT INTO payment_attempts (integration, event_id, action, invoice_id, payment_id,"
    " idempotency_key, amount_minor, currency, request, response, status,"
    " provider_reference) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb,"
    " $11, $12) ON CONFLICT (integration, event_id) DO UPDATE SET"
    " payment_id = EXCLUDED.payment_id, request = EXCLUDED.request,"
    " response = EXCLUDED.response, status = EXCLUDED.status,"
    " provider_reference = EXCLUDED.provider_reference, completed_at = now()"
    " WHERE payment_attempts.status = 'dead_lettered'"
)


def _declined_intent(status: int, answer: Any) -> str | None:
    """The payment intent id of a card decline (402 card_error), else None."""
    if status != 402 or not isinstance(answer, dict):
        return None
    error = answer.get("error")
    if not isinstance(error, dict) or error.get("type") != "card_error":
        return None
    intent = error.get("payment_intent")
    return str(intent["id"]) if isinstance(intent, dict) and intent.get("id") else None


def _reason(answer: Any) -> str | None:
    error = answer.get("error") if isinstance(answer, dict) else None
    if not isinstance(error, dict):
        return None
    message = str(error.get("message") or "")
    code = error.get("code")
    return f"{message} ({code})" if code else message or None
