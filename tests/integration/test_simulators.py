"""The provider simulators over real HTTP: idempotency, faults, call log, signed callbacks."""
from __future__ import annotations

import asyncio
import json
import sys
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, parse_qsl

import aiohttp
import pytest
from aiohttp import web

from hub.signatures import verify
from hub.simulators import FaultConfig, RunningSimulators, SimulatorConfig, run_simulators

pytestmark = pytest.mark.integration

STRIPE_KEY = "sk_test_it"
STRIPE_SECRET = "whsec_it_secret"
TWILIO_SID = "AC" + "1" * 32
TWILIO_TOKEN = "twilio_it_token"
ACCOUNTING_TOKEN = "acct_it_token"
POSTMARK_TOKEN = "pm_it_token"
PAY = {"Authorization": f"Bearer {STRIPE_KEY}"}
ACCT = {"Authorization": f"Bearer {ACCOUNTING_TOKEN}"}
MAIL = {"X-Postmark-Server-Token": POSTMARK_TOKEN}
TWILIO = {"Authorization": aiohttp.encode_basic_auth(TWILIO_SID, TWILIO_TOKEN)}
INTENT = {"amount": 12500, "currency": "eur", "confirm": True,
          "metadata": {"invoice_id": "INV-1001"}}


@dataclass
class Receiver:
    """A webhook receiver: answers `answers` in turn (then 200) and keeps what arrived."""

    url: str = ""
    answers: list[int] = field(default_factory=list)
    received: list[tuple[dict[str, str], bytes]] = field(default_factory=list)
    arrived: asyncio.Condition = field(default_factory=asyncio.Condition)

    async def wait_for(self, count: int) -> list[tuple[dict[str, str], bytes]]:
        """The first `count` deliveries, waiting up to 5 s for them."""
        async with asyncio.timeout(5), self.arrived:
            await self.arrived.wait_for(lambda: len(self.received) >= count)
        return self.received[:count]


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    hook = Receiver()

    async def handle(request: web.Request) -> web.Response:
        body = await request.read()
        async with hook.arrived:
            hook.received.append((dict(request.headers), body))
            hook.arrived.notify_all()
        return web.Response(status=hook.answers.pop(0) if hook.answers else 200)

    app = web.Application()
    app.router.add_post("/hook", handle)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    hook.url = f"http://127.0.0.1:{port}/hook"
    try:
        yield hook
    finally:
        await runner.cleanup()


def make_config(hook: Receiver | None = None, **overrides: Any) -> SimulatorConfig:
    url = hook.url if hook is not None else None
    values: dict[str, Any] = dict(
        seed=7, stripe_api_key=STRIPE_KEY, stripe_webhook_secret=STRIPE_SECRET,
        payments_webhook_url=url, twilio_account_sid=TWILIO_SID, twilio_auth_token=TWILIO_TOKEN,
        sms_status_callback_url=url, accounting_token=ACCOUNTING_TOKEN,
        postmark_token=POSTMARK_TOKEN, callback_delay_s=0.01, callback_backoff_s=0.05,
    )
    values.update(overrides)
    return SimulatorConfig(**values)


@pytest.fixture
async def sims(receiver: Receiver) -> AsyncIterator[RunningSimulators]:
    async with run_simulators(make_config(receiver)) as running:
        yield running


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession() as session:
        yield session


async def call(http: aiohttp.ClientSession, method: str, url: str, *,
               json: Any = None, data: Any = None,
               headers: dict[str, str] | None = None) -> tuple[int, dict[str, str], Any]:
    async with http.request(method, url, json=json, data=data, headers=headers) as resp:
        return resp.status, dict(resp.headers), await resp.json()


async def admin(http: aiohttp.ClientSession, method: str, url: str, body: Any = None) -> Any:
    async with http.request(method, url, json=body) as resp:
        assert resp.status == 200, await resp.text()
        return await resp.json()


def keyed(headers: dict[str, str], key: str) -> dict[str, str]:
    return {**headers, "Idempotency-Key": key}


# --- payments ----------------------------------------------------------------------------


