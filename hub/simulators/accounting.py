"""A Xero/QuickBooks-like accounting API: post invoices and journals, bearer auth.

`Idempotency-Key` is honoured like the payments simulator (replay, mismatch, conflict).
Like Xero, posting the same invoice_id twice without a key makes two invoices: the
call log's effects show such doubles instead of hiding them.
"""
from __future__ import annotations

import time
from collections.abc import Mapping
from typing import Any

from aiohttp import web

from hub.simulators.admin import simulator_app
from hub.simulators.config import SimulatorConfig
from hub.simulators.params import ApiError, require_amount, require_currency, require_str
from hub.simulators.pipeline import Outcome, SimCore

__all__ = ["BearerStyle", "accounting_app"]

_TYPES = {"invalid_request": "validation_error", "authentication": "authentication_error",
          "not_found": "not_found", "idempotency": "idempotency_error",
          "conflict": "idempotency_error", "rate_limit": "rate_limited",
          "server": "server_error", "timeout": "server_error", "rejected": "rejected"}


class BearerStyle:
    idempotency_header: str | None = "Idempotency-Key"

    def __init__(self, token: str) -> None:
        self._token = token

    def authenticate(self, request: web.Request) -> None:
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "bearer" or token != self._token:
            raise ApiError(401, "authentication", "Missing or invalid bearer token.",
                           code="unauthorized")

    def render_error(self, error: ApiError) -> dict[str, Any]:
        body: dict[str, Any] = {"type": _TYPES.get(error.kind, "validation_error"),
                                "code": error.code, "message": error.message}
        if error.param is not None:
            body["param"] = error.param
        return {"error": {**body, **error.extra}}


def accounting_app(config: SimulatorConfig) -> web.Application:
    app, core = simulator_app("accounting", BearerStyle(config.accounting_token), config)
    sim = _Accounting(core)
    core.on_reset.append(sim.clear)
    app.add_routes([
        web.post("/api/invoices", sim.post_invoice),
        web.get("/api/invoices", sim.find_invoices),
        web.post("/api/journals", sim.post_journal),
    ])
    return app


def _now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _invalid(message: str, code: str, param: str) -> ApiError:
    return ApiError(400, "invalid_request", message, code=code, param=param)


class _Accounting:
    def __init__(self, core: SimCore) -> None:
        self._core = core
        self._invoices: list[dict[str, Any]] = []
        self._journal_seq = 0

    def clear(self) -> None:
        self._invoices.clear()
        self._journal_seq = 0

    async def post_invoice(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._post_invoice,
                                      lambda p: _str_or_none(p.get("invoice_id")))

    async def find_invoices(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._find_invoices,
                                      lambda p: _str_or_none(p.get("invoice_id")))

    async def post_journal(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._post_journal,
                                      lambda p: _str_or_none(p.get("reference")))

    def _next_journal(self) -> str:
        self._journal_seq += 1
        return f"JRN-{self._journal_seq:06d}"

    def _post_invoice(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        invoice_id = require_str(params, "invoice_id")
        customer_id = require_str(params, "customer_id")
        amount = require_amount(params, "amount_minor")
        currency = require_currency(params).upper()
        lines = params.get("lines") or []
        if not isinstance(lines, list):
            raise _invalid("lines must be a list.", "invalid_lines", "lines")
        if lines:
            total = sum(require_amount(_line(line, i), "amount_minor")
                        for i, line in enumerate(lines))
            if total != amount:
                raise _invalid(f"lines add up to {total}, not amount_minor {amount}.",
                               "lines_total_mismatch", "lines")
        invoice_ref = f"INV-{len(self._invoices) + 1:06d}"
        invoice = {
            "invoice_ref": invoice_ref, "journal_ref": self._next_journal(),
            "invoice_id": invoice_id,
            "customer_id": customer_id, "amount_minor": amount, "currency": currency,
            "lines": len(lines), "status": "AUTHORISED", "created_at": _now_iso(),
        }
        self._invoices.append(invoice)
        return Outcome(201, dict(invoice), effect="invoice", ref=invoice_ref,
                       client_reference=invoice_id)

    def _find_invoices(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        wanted = params.get("invoice_id")
        found = [dict(i) for i in self._invoices if wanted is None or i["invoice_id"] == wanted]
        return Outcome(200, {"invoices": found})

    def _post_journal(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        reference = require_str(params, "reference")
        currency = require_currency(params).upper() if "currency" in params else None
        lines = params.get("lines")
        if not isinstance(lines, list) or len(lines) < 2:
            raise _invalid("A journal needs at least two lines.", "invalid_lines", "lines")
        debit = credit = 0
        for index, raw in enumerate(lines):
            line = _line(raw, index)
            require_str(line, "account")
            line_debit = _non_negative(line, "debit", index)
            line_credit = _non_negative(line, "credit", index)
            if (line_debit > 0) == (line_credit > 0):
                raise _invalid(f"lines[{index}] must have either a debit or a credit.",
                               "invalid_line", f"lines[{index}]")
            debit += line_debit
            credit += line_credit
        if debit != credit:
            raise _invalid(f"Journal does not balance: debits {debit} != credits {credit}.",
                           "unbalanced_journal", "lines")
        journal_ref = self._next_journal()
        journal = {"journal_ref": journal_ref, "reference": reference,
                   "currency": currency, "total_minor": debit, "lines": len(lines),
                   "status": "POSTED", "created_at": _now_iso()}
        return Outcome(201, journal, effect="journal", ref=journal_ref,
                       client_reference=reference)


def _line(raw: Any, index: int) -> Mapping[str, Any]:
    if not isinstance(raw, dict):
        raise _invalid(f"lines[{index}] must be an object.", "invalid_line", f"lines[{index}]")
    return raw


def _non_negative(line: Mapping[str, Any], name: str, index: int) -> int:
    value = line.get(name, 0)
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise _invalid(f"lines[{index}].{name}={value!r}: must be an integer >= 0 "
                       "(minor units).", "invalid_amount", f"lines[{index}].{name}")
    return value


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) else None
