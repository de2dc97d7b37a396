"""The adapters' pure parts: registry, handled types, idempotency keys, option checks."""
from __future__ import annotations

from typing import Any

import pytest

from consumers.registry import ADAPTERS
from hub.errors import ConfigError
from hub.routing import KINDS, IntegrationConfig
from tests.provider_kinds import (
    email_requested,
    intent_requested,
    invoice_issued,
    payment_succeeded,
    post_requested,
    sms_requested,
)

pytestmark = pytest.mark.unit

CREDENTIALS = {"payments": {"api_key": "k"}, "sms": {"account_sid": "AC1", "auth_token": "t"},
               "accounting": {"token": "t"}, "email": {"token": "t"}}
OPTIONS: dict[str, dict[str, Any]] = {"payments": {}, "accounting": {},
                                      "sms": {"from": "+15550001111"},
                                      "email": {"from": "billing@example.com"}}


def build(kind: str, **options: Any) -> Any:
    config = IntegrationConfig(name=kind, kind=kind, base_url="http://sim",
                               credentials=CREDENTIALS[kind],
                               options={**OPTIONS[kind], **options})
    return ADAPTERS[kind](config, None, pool=None)  # type: ignore[arg-type]


def test_every_kind_has_an_adapter_that_handles_exactly_its_types() -> None:
    assert sorted(ADAPTERS) == sorted(KINDS)
    for kind in KINDS:
        assert build(kind).handles == KINDS[kind].types


def test_keys_are_business_entity_and_action() -> None:
    accounting, email, sms = build("accounting"), build("email"), build("sms")
    assert accounting.idempotency_key(invoice_issued("INV-1")) == "INV-1:post_invoice"
    assert accounting.idempotency_key(post_requested("INV-1")) == "INV-1:post_invoice"
    paid = payment_succeeded("pi_1", "INV-1")
    assert (accounting.idempotency_key(paid), accounting.action(paid)) == (
        "pi_1:record_payment", "record_payment")
    assert (email.idempotency_key(paid), email.action(paid)) == ("pi_1:send_receipt", "send_receipt")
    asked = email_requested("ada@example.com")
    assert email.idempotency_key(asked) == f"{asked.id}:send_email"
    assert email.idempotency_key(intent_requested("INV-1", "ada@example.com")) is None
    assert (sms.idempotency_key(sms_requested("+15550100100")), sms.action(sms_requested("+1"))) == (
        None, "send_sms")


@pytest.mark.parametrize(("kind", "options", "message"), [
    ("sms", {"from": None}, "integrations.sms.options: an sms integration needs a sender: "
                            'options = { from = "+15550001111" } or { messaging_service_sid = "MG..." }'),
    ("sms", {"templates": {"x": 1}}, "integrations.sms.options.templates: expected a table of "
                                     "strings, got {'x': 1}"),
    ("email", {"from": None}, "integrations.email.options.from: missing; email integrations need "
                              'the sender address, e.g. billing@example.com (options = { from = "..." })'),
    ("email", {"receipt_to": ""}, "integrations.email.options.receipt_to: expected a non-empty "
                                  "string, got ''"),
])
def test_wrong_options_stop_the_start(kind: str, options: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        build(kind, **options)
    assert str(caught.value) == message
