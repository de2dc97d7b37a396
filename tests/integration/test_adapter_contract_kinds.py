"""The adapter contract run against the SMS, accounting and e-mail adapters and their
simulators, plus what each one promises beyond it."""
from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import pytest

from consumers.accounting import AccountingIntegration
from consumers.email import EmailIntegration
from consumers.errors import PermanentError, TransientError
from consumers.ports import Integration
from consumers.sms import SmsIntegration
from hub.db import create_pool
from hub.envelope import Event
from hub.errors import ConfigError
from hub.routing import IntegrationConfig
from hub.simulators.config import (
    DEV_ACCOUNTING_TOKEN,
    DEV_POSTMARK_TOKEN,
    DEV_TWILIO_ACCOUNT_SID,
    DEV_TWILIO_AUTH_TOKEN,
)
from tests.integration.test_adapter_contract import AdapterContract
from tests.provider_kinds import (
    RECEIPTS_TO,
    SENDER_EMAIL,
    SENDER_NUMBER,
    delivery_status,
    email_requested,
    intent_requested,
    invoice_issued,
    payment_succeeded,
    post_requested,
    sms_requested,
)
from tests.provider_sync import sim

pytestmark = pytest.mark.integration


class _WithDatabase(AdapterContract):
    """SMS reserves sends and e-mail reads receipt addresses in PostgreSQL."""

    pool: Any = None

    @pytest.fixture(autouse=True)
    async def _database(self, servers: Any, db_schema: str) -> AsyncIterator[None]:
        self.pool = await create_pool(servers.database_url, db_schema, min_size=1, max_size=4)
        yield
        await self.pool.close()


def _config(kind: str, url: str, credentials: dict[str, str], **options: Any) -> IntegrationConfig:
    return IntegrationConfig(name=kind, kind=kind, base_url=url, credentials=credentials,
                             timeout_s=2.0, options=options)


class TestSmsAdapter(_WithDatabase):
    simulator = kind = "sms"
    table = "sms_messages"

    def adapter(self, url: str, session: aiohttp.ClientSession, **options: Any) -> Integration:
        creds = {"account_sid": DEV_TWILIO_ACCOUNT_SID, "auth_token": DEV_TWILIO_AUTH_TOKEN}
        return SmsIntegration(_config("sms", url, creds, **{"from": SENDER_NUMBER, **options}),
                              session, pool=self.pool)

    def event(self, n: int) -> Event:
        return sms_requested(f"+1555010{n:04d}", f"INV-{n}")

    def bad_event(self) -> Event:
        return sms_requested("12345")

    async def test_a_second_attempt_asks_before_sending(self) -> None:
        async with self.provider() as (adapter, url):
            event = self.event(7)
            first = await adapter.perform(event, None)
            second = await adapter.perform(event, None)
            calls = [(c["method"], c["status"]) for c in (await sim(url, "/_sim/calls"))["calls"]]
            effects = (await sim(url, "/_sim/effects"))["effects"]
        assert calls == [("POST", 201), ("GET", 200)]
        assert [e["client_reference"] for e in effects] == [event.id]
        assert first.provider_reference == second.provider_reference == effects[0]["ref"]
        assert second.details == {"resolved_by": "lookup", "copies": 1}
        assert first.request["Body"] == "Invoice INV-7 has been issued."

    async def test_an_answer_lost_after_the_send_is_resolved_by_lookup(self) -> None:
        async with self.provider() as (adapter, url):
            await sim(url, "/_sim/faults", {"timeout_rate": 1.0, "timeout_after_effect": True,
                                            "timeout_s": 3.0})
            event = self.event(8)
            with pytest.raises(TransientError):
                await adapter.perform(event, None)
            await sim(url, "/_sim/faults", {"timeout_rate": 0.0})
            # A new process (no memory of the first): the worker asks first, finds it.
            again = self.adapter(url, adapter._session)
            found = await again.resolve_interrupted(event)
            effects = (await sim(url, "/_sim/effects"))["effects"]
        assert found is not None and found.provider_reference == effects[0]["ref"]
        assert len(effects) == 1

    async def test_nothing_found_then_one_send_without_a_second_lookup(self) -> None:
        async with self.provider() as (adapter, url):
            event = self.event(9)
            assert await adapter.resolve_interrupted(event) is None
            await adapter.perform(event, None)
            calls = [(c["method"], c["status"]) for c in (await sim(url, "/_sim/calls"))["calls"]]
        assert calls == [("GET", 200), ("POST", 201)]

    async def test_unknown_template_and_unknown_message_send_nothing(self) -> None:
        async with self.provider() as (adapter, url):
            with pytest.raises(PermanentError, match="no SMS template 'nope'"):
                await adapter.perform(sms_requested("+15550100100", template="nope"), None)
            with pytest.raises(TransientError, match="whose send is not recorded"):
                await adapter.perform(delivery_status("SMunknown", "delivered", "+1555"), None)
            assert (await sim(url, "/_sim/calls"))["calls"] == []

    async def test_a_sender_is_required(self) -> None:
        creds = {"account_sid": "AC1", "auth_token": "t"}
        with pytest.raises(ConfigError, match=r"integrations\.sms\.options: an sms integration"):
            SmsIntegration(_config("sms", "http://x", creds), None, pool=None)


