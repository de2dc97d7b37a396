"""The SMS integration: a Twilio-like Messages API (the SMS simulator, or Twilio).

sms.requested ⇒ POST /2010-04-01/Accounts/<sid>/Messages.json. Twilio takes no
idempotency key, so a send is never repeated blindly:
  - before calling, the send is reserved in `sms_messages` (committed at once) with the
    client reference = the event id, which any later attempt recomputes from the event;
  - an attempt that finds the reservation already made (an in-process retry after a
    timeout, a retry topic, a restart after a crash, a redrive) first asks the provider
    `GET Messages.json?ClientReference=<event id>` (a simulator extension; with real
    Twilio, put the reference where your account can search it) and takes the message
    found instead of sending again. A failed lookup is a TransientError: no send.
  - "nothing found" is believed only once no earlier send can still be under way: a send
    that timed out may be carried out seconds later, after the lookup. Unless the last
    send was refused outright (a 4xx), the message is sent again only `resend_after_s`
    (default 30) after the latest send began; until then the attempt fails as transient,
    to be retried, and asks again.
sms.delivery_status (Twilio status callbacks through the ingress) ⇒ no provider call:
the sent message's row, found by MessageSid (callbacks carry no client reference),
moves forward to the new status. A callback for a send not yet recorded is retried.

Options: `from` (a sender number) or `messaging_service_sid`; `status_callback` (the
StatusCallback URL sent with each message); `templates` (name ⇒ text with {param}
fields, added to the built-in ones below); `resend_after_s` (above; longer than the
provider can take to carry out a request).
"""
from __future__ import annotations

import base64
from collections.abc import Mapping
from typing import Any

import aiohttp

from consumers import sms_store
from consumers.errors import PermanentError, ProviderError, TransientError, classify_http
from consumers.http import Answer, exchange, unexpected
from consumers.options import optional_seconds, optional_str, str_table
from consumers.ports import Effect, Integration
from hub.envelope import Event
from hub.errors import ConfigError
from hub.routing import KINDS, IntegrationConfig

__all__ = ["TEMPLATES", "SmsIntegration"]

_SEND = "sms.requested"
_STATUS = "sms.delivery_status"
_RESEND_AFTER_S = 30.0
TEMPLATES: Mapping[str, str] = {
    "invoice_issued": "Invoice {invoice} has been issued.",
    "payment_receipt": "Thank you: we received your payment for invoice {invoice}.",
}


