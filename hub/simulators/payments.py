"""A Stripe-like payments API: payment intents, capture, refunds, signed webhooks.

JSON bodies (form bodies with `metadata[k]=v` keys work too). Amounts are integer
minor units. Create answers 200 like Stripe; a declined confirmation answers 402
with a `card_error` that carries the payment intent.
"""
from __future__ import annotations

import time
import uuid
from base64 import b64decode
from typing import Any

import orjson
from aiohttp import web

from hub import signatures
from hub.simulators.admin import simulator_app
from hub.simulators.callbacks import Delivery
from hub.simulators.config import SimulatorConfig
from hub.simulators.params import ApiError, require_amount, require_currency
from hub.simulators.pipeline import Outcome, SimCore

__all__ = ["StripeStyle", "payments_app"]

_TYPES = {
    "card": "card_error",
    "idempotency": "idempotency_error",
    "conflict": "idempotency_error",
    "server": "api_error",
    "timeout": "api_error",
    "authentication": "authentication_error",
}


class StripeStyle:
    idempotency_header: str | None = "Idempotency-Key"

    def __init__(self, api_key: str) -> None:
        self._api_key = api_key

    def authenticate(self, request: web.Request) -> None:
        scheme, _, credential = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() == "basic":  # Stripe also takes the key as basic-auth user name
            try:
                credential = b64decode(credential).decode().partition(":")[0]
            except ValueError:
                credential = ""
        elif scheme.lower() != "bearer":
            credential = ""
        if not credential or credential != self._api_key:
            # The key is never echoed: it is a secret even when it is wrong.
            raise ApiError(401, "authentication", "Invalid API Key provided.",
                           code="api_key_invalid")

    def render_error(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"type": _TYPES.get(error.kind, "invalid_request_error"),
                                "message": error.message}
        if error.code is not None:
            body["code"] = error.code
        if error.param is not None:
            body["param"] = error.param
        return {"error": {**body, **error.extra}}


def payments_app(config: SimulatorConfig) -> web.Application:
    app, core = simulator_app("payments", StripeStyle(config.stripe_api_key), config)
    sim = _Payments(config, core)
    core.on_reset.append(sim.clear)
    app.add_routes([
        web.post("/v1/payment_intents", sim.create),
        web.get("/v1/payment_intents/{id}", sim.retrieve),
        web.post("/v1/payment_intents/{id}/confirm", sim.confirm),
        web.post("/v1/payment_intents/{id}/capture", sim.capture),
        web.post("/v1/refunds", sim.refund),
    ])
    return app


def _new_id(prefix: str) -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def _client_reference(metadata: Any) -> str | None:
    if not isinstance(metadata, dict):
        return None
    value = metadata.get("invoice_id") or metadata.get("order_id")
    return str(value) if value is not None else None


def _is_true(value: Any) -> bool:
    return value is True or value == "true"