async def test_payments_same_key_same_params_replays_first_answer(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    url = f"{sims.payments}/v1/payment_intents"
    first = await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "INV-1001:pay"))
    again = await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "INV-1001:pay"))
    assert first[0] == again[0] == 200
    assert again[2] == first[2]
    assert first[2]["id"].startswith("pi_")
    assert (first[2]["status"], first[2]["amount"], first[2]["currency"]) == (
        "succeeded", 12500, "eur")
    assert first[2]["metadata"] == {"invoice_id": "INV-1001"}
    assert "Idempotent-Replayed" not in first[1]
    assert again[1]["Idempotent-Replayed"] == "true"
    effects = await admin(http, "GET", f"{sims.payments}/_sim/effects")
    assert (effects["count"], effects["counts"]) == (1, {"charge": 1})
    assert effects["effects"][0]["client_reference"] == "INV-1001"
    calls = (await admin(http, "GET", f"{sims.payments}/_sim/calls"))["calls"]
    assert [(c["status"], c["replayed"], c["effect"]) for c in calls if c["direction"] == "in"] \
        == [(200, False, "charge"), (200, True, None)]


async def test_payments_same_key_other_params_is_an_idempotency_error(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    url = f"{sims.payments}/v1/payment_intents"
    await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "k-1"))
    status, _, body = await call(http, "POST", url, json={**INTENT, "amount": 9999},
                                 headers=keyed(PAY, "k-1"))
    assert status == 400
    assert body["error"]["type"] == "idempotency_error"
    effects = await admin(http, "GET", f"{sims.payments}/_sim/effects")
    assert effects["count"] == 1


async def test_payments_concurrent_request_with_key_in_flight_is_409(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    await admin(http, "POST", f"{sims.payments}/_sim/faults", {"latency_ms": 300})
    url = f"{sims.payments}/v1/payment_intents"
    first = asyncio.ensure_future(call(http, "POST", url, json=INTENT, headers=keyed(PAY, "k")))
    await asyncio.sleep(0.1)
    second = await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "k"))
    assert (await first)[0] == 200
    assert second[0] == 409
    assert second[2]["error"]["type"] == "idempotency_error"


async def test_payments_validation_errors_are_stripe_shaped_and_not_saved(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    url = f"{sims.payments}/v1/payment_intents"
    cases = [({"currency": "eur"}, "parameter_missing", "amount"),
             ({"amount": 0, "currency": "eur"}, "amount_too_small", "amount"),
             ({"amount": 100, "currency": "xyz"}, "invalid_currency", "currency")]
    for params, code, param in cases:
        status, _, body = await call(http, "POST", url, json=params, headers=keyed(PAY, "v"))
        assert status == 400
        assert body["error"]["type"] == "invalid_request_error"
        assert (body["error"]["code"], body["error"]["param"]) == (code, param)
        assert body["error"]["message"]
    # Nothing was saved under the key, so the corrected request goes through.
    status, _, body = await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "v"))
    assert (status, body["status"]) == (200, "succeeded")