class TestAccountingAdapter(AdapterContract):
    simulator = kind = "accounting"
    table = "accounting_posts"

    def adapter(self, url: str, session: aiohttp.ClientSession) -> Integration:
        return AccountingIntegration(_config("accounting", url, {"token": DEV_ACCOUNTING_TOKEN}),
                                     session)

    def event(self, n: int) -> Event:
        return post_requested(f"INV-{n}", amount=1000 + n)

    def bad_event(self) -> Event:
        return post_requested("INV-bad", currency="XXX")

    async def test_issued_and_post_requested_post_one_invoice(self) -> None:
        async with self.provider() as (adapter, url):
            issued, requested = invoice_issued("INV-1"), post_requested("INV-1")
            assert adapter.idempotency_key(issued) == adapter.idempotency_key(requested)
            first = await adapter.perform(issued, adapter.idempotency_key(issued))
            second = await adapter.perform(requested, adapter.idempotency_key(requested))
            paid = payment_succeeded("pi_1", "INV-1")
            journal = await adapter.perform(paid, adapter.idempotency_key(paid))
            effects = (await sim(url, "/_sim/effects"))["counts"]
        assert effects == {"invoice": 1, "journal": 1}
        assert first.provider_reference == second.provider_reference == "JRN-000001"
        assert (journal.action, journal.provider_reference) == ("record_payment", "JRN-000002")
        assert adapter.idempotency_key(paid) == "pi_1:record_payment"


class TestEmailAdapter(_WithDatabase):
    simulator = kind = "email"
    table = "email_messages"

    def adapter(self, url: str, session: aiohttp.ClientSession, **options: Any) -> Integration:
        opts = {"from": SENDER_EMAIL, "receipt_to": RECEIPTS_TO, **options}
        return EmailIntegration(_config("email", url, {"token": DEV_POSTMARK_TOKEN}, **opts),
                                session, pool=self.pool)

    def event(self, n: int) -> Event:
        return email_requested(f"ada{n}@example.com")

    def bad_event(self) -> Event:
        return email_requested("not-an-address")

    async def test_a_receipt_goes_to_the_invoice_customer_else_to_receipt_to(self) -> None:
        async with self.provider() as (adapter, url):
            intent = intent_requested("INV-1", "ada@example.com")
            remembered = await adapter.perform(intent, adapter.idempotency_key(intent))
            async with self.pool.acquire() as conn:
                await adapter.record(conn, intent, remembered)
            known, unknown = payment_succeeded("pi_1", "INV-1"), payment_succeeded("pi_2", "INV-2")
            for paid in (known, unknown):
                await adapter.perform(paid, adapter.idempotency_key(paid))
            calls = (await sim(url, "/_sim/calls"))["calls"]
        assert [(c["body"]["To"], c["idempotency_key"]) for c in calls] == [
            ("ada@example.com", "pi_1:send_receipt"), (RECEIPTS_TO, "pi_2:send_receipt")]
        assert calls[0]["body"]["TemplateAlias"] == "receipt"

    async def test_no_address_is_a_permanent_error(self) -> None:
        async with self.provider() as (_, url), aiohttp.ClientSession() as session:
            adapter = EmailIntegration(
                _config("email", url, {"token": DEV_POSTMARK_TOKEN}, **{"from": SENDER_EMAIL}),
                session, pool=self.pool)
            paid = payment_succeeded("pi_3", "INV-3")
            with pytest.raises(PermanentError, match="no e-mail address for the receipt"):
                await adapter.perform(paid, adapter.idempotency_key(paid))
            assert (await sim(url, "/_sim/calls"))["calls"] == []