class _Payments:
    def __init__(self, config: SimulatorConfig, core: SimCore) -> None:
        self._config = config
        self._core = core
        self._intents: dict[str, dict[str, Any]] = {}
        self._charges: dict[str, dict[str, Any]] = {}

    def clear(self) -> None:
        self._intents.clear()
        self._charges.clear()

    async def create(self, request: web.Request) -> web.Response:
        return await self._core.serve(
            request, self._create, lambda p: _client_reference(p.get("metadata")))

    async def retrieve(self, request: web.Request) -> web.Response:
        return await self._core.serve(
            request, lambda r, _: Outcome(200, self._intent(r.match_info["id"])))

    async def confirm(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._confirm_existing)

    async def capture(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._capture)

    async def refund(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._refund)

    # --- operations (synchronous: no await between reading and changing state) ---------

    def _create(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        amount = require_amount(params, "amount")
        currency = require_currency(params)
        metadata = params.get("metadata") or {}
        if not isinstance(metadata, dict):
            raise ApiError(400, "invalid_request", "Invalid object: metadata.",
                           code="parameter_invalid_object", param="metadata")
        capture_method = params.get("capture_method", "automatic")
        if capture_method not in ("automatic", "manual"):
            raise ApiError(400, "invalid_request", f"Invalid capture_method: {capture_method}.",
                           code="parameter_invalid_string", param="capture_method")
        intent: dict[str, Any] = {
            "id": _new_id("pi"), "object": "payment_intent", "amount": amount,
            "amount_received": 0, "currency": currency, "metadata": metadata,
            "capture_method": capture_method, "status": "requires_confirmation",
            "created": int(time.time()), "latest_charge": None, "last_payment_error": None,
            "livemode": False,
        }
        self._intents[intent["id"]] = intent
        if _is_true(params.get("confirm")):
            return self._confirm(intent)
        return Outcome(200, dict(intent), ref=intent["id"],
                       client_reference=_client_reference(metadata))

    def _confirm_existing(self, request: web.Request, _: dict[str, Any]) -> Outcome:
        intent = self._intent(request.match_info["id"])
        if intent["status"] not in ("requires_confirmation", "requires_payment_method"):
            raise _unexpected_state(intent, "confirm")
        return self._confirm(intent)

    def _capture(self, request: web.Request, params: dict[str, Any]) -> Outcome:
        intent = self._intent(request.match_info["id"])
        # Lenient: an unconfirmed intent is confirmed and captured in one step.
        if intent["status"] == "requires_confirmation":
            return self._confirm(intent, capture=True)
        if intent["status"] != "requires_capture":
            raise _unexpected_state(intent, "capture")
        amount = require_amount(params, "amount_to_capture", optional=True) or intent["amount"]
        if amount > intent["amount"]:
            raise ApiError(400, "invalid_request", "amount_to_capture exceeds the amount.",
                           code="amount_too_large", param="amount_to_capture")
        return self._succeed(intent, amount)

    def _confirm(self, intent: dict[str, Any], capture: bool = False) -> Outcome:
        reference = _client_reference(intent["metadata"])
        if intent["amount"] in self._config.decline_amounts:
            intent["status"] = "requires_payment_method"
            decline = {"type": "card_error", "code": "card_declined",
                       "decline_code": "generic_decline", "message": "Your card was declined."}
            intent["last_payment_error"] = decline
            snapshot = dict(intent)
            body = {"error": {**decline, "payment_intent": snapshot}}
            return Outcome(402, body, effect="decline", ref=intent["id"],
                           client_reference=reference,
                           then=lambda: self._webhook("payment_intent.payment_failed", snapshot))
        if intent["capture_method"] == "manual" and not capture:
            intent["status"] = "requires_capture"
            return Outcome(200, dict(intent), effect="authorization", ref=intent["id"],
                           client_reference=reference)
        return self._succeed(intent, intent["amount"])

    def _succeed(self, intent: dict[str, Any], amount: int) -> Outcome:
        charge = {
            "id": _new_id("ch"), "object": "charge", "amount": amount, "amount_captured": amount,
            "amount_refunded": 0, "refunded": False, "currency": intent["currency"],
            "payment_intent": intent["id"], "metadata": intent["metadata"],
            "status": "succeeded", "paid": True, "created": int(time.time()),
        }
        self._charges[charge["id"]] = charge
        intent.update(status="succeeded", amount_received=amount, latest_charge=charge["id"],
                      last_payment_error=None)
        snapshot = dict(intent)
        return Outcome(200, snapshot, effect="charge", ref=intent["id"],
                       client_reference=_client_reference(intent["metadata"]),
                       then=lambda: self._webhook("payment_intent.succeeded", snapshot))

    def _refund(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        intent_id = params.get("payment_intent")
        intent = self._intents.get(intent_id) if isinstance(intent_id, str) else None
        if intent is None:
            raise ApiError(400, "invalid_request", f"No such payment_intent: '{intent_id}'",
                           code="resource_missing", param="payment_intent")
        if intent["status"] != "succeeded":
            raise ApiError(400, "invalid_request",
                           f"This PaymentIntent ({intent['id']}) does not have a successful "
                           "charge to refund.", code="charge_not_refundable",
                           param="payment_intent")
        charge = self._charges[intent["latest_charge"]]
        remaining = charge["amount_captured"] - charge["amount_refunded"]
        amount = require_amount(params, "amount", optional=True) or remaining
        if amount > remaining:
            raise ApiError(400, "invalid_request",
                           f"Refund amount ({amount}) is greater than unrefunded amount "
                           f"on charge ({remaining})", code="amount_too_large", param="amount")
        charge["amount_refunded"] += amount
        charge["refunded"] = charge["amount_refunded"] == charge["amount_captured"]
        refund = {
            "id": _new_id("re"), "object": "refund", "amount": amount,
            "currency": intent["currency"], "payment_intent": intent["id"],
            "charge": charge["id"], "status": "succeeded", "created": int(time.time()),
            "metadata": params.get("metadata") or {},
        }
        snapshot = dict(charge)
        return Outcome(200, refund, effect="refund", ref=refund["id"],
                       client_reference=_client_reference(intent["metadata"]),
                       then=lambda: self._webhook("charge.refunded", snapshot))

    def _intent(self, intent_id: str) -> dict[str, Any]:
        intent = self._intents.get(intent_id)
        if intent is None:
            raise ApiError(404, "not_found", f"No such payment_intent: '{intent_id}'",
                           code="resource_missing", param="intent")
        return intent

    def _webhook(self, event_type: str, obj: dict[str, Any]) -> None:
        if self._config.payments_webhook_url is None:
            return
        event = {
            "id": _new_id("evt"), "object": "event", "type": event_type,
            "api_version": "2024-06-20", "created": int(time.time()), "livemode": False,
            "data": {"object": obj},
        }
        secret = self._config.stripe_webhook_secret
        self._core.callbacks.send([Delivery(
            url=self._config.payments_webhook_url, body=orjson.dumps(event),
            content_type="application/json", label=event_type, logged=event,
            sign=lambda body: signatures.sign("stripe", secret=secret, body=body),
        )])


def _unexpected_state(intent: dict[str, Any], action: str) -> ApiError:
    return ApiError(400, "invalid_request",
                    f"You cannot {action} this PaymentIntent because it has a status of "
                    f"{intent['status']}.", code="payment_intent_unexpected_state",
                    extra={"payment_intent": dict(intent)})