class SmsIntegration(Integration):
    provider = "twilio"
    handles = KINDS["sms"].types

    def __init__(self, config: IntegrationConfig, session: aiohttp.ClientSession, *,
                 pool: Any) -> None:
        self.name = config.name
        sid = config.credentials["account_sid"]
        self._messages = f"{config.base_url}/2010-04-01/Accounts/{sid}/Messages.json"
        basic = base64.b64encode(f"{sid}:{config.credentials['auth_token']}".encode()).decode()
        self._headers = {"Authorization": f"Basic {basic}", "Accept": "application/json"}
        self._session = session
        self._pool = pool
        self._timeout = aiohttp.ClientTimeout(total=config.timeout_s)
        self._sender: dict[str, str] = {}
        for option, param in (("from", "From"), ("messaging_service_sid", "MessagingServiceSid")):
            value = optional_str(config, option)
            if value is not None:
                self._sender[param] = value
        if not self._sender:
            raise ConfigError(f"integrations.{config.name}.options: an sms integration needs a "
                              "sender: options = { from = \"+15550001111\" } or "
                              "{ messaging_service_sid = \"MG...\" }")
        self._callback = optional_str(config, "status_callback")
        self._templates = {**TEMPLATES, **str_table(config, "templates")}
        self._resend_after = optional_seconds(config, "resend_after_s", _RESEND_AFTER_S)
        self._looked_up: set[str] = set()  # asked the provider: nothing sent yet
        self._refused: set[str] = set()  # the last send was refused: none is under way

    def action(self, event: Event) -> str:
        return "update_delivery_status" if event.type == _STATUS else "send_sms"

    def idempotency_key(self, event: Event) -> None:
        return None

    async def perform(self, event: Event, idempotency_key: str | None) -> Effect:
        if event.type == _STATUS:
            return await self._status(event)
        reference = event.id
        body = {"To": event.data["to"], "Body": self._text(event), **self._sender,
                "ClientReference": reference}
        if self._callback is not None:
            body["StatusCallback"] = self._callback
        first = await sms_store.reserve(self._pool, self.name, event, reference)
        asked = reference in self._looked_up
        self._looked_up.discard(reference)
        if not first:
            if not asked:
                found = await self._lookup(reference, body)
                if found is not None:
                    return found
            await self._before_resend(event, body)
        answer = await self._call("POST", body, form=body)
        if answer.ok and isinstance(answer.body, dict) and answer.body.get("sid"):
            return _effect(answer.body, body)
        if 400 <= answer.status < 500:
            self._refused.add(reference)  # a 5xx may come from a gateway after the send
        raise self._error(answer, body)

    async def _before_resend(self, event: Event, request: Mapping[str, Any]) -> None:
        """Allow a send after a lookup found nothing only when no earlier send can still be
        carried out; else _SendMayBeUnderWay, retried once `resend_after_s` has passed."""
        reference = event.id
        if reference in self._refused:
            self._refused.discard(reference)
        else:
            age = await sms_store.send_age(self._pool, self.name, event.id)
            if age is not None and age < self._resend_after:
                wait = self._resend_after - age
                raise _SendMayBeUnderWay(
                    f"no message with client reference {reference} found, but a send of it "
                    f"began {age:.1f} s ago and may still be carried out; asking again in "
                    f"{wait:.1f} s (integrations.{self.name}.options.resend_after_s)",
                    reason="earlier send may be under way", retry_after=wait,
                    request=dict(request))
        await sms_store.mark_resend(self._pool, self.name, event.id)

    async def resolve_interrupted(self, event: Event) -> Effect | None:
        """The message sent earlier for this event (asked by client reference), or None."""
        if event.type != _SEND:
            return None
        body = {"To": event.data["to"], "ClientReference": event.id}
        found = await self._lookup(event.id, body)
        if found is None:
            self._looked_up.add(event.id)
        return found

    async def record(self, conn: Any, event: Event, effect: Effect) -> None:
        if event.type == _SEND:
            await sms_store.record_send(conn, self.name, event, event.id, effect)
        elif effect.ok:
            d = event.data
            await sms_store.update_status(conn, self.name, d["message_id"], d["status"],
                                          d.get("error_code"))

    async def _status(self, event: Event) -> Effect:
        d = event.data
        request = {"message_id": d["message_id"], "status": d["status"]}
        if not await sms_store.known_message(self._pool, self.name, d["message_id"]):
            # The send's record may still be on its way (a retried send): try again later.
            raise TransientError(f"delivery status {d['status']!r} for message {d['message_id']},"
                                 " whose send is not recorded (yet)",
                                 reason="unknown message", request=request)
        return Effect(action="update_delivery_status", status=d["status"],
                      provider_reference=d["message_id"], request=request, response=None,
                      details={"error_code": d.get("error_code")})

    async def _lookup(self, reference: str, body: Mapping[str, Any]) -> Effect | None:
        query = {"ClientReference": reference}
        answer = await self._call("GET", query, query=query)
        if not answer.ok:
            raise self._error(answer, query)
        messages = answer.body.get("messages") if isinstance(answer.body, dict) else None
        if not isinstance(messages, list):
            raise unexpected(answer, query)
        if not messages:
            return None
        return _effect(messages[0], body, resolved_by="lookup", copies=len(messages))

    async def _call(self, method: str, request: Mapping[str, Any], *,
                    form: Mapping[str, str] | None = None,
                    query: Mapping[str, str] | None = None) -> Answer:
        return await exchange(self._session, method, self._messages, limit=self._timeout,
                              request=request, form=form, query=query, headers=self._headers)

    def _text(self, event: Event) -> str:
        d = event.data
        if d.get("body"):
            return str(d["body"])
        template = self._templates.get(d["template"])
        if template is None:
            raise PermanentError(f"no SMS template {d['template']!r}; known: "
                                 f"{sorted(self._templates)} (add it under "
                                 f"integrations.{self.name}.options.templates)",
                                 reason="unknown template", request=dict(d))
        try:
            return template.format_map(d["params"])
        except (KeyError, IndexError, ValueError) as exc:
            raise PermanentError(f"SMS template {d['template']!r} cannot be filled from params "
                                 f"{sorted(d['params'])}: {exc!r}", reason="template params",
                                 request=dict(d)) from None

    def _error(self, answer: Answer, request: Mapping[str, Any]) -> ProviderError:
        body = answer.body if isinstance(answer.body, dict) else {}
        reason = f"{body['message']} ({body.get('code')})" if body.get("message") else None
        return classify_http(answer.status, answer.headers, answer.body, reason=reason,
                             request=request) or unexpected(answer, request)


class _SendMayBeUnderWay(TransientError):
    """Nothing was sent: an earlier send may still land. Not the provider's failure."""

    @property
    def counts_against_provider(self) -> bool:
        return False


def _effect(message: Mapping[str, Any], request: Mapping[str, Any], **details: Any) -> Effect:
    return Effect(action="send_sms", status=str(message.get("status") or "queued"),
                  provider_reference=str(message["sid"]), request=request, response=dict(message),
                  details=details)
