"""The accounting integration: a Xero/QuickBooks-like API (the accounting simulator).

invoice.issued and invoice.post_requested ⇒ POST /api/invoices, Idempotency-Key
`<invoice_id>:post_invoice`. Both build the same body (invoice, customer, total), so
whichever arrives second replays the first answer: one invoice in the ledger.
payment.succeeded ⇒ POST /api/journals (debit bank, credit receivables), Idempotency-Key
`<payment_id>:record_payment`. Bearer auth and the `{"error": {...}}` shape stay here.
"""
from __future__ import annotations

from typing import Any

import aiohttp
import orjson

from consumers.errors import classify_http
from consumers.http import Answer, exchange, unexpected
from consumers.ports import Effect, Integration
from hub.envelope import Event
from hub.routing import KINDS, IntegrationConfig

__all__ = ["AccountingIntegration"]

_PAYMENT = "payment.succeeded"
_BANK = "bank"
_RECEIVABLES = "accounts_receivable"


class AccountingIntegration(Integration):
    provider = "accounting"
    handles = KINDS["accounting"].types

    def __init__(self, config: IntegrationConfig, session: aiohttp.ClientSession, *,
                 pool: Any = None) -> None:
        self.name = config.name
        self._base = config.base_url
        self._token = config.credentials["token"]
        self._session = session
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)

    def action(self, event: Event) -> str:
        return "record_payment" if event.type == _PAYMENT else "post_invoice"

    def idempotency_key(self, event: Event) -> str:
        d = event.data
        if event.type == _PAYMENT:
            return f"{d['payment_id']}:record_payment"
        return f"{d['invoice_id']}:post_invoice"

    async def perform(self, event: Event, idempotency_key: str | None) -> Effect:
        d = event.data
        body: dict[str, Any]
        if event.type == _PAYMENT:
            path = "/api/journals"
            amount = d["amount_minor"]
            body = {"reference": d["payment_id"], "currency": d["currency"],
                    "invoice_id": d.get("invoice_id"),
                    "lines": [{"account": _BANK, "debit": amount},
                              {"account": _RECEIVABLES, "credit": amount}]}
        else:
            path = "/api/invoices"
            body = {"invoice_id": d["invoice_id"], "customer_id": d["customer_id"],
                    "amount_minor": d["amount_minor"], "currency": d["currency"]}
        headers = {"Authorization": f"Bearer {self._token}"}
        if idempotency_key is not None:
            headers["Idempotency-Key"] = idempotency_key
        answer = await exchange(self._session, "POST", self._base + path, limit=self._timeout,
                                request=body, headers=headers, json_body=body)
        if answer.ok and isinstance(answer.body, dict):
            ref = answer.body.get("journal_ref")
            return Effect(action=self.action(event), status=str(answer.body.get("status", "posted")),
                          provider_reference=str(ref) if ref else None, request=body,
                          response=answer.body, amount_minor=d["amount_minor"],
                          currency=d["currency"])
        raise classify_http(answer.status, answer.headers, answer.body, reason=_reason(answer),
                            request=body) or unexpected(answer, body)

    async def record(self, conn: Any, event: Event, effect: Effect) -> None:
        d = event.data
        await conn.execute(
            "INSERT INTO accounting_posts (integration, event_id, action, invoice_id,"
            " idempotency_key, journal_ref, amount_minor, currency, request, response, status,"
            " completed_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9::jsonb, $10::jsonb, $11,"
            " CASE WHEN $12 THEN now() END)"
            " ON CONFLICT (integration, event_id) DO UPDATE SET journal_ref = EXCLUDED.journal_ref,"
            " request = EXCLUDED.request, response = EXCLUDED.response, status = EXCLUDED.status,"
            " completed_at = EXCLUDED.completed_at"
            " WHERE accounting_posts.status = 'dead_lettered'",
            self.name, event.id, effect.action, d.get("invoice_id"), self.idempotency_key(event),
            effect.provider_reference, d.get("amount_minor"), d.get("currency"),
            orjson.dumps(effect.request).decode(), orjson.dumps(effect.response).decode(),
            effect.status, effect.ok)


def _reason(answer: Answer) -> str | None:
    error = answer.body.get("error") if isinstance(answer.body, dict) else None
    if not isinstance(error, dict):
        return None
    message = str(error.get("message") or "")
    code = error.get("code")
    return f"{message} ({code})" if code else message or None
