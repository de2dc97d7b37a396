"""The e-mail integration: a Postmark-like API (the e-mail simulator, or Postmark).

email.requested ⇒ POST /email/withTemplate (TemplateAlias = the template, TemplateModel =
its params), Idempotency-Key `<event_id>:send_email` (the event is the request's identity:
an upstream retry with the same Idempotency-Key gets the same event id).

payment.succeeded ⇒ the receipt: template `receipt`, Idempotency-Key
`<payment_id>:send_receipt`. The event carries no address, so it goes to
  1. the invoice's customer address from `email_recipients`, which this integration fills
     from the payment.intent_requested events routed to it (their `customer_email`; same
     topic and key as the payment, so the intent is seen first), else
  2. `options.receipt_to` (a fixed mailbox, e.g. the billing team), else
  3. nowhere: a PermanentError, so the event is dead-lettered with that reason and can be
     redriven once an address is configured.
payment.intent_requested ⇒ no provider call; `record` keeps invoice ⇒ address.

Options: `from` (sender address, required), `receipt_to`, `receipt_template` ("receipt").
The Postmark token header and `{"ErrorCode", "Message"}` errors stay in this module.
"""
from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from consumers.errors import PermanentError, classify_http
from consumers.http import Answer, exchange, unexpected
from consumers.options import optional_str, required_str
from consumers.ports import Effect, Integration
from hub.envelope import Event
from hub.routing import KINDS, IntegrationConfig

__all__ = ["EmailIntegration"]

_REQUESTED = "email.requested"
_RECEIPT = "payment.succeeded"
_INTENT = "payment.intent_requested"
_ACTIONS = {_REQUESTED: "send_email", _RECEIPT: "send_receipt", _INTENT: "remember_recipient"}


class EmailIntegration(Integration):
    provider = "postmark"
    handles = KINDS["email"].types

    def __init__(self, config: IntegrationConfig, session: aiohttp.ClientSession, *,
                 pool: Any) -> None:
        self.name = config.name
        self._base = config.base_url
        self._token = config.credentials["token"]
        self._session = session
        self._pool = pool
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._sender = required_str(config, "from", "the sender address, e.g. billing@example.com")
        self._receipt_to = optional_str(config, "receipt_to")
        self._receipt_template = optional_str(config, "receipt_template") or "receipt"

    def action(self, event: Event) -> str:
        return _ACTIONS[event.type]

    def idempotency_key(self, event: Event) -> str | None:
        if event.type == _RECEIPT:
            return f"{event.data['payment_id']}:send_receipt"
        if event.type == _REQUESTED:
            return f"{event.id}:send_email"
        return None

    async def perform(self, event: Event, idempotency_key: str | None) -> Effect:
        d = event.data
        action = self.action(event)
        if event.type == _INTENT:
            to = d.get("customer_email")
            return Effect(action=action, status="remembered" if to else "no_address",
                          provider_reference=None, request={}, response=None,
                          details={"invoice_id": d["invoice_id"], "to": to})
        body: dict[str, Any] = {"From": self._sender}
        if event.type == _REQUESTED:
            body.update(To=d["to"], TemplateAlias=d["template"], TemplateModel=dict(d["params"]))
            if d.get("subject_line"):
                body["TemplateModel"]["subject"] = d["subject_line"]
        else:
            body.update(To=await self._receipt_address(d), TemplateAlias=self._receipt_template,
                        TemplateModel={k: d.get(k) for k in ("invoice_id", "payment_id",
                                                             "amount_minor", "currency")})
        body["Metadata"] = {"client_reference": event.id}
        headers = {"X-Postmark-Server-Token": self._token, "Accept": "application/json"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        answer = await exchange(self._session, "POST", self._base + "/email/withTemplate",
                                limit=self._timeout, request=body, headers=headers,
                                json_body=body)
        if answer.ok and isinstance(answer.body, dict) and answer.body.get("ErrorCode", 0) == 0:
            ref = answer.body.get("MessageID")
            return Effect(action=action, status="sent", provider_reference=str(ref) if ref else None,
                          request=body, response=answer.body)
        raise classify_http(answer.status, answer.headers, answer.body, reason=_reason(answer),
                            request=body) or unexpected(answer, body)

    async def _receipt_address(self, d: Any) -> str:
        invoice_id = d.get("invoice_id")
        if invoice_id is not None:
            known = await self._pool.fetchval(
                "SELECT to_address FROM email_recipients WHERE integration = $1 AND invoice_id = $2",
                self.name, invoice_id)
            if known:
                return str(known)
        if self._receipt_to is not None:
            return self._receipt_to
        raise PermanentError(
            f"no e-mail address for the receipt of payment {d['payment_id']} (invoice "
            f"{invoice_id}): route payment.intent_requested with customer_email to "
            f"integration {self.name!r}, or set integrations.{self.name}.options.receipt_to",
            reason="no recipient address", request={"payment_id": d["payment_id"],
                                                    "invoice_id": invoice_id})

    async def record(self, conn: Any, event: Event, effect: Effect) -> None:
        if event.type == _INTENT:
            to = effect.details.get("to")
            if to:
                await conn.execute(
                    "INSERT INTO email_recipients (integration, invoice_id, to_address, event_id)"
                    " VALUES ($1, $2, $3, $4) ON CONFLICT (integration, invoice_id) DO UPDATE"
                    " SET to_address = EXCLUDED.to_address, event_id = EXCLUDED.event_id,"
                    " updated_at = now()", self.name, event.data["invoice_id"], to, event.id)
            return
        to = effect.request.get("To") or event.data.get("to") or ""
        template = effect.request.get("TemplateAlias") or event.data.get("template")
        await conn.execute(
            "INSERT INTO email_messages (integration, event_id, to_address, template,"
            " idempotency_key, provider_message_id, status, request, response, sent_at)"
            " VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb, CASE WHEN $10 THEN now() END)"
            " ON CONFLICT (integration, event_id) DO UPDATE SET to_address = EXCLUDED.to_address,"
            " provider_message_id = EXCLUDED.provider_message_id, status = EXCLUDED.status,"
            " request = EXCLUDED.request, response = EXCLUDED.response, sent_at = EXCLUDED.sent_at"
            " WHERE email_messages.status = 'dead_lettered'",
            self.name, event.id, str(to), template, self.idempotency_key(event),
            effect.provider_reference, effect.status, orjson.dumps(effect.request).decode(),
            orjson.dumps(effect.response).decode(), effect.ok)


def _reason(answer: Answer) -> str | None:
    if not isinstance(answer.body, dict) or not answer.body.get("Message"):
        return None
    return f"{answer.body['Message']} (ErrorCode {answer.body.get('ErrorCode')})"