async def test_payments_wrong_or_missing_key_is_401_without_echoing_it(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    url = f"{sims.payments}/v1/payment_intents"
    for headers in ({}, {"Authorization": "Bearer sk_test_wrong_secret"}):
        status, _, body = await call(http, "POST", url, json=INTENT, headers=headers)
        assert status == 401
        assert "sk_test" not in str(body)
    assert (await admin(http, "GET", f"{sims.payments}/_sim/effects"))["count"] == 0


async def test_payment_succeeded_webhook_is_signed_and_verifies(
        sims: RunningSimulators, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    _, _, intent = await call(http, "POST", f"{sims.payments}/v1/payment_intents", json=INTENT,
                              headers=PAY)
    [(headers, body)] = await receiver.wait_for(1)
    verify("stripe", secrets=[STRIPE_SECRET], headers=headers, body=body)
    event = json.loads(body)
    assert event["id"].startswith("evt_")
    assert event["type"] == "payment_intent.succeeded"
    assert event["data"]["object"] == intent
    assert isinstance(event["created"], int)


async def test_capture_then_refund_sends_succeeded_and_refunded_webhooks(
        sims: RunningSimulators, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    params = {"amount": 5000, "currency": "usd", "metadata": {"invoice_id": "INV-7"}}
    _, _, intent = await call(http, "POST", f"{sims.payments}/v1/payment_intents",
                              json=params, headers=PAY)
    assert intent["status"] == "requires_confirmation"
    status, _, captured = await call(
        http, "POST", f"{sims.payments}/v1/payment_intents/{intent['id']}/capture", headers=PAY)
    assert (status, captured["status"], captured["amount_received"]) == (200, "succeeded", 5000)
    status, _, refund = await call(http, "POST", f"{sims.payments}/v1/refunds",
                                   json={"payment_intent": intent["id"], "amount": 2000},
                                   headers=keyed(PAY, "INV-7:refund"))
    assert (status, refund["amount"], refund["status"]) == (200, 2000, "succeeded")
    assert refund["id"].startswith("re_")
    status, _, body = await call(http, "POST", f"{sims.payments}/v1/refunds",
                                 json={"payment_intent": intent["id"], "amount": 3001},
                                 headers=PAY)
    assert (status, body["error"]["code"]) == (400, "amount_too_large")
    delivered = await receiver.wait_for(2)
    events = [json.loads(body) for _, body in delivered]
    assert [e["type"] for e in events] == ["payment_intent.succeeded", "charge.refunded"]
    assert events[1]["data"]["object"]["amount_refunded"] == 2000
    for headers, raw in delivered:
        verify("stripe", secrets=[STRIPE_SECRET], headers=headers, body=raw)
    effects = await admin(http, "GET", f"{sims.payments}/_sim/effects")
    assert effects["counts"] == {"charge": 1, "refund": 1}
    assert {e["client_reference"] for e in effects["effects"]} == {"INV-7"}


async def test_decline_amount_answers_402_and_sends_payment_failed(
        receiver: Receiver, http: aiohttp.ClientSession) -> None:
    config = make_config(receiver, decline_amounts=frozenset({666}))
    async with run_simulators(config) as sims:
        status, _, body = await call(http, "POST", f"{sims.payments}/v1/payment_intents",
                                     json={**INTENT, "amount": 666}, headers=PAY)
        [(headers, raw)] = await receiver.wait_for(1)
        effects = await admin(http, "GET", f"{sims.payments}/_sim/effects")
    assert status == 402
    assert (body["error"]["type"], body["error"]["code"]) == ("card_error", "card_declined")
    assert body["error"]["payment_intent"]["status"] == "requires_payment_method"
    verify("stripe", secrets=[STRIPE_SECRET], headers=headers, body=raw)
    assert json.loads(raw)["type"] == "payment_intent.payment_failed"
    assert effects["counts"] == {"decline": 1}


async def test_webhook_is_retried_on_non_2xx_and_each_attempt_logged(
        sims: RunningSimulators, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    receiver.answers = [500, 503]
    await call(http, "POST", f"{sims.payments}/v1/payment_intents", json=INTENT, headers=PAY)
    delivered = await receiver.wait_for(3)
    assert len({body for _, body in delivered}) == 1
    await admin(http, "POST", f"{sims.payments}/_sim/drain?timeout=5")
    calls = (await admin(http, "GET", f"{sims.payments}/_sim/calls"))["calls"]
    out = [(c["status"], c["attempt"], c["path"]) for c in calls if c["direction"] == "out"]
    assert out == [(500, 1, receiver.url), (503, 2, receiver.url), (200, 3, receiver.url)]


# --- accounting --------------------------------------------------------------------------

INVOICE = {"invoice_id": "INV-1001", "customer_id": "C-9", "amount_minor": 12500,
           "currency": "EUR", "lines": [{"description": "Plan", "amount_minor": 12500}]}


async def test_accounting_replay_and_mismatch(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    url = f"{sims.accounting}/api/invoices"
    first = await call(http, "POST", url, json=INVOICE, headers=keyed(ACCT, "INV-1001:post"))
    again = await call(http, "POST", url, json=INVOICE, headers=keyed(ACCT, "INV-1001:post"))
    other = await call(http, "POST", url, json={**INVOICE, "customer_id": "C-10"},
                       headers=keyed(ACCT, "INV-1001:post"))
    assert (first[0], again[0], other[0]) == (201, 201, 400)
    assert again[2] == first[2]
    assert again[1]["Idempotent-Replayed"] == "true"
    assert first[2]["invoice_ref"] == "INV-000001"
    assert first[2]["journal_ref"] == "JRN-000001"
    assert other[2]["error"]["type"] == "idempotency_error"
    journal = {"reference": "PAY-1001", "lines": [{"account": "1200", "debit": 12500},
                                                  {"account": "4000", "credit": 12500}]}
    status, _, posted = await call(http, "POST", f"{sims.accounting}/api/journals",
                                   json=journal, headers=keyed(ACCT, "PAY-1001:journal"))
    assert (status, posted["journal_ref"], posted["total_minor"]) == (201, "JRN-000002", 12500)
    unbalanced = {"reference": "X", "lines": [{"account": "1200", "debit": 10},
                                              {"account": "4000", "credit": 9}]}
    status, _, body = await call(http, "POST", f"{sims.accounting}/api/journals",
                                 json=unbalanced, headers=ACCT)
    assert (status, body["error"]["code"]) == (400, "unbalanced_journal")
    effects = await admin(http, "GET", f"{sims.accounting}/_sim/effects")
    assert effects["counts"] == {"invoice": 1, "journal": 1}
    status, _, _ = await call(http, "POST", url, json=INVOICE, headers={"Authorization": "x"})
    assert status == 401


# --- sms ---------------------------------------------------------------------------------


def messages_url(sims: RunningSimulators) -> str:
    return f"{sims.sms}/2010-04-01/Accounts/{TWILIO_SID}/Messages.json"


async def test_sms_lookup_by_client_reference_and_signed_status_callbacks(
        sims: RunningSimulators, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    form = {"To": "+447700900123", "From": "+15005550006", "Body": "Your receipt",
            "ClientReference": "sms-evt-1"}
    status, _, sent = await call(http, "POST", messages_url(sims), data=form, headers=TWILIO)
    assert status == 201
    assert sent["sid"].startswith("SM") and len(sent["sid"]) == 34
    assert sent["status"] == "queued"
    status, _, found = await call(http, "GET", messages_url(sims) + "?ClientReference=sms-evt-1",
                                  headers=TWILIO)
    assert status == 200
    assert [m["sid"] for m in found["messages"]] == [sent["sid"]]
    _, _, none = await call(http, "GET", messages_url(sims) + "?ClientReference=other",
                            headers=TWILIO)
    assert none["messages"] == []
    delivered = await receiver.wait_for(2)
    statuses = []
    for headers, body in delivered:
        verify("twilio", secrets=[TWILIO_TOKEN], headers=headers, body=body, url=receiver.url)
        params = dict(parse_qsl(body.decode()))
        assert params["MessageSid"] == sent["sid"]
        statuses.append(params["MessageStatus"])
    assert statuses == ["sent", "delivered"]
    _, _, found = await call(http, "GET", messages_url(sims) + "?ClientReference=sms-evt-1",
                             headers=TWILIO)
    assert found["messages"][0]["status"] == "delivered"
    effects = await admin(http, "GET", f"{sims.sms}/_sim/effects")
    assert (effects["count"], effects["effects"][0]["client_reference"]) == (1, "sms-evt-1")


async def test_sms_bad_number_ends_undelivered_and_bad_input_is_400(
        sims: RunningSimulators, http: aiohttp.ClientSession, receiver: Receiver) -> None:
    form = {"To": "+15005550009", "From": "+15005550006", "Body": "hi"}
    status, _, _ = await call(http, "POST", messages_url(sims), data=form, headers=TWILIO)
    assert status == 201
    delivered = await receiver.wait_for(2)
    final = parse_qs(delivered[1][1].decode())
    assert (final["MessageStatus"], final["ErrorCode"]) == (["undelivered"], ["30003"])
    status, _, body = await call(http, "POST", messages_url(sims),
                                 data={**form, "To": "12"}, headers=TWILIO)
    assert (status, body["code"], body["status"]) == (400, 21211, 400)
    status, _, body = await call(http, "POST", messages_url(sims), data=form,
                                 headers={"Authorization": aiohttp.encode_basic_auth(
                                     TWILIO_SID, "wrong")})
    assert (status, body["code"]) == (401, 20003)


# --- email -------------------------------------------------------------------------------


async def test_email_send_invalid_to_and_token(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    mail = {"From": "billing@example.com", "To": "Ann <ann@example.org>",
            "TemplateAlias": "receipt", "TemplateModel": {"amount": "125.00"},
            "Metadata": {"client_reference": "mail-evt-1"}}
    url = f"{sims.email}/email"
    status, _, sent = await call(http, "POST", url, json=mail, headers=keyed(MAIL, "m1"))
    again = await call(http, "POST", url, json=mail, headers=keyed(MAIL, "m1"))
    assert (status, sent["ErrorCode"], sent["Message"]) == (200, 0, "OK")
    assert sent["MessageID"] and sent["SubmittedAt"]
    assert again[2] == sent
    status, _, body = await call(http, "POST", url, json={**mail, "To": "not-an-address"},
                                 headers=MAIL)
    assert (status, body["ErrorCode"]) == (422, 300)
    status, _, body = await call(http, "POST", url, json=mail, headers={})
    assert (status, body["ErrorCode"]) == (401, 10)
    _, _, found = await call(http, "GET", f"{sims.email}/messages/outbound"
                             "?metadata_client_reference=mail-evt-1", headers=MAIL)
    assert [m["MessageID"] for m in found["Messages"]] == [sent["MessageID"]]
    effects = await admin(http, "GET", f"{sims.email}/_sim/effects")
    assert effects["counts"] == {"email": 1}


# --- faults ------------------------------------------------------------------------------


async def test_rate_limit_answers_429_with_retry_after(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    await admin(http, "POST", f"{sims.payments}/_sim/faults",
                {"rate_limit": 2, "retry_after_s": 3})
    url = f"{sims.payments}/v1/payment_intents"
    answers = [await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "r"))
               for _ in range(3)]
    assert [a[0] for a in answers] == [429, 429, 200]
    assert [a[1].get("Retry-After") for a in answers[:2]] == ["3", "3"]
    assert answers[0][2]["error"]["code"] == "rate_limit"
    calls = (await admin(http, "GET", f"{sims.payments}/_sim/calls"))["calls"]
    assert [c["fault"] for c in calls] == ["rate_limit", "rate_limit", None]


async def test_burst_of_500s_is_not_saved_under_the_key(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    await admin(http, "POST", f"{sims.base_url}/_sim/faults",
                {"accounting": {"burst_500": 3}})
    url = f"{sims.accounting}/api/invoices"
    statuses = [(await call(http, "POST", url, json=INVOICE, headers=keyed(ACCT, "b")))[0]
                for _ in range(5)]
    assert statuses == [500, 500, 500, 201, 201]
    effects = await admin(http, "GET", f"{sims.accounting}/_sim/effects")
    assert effects["count"] == 1
    faults = await admin(http, "GET", f"{sims.accounting}/_sim/faults")
    assert faults["faults"]["burst_500"] == 0


async def test_reject_all_is_permanent_until_cleared(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    await admin(http, "POST", f"{sims.base_url}/_sim/faults",
                {"*": {"reject_all": "account suspended", "reject_status": 403}})
    form = {"To": "+447700900123", "From": "+15005550006", "Body": "x"}
    status, _, body = await call(http, "POST", messages_url(sims), data=form, headers=TWILIO)
    assert (status, body["message"]) == (403, "account suspended")
    status, _, body = await call(http, "POST", f"{sims.payments}/v1/payment_intents",
                                 json=INTENT, headers=PAY)
    assert (status, body["error"]["message"]) == (403, "account suspended")
    await admin(http, "POST", f"{sims.sms}/_sim/faults", {"reject_all": None})
    status, _, _ = await call(http, "POST", messages_url(sims), data=form, headers=TWILIO)
    assert status == 201


async def test_timeout_after_effect_then_retry_replays(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    await admin(http, "POST", f"{sims.payments}/_sim/faults",
                {"timeout_rate": 1.0, "timeout_s": 5, "timeout_after_effect": True})
    url = f"{sims.payments}/v1/payment_intents"
    with pytest.raises(asyncio.TimeoutError):
        async with http.post(url, json=INTENT, headers=keyed(PAY, "t"),
                             timeout=aiohttp.ClientTimeout(total=0.3)) as resp:
            await resp.read()
    await admin(http, "POST", f"{sims.payments}/_sim/faults", {"timeout_rate": 0.0})
    status, headers, body = await call(http, "POST", url, json=INTENT, headers=keyed(PAY, "t"))
    assert (status, headers["Idempotent-Replayed"], body["status"]) == (200, "true", "succeeded")
    effects = await admin(http, "GET", f"{sims.payments}/_sim/effects")
    assert effects["count"] == 1


async def test_timeout_before_effect_answers_504_late_and_does_nothing(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    await admin(http, "POST", f"{sims.email}/_sim/faults", {"timeout_rate": 1.0, "timeout_s": 0.3})
    mail = {"From": "a@example.com", "To": "b@example.com", "Subject": "s"}
    started = time.monotonic()
    status, _, body = await call(http, "POST", f"{sims.email}/email", json=mail, headers=MAIL)
    assert time.monotonic() - started >= 0.3
    assert (status, body["ErrorCode"]) == (504, 504)
    assert (await admin(http, "GET", f"{sims.email}/_sim/effects"))["count"] == 0


async def test_bad_fault_change_is_400_and_changes_nothing(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    async with http.post(f"{sims.base_url}/_sim/faults",
                         json={"payments": {"latency_ms": 5}, "sms": {"eror_rate": 1}}) as resp:
        assert resp.status == 400
        assert "unknown fault 'eror_rate'" in (await resp.json())["error"]
    faults = await admin(http, "GET", f"{sims.payments}/_sim/faults")
    assert faults["faults"]["latency_ms"] == 0.0


# --- call log ----------------------------------------------------------------------------


async def test_call_log_pages_with_since_and_reset_clears_everything(
        sims: RunningSimulators, http: aiohttp.ClientSession) -> None:
    url = f"{sims.accounting}/api/journals"
    lines = [{"account": "1", "debit": 1}, {"account": "2", "credit": 1}]
    for i in range(5):
        await call(http, "POST", url, json={"reference": f"J{i}", "lines": lines},
                   headers=keyed(ACCT, f"J{i}"))
    await call(http, "POST", url, json={"reference": "J0", "lines": lines},
               headers=keyed(ACCT, "J0"))
    page = await admin(http, "GET", f"{sims.accounting}/_sim/calls?since=2&limit=3")
    assert [c["seq"] for c in page["calls"]] == [3, 4, 5]
    assert (page["next_since"], page["last_seq"]) == (5, 6)
    rest = await admin(http, "GET", f"{sims.accounting}/_sim/calls?since=5")
    assert [(c["seq"], c["replayed"], c["client_reference"]) for c in rest["calls"]] == [
        (6, True, "J0")]
    first = page["calls"][0]
    assert (first["method"], first["path"], first["idempotency_key"], first["status"]) == (
        "POST", "/accounting/api/journals", "J2", 201)
    assert first["body"] == {"reference": "J2", "lines": lines}
    assert first["effect"] == "journal" and first["ref"] == "JRN-000003"
    effects = await admin(http, "GET", f"{sims.accounting}/_sim/effects?kind=journal")
    assert effects["count"] == 5
    await admin(http, "POST", f"{sims.base_url}/_sim/reset")
    stats = await admin(http, "GET", f"{sims.base_url}/_sim/stats")
    assert stats["accounting"] == {"calls": 0, "last_seq": 0, "effects": {},
                                   "pending_callbacks": 0, "idempotency_keys": 0}
    status, headers, body = await call(http, "POST", url,
                                       json={"reference": "J0", "lines": lines},
                                       headers=keyed(ACCT, "J0"))
    assert (status, "Idempotent-Replayed" in headers, body["journal_ref"]) == (
        201, False, "JRN-000001")


# --- ways to run -------------------------------------------------------------------------


async def test_one_simulator_alone_at_the_root(http: aiohttp.ClientSession) -> None:
    config = make_config(faults={"payments": FaultConfig(burst_500=1)})
    async with run_simulators(config, only="payments") as sims:
        assert (sims.payments, sims.sms) == (sims.base_url, None)
        url = f"{sims.base_url}/v1/payment_intents"
        first = await call(http, "POST", url, json=INTENT, headers=PAY)
        second = await call(http, "POST", url, json=INTENT, headers=PAY)
        await admin(http, "POST", f"{sims.base_url}/_sim/reset")
        after_reset = await call(http, "POST", url, json=INTENT, headers=PAY)
    assert (first[0], second[0], after_reset[0]) == (500, 200, 500)


async def test_command_line_serves_until_sigterm(http: aiohttp.ClientSession) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "hub.simulators", "--port", "0", "--latency-ms", "1",
        "--faults", '{"sms": {"error_rate": 1.0}}', stdout=asyncio.subprocess.PIPE)
    try:
        assert proc.stdout is not None
        line = await asyncio.wait_for(proc.stdout.readline(), 20)
        started = json.loads(line)
        health = await admin(http, "GET", started["listening"] + "/_sim/health")
        faults = await admin(http, "GET", started["listening"] + "/_sim/faults")
    finally:
        proc.terminate()
        code = await asyncio.wait_for(proc.wait(), 10)
    assert code == 0
    assert health["ok"] is True
    assert started["simulators"]["payments"] == started["listening"] + "/payments"
    assert faults["sms"]["faults"]["error_rate"] == 1.0
    assert faults["payments"]["faults"]["latency_ms"] == 1.0
