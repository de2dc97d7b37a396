"""A Twilio-like SMS API: send a message, look messages up, signed status callbacks.

No idempotency key, like Twilio: a resent request is a second message. The client
passes `ClientReference` (a simulator extension) so an interrupted send can be
resolved with `GET .../Messages.json?ClientReference=...` instead of sending blindly.
"""
from __future__ import annotations

import re
import time
import uuid
from base64 import b64decode
from typing import Any
from urllib.parse import urlencode

from aiohttp import web

from hub import signatures
from hub.simulators.admin import simulator_app
from hub.simulators.callbacks import Delivery
from hub.simulators.config import SimulatorConfig
from hub.simulators.params import ApiError
from hub.simulators.pipeline import Outcome, SimCore

__all__ = ["TwilioStyle", "sms_app"]

API = "/2010-04-01/Accounts/{sid}"
_E164 = re.compile(r"^\+[1-9]\d{6,14}$")
_CODES = {"authentication": 20003, "not_found": 20404, "rate_limit": 20429,
          "server": 20500, "timeout": 20504, "rejected": 21610}


class TwilioStyle:
    idempotency_header: str | None = None

    def __init__(self, account_sid: str, auth_token: str) -> None:
        self._sid = account_sid
        self._token = auth_token

    def authenticate(self, request: web.Request) -> None:
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        user = password = ""
        if scheme.lower() == "basic":
            try:
                user, _, password = b64decode(encoded).decode().partition(":")
            except ValueError:
                pass
        if user != self._sid or password != self._token:
            raise ApiError(401, "authentication", "Authenticate")
        if request.match_info.get("sid") != self._sid:
            raise ApiError(404, "not_found", f"The requested resource {request.path} "
                           "was not found")

    def render_error(self, error: ApiError) -> dict[str, Any]:
        code = error.code if isinstance(error.code, int) else _CODES.get(error.kind, 21600)
        return {"code": code, "message": error.message,
                "more_info": f"https://www.twilio.com/docs/errors/{code}",
                "status": error.status}


def sms_app(config: SimulatorConfig) -> web.Application:
    style = TwilioStyle(config.twilio_account_sid, config.twilio_auth_token)
    app, core = simulator_app("sms", style, config)
    sim = _Sms(config, core)
    core.on_reset.append(sim.clear)
    app.add_routes([
        web.post(API + "/Messages.json", sim.send),
        web.get(API + "/Messages.json", sim.lookup),
        web.get(API + "/Messages/{message_sid}.json", sim.fetch),
    ])
    return app


def _now_rfc2822() -> str:
    return time.strftime("%a, %d %b %Y %H:%M:%S +0000", time.gmtime())


def _reference(params: dict[str, Any]) -> str | None:
    value = params.get("ClientReference")
    return value if isinstance(value, str) and value else None


class _Sms:
    def __init__(self, config: SimulatorConfig, core: SimCore) -> None:
        self._config = config
        self._core = core
        self._bad_number = re.compile(config.sms_bad_number_pattern)
        self._messages: dict[str, dict[str, Any]] = {}
        self._by_reference: dict[str, list[str]] = {}

    def clear(self) -> None:
        self._messages.clear()
        self._by_reference.clear()

    async def send(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._send, _reference)

    async def lookup(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._list, _reference)

    async def fetch(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._fetch)

    def _send(self, request: web.Request, params: dict[str, Any]) -> Outcome:
        to = _text(params, "To")
        sender = _text(params, "From")
        service = _text(params, "MessagingServiceSid")
        body = _text(params, "Body")
        if not to:
            raise ApiError(400, "invalid_request", "A 'To' phone number is required.",
                           code=21604)
        if not _E164.match(to):
            raise ApiError(400, "invalid_request", f"The 'To' number {to} is not a valid "
                           "phone number.", code=21211)
        if not sender and not service:
            raise ApiError(400, "invalid_request", "A 'From' phone number is required.",
                           code=21603)
        if not body:
            raise ApiError(400, "invalid_request", "Message body is required.", code=21602)
        sid = "SM" + uuid.uuid4().hex
        account = request.match_info["sid"]
        reference = _reference(params)
        message: dict[str, Any] = {
            "sid": sid, "account_sid": account, "messaging_service_sid": service or None,
            "to": to, "from": sender or None, "body": body, "status": "queued",
            "num_segments": str(1 + len(body) // 160), "direction": "outbound-api",
            "api_version": "2010-04-01", "date_created": _now_rfc2822(),
            "date_updated": _now_rfc2822(), "date_sent": None, "error_code": None,
            "error_message": None, "price": None, "price_unit": "USD",
            "uri": f"/2010-04-01/Accounts/{account}/Messages/{sid}.json",
            "client_reference": reference,
        }
        self._messages[sid] = message
        if reference is not None:
            self._by_reference.setdefault(reference, []).append(sid)
        callback = _text(params, "StatusCallback") or self._config.sms_status_callback_url
        return Outcome(201, dict(message), effect="sms", ref=sid, client_reference=reference,
                       then=lambda: self._progress(message, callback))

    def _list(self, request: web.Request, params: dict[str, Any]) -> Outcome:
        reference = _reference(params)
        if reference is not None:
            found = [self._messages[sid] for sid in self._by_reference.get(reference, [])]
        else:
            found = list(self._messages.values())
        to = params.get("To")
        if to:
            found = [m for m in found if m["to"] == to]
        uri = request.path_qs
        return Outcome(200, {"messages": [dict(m) for m in found], "page": 0,
                             "page_size": len(found), "first_page_uri": uri,
                             "next_page_uri": None, "previous_page_uri": None, "uri": uri})

    def _fetch(self, request: web.Request, _: dict[str, Any]) -> Outcome:
        message = self._messages.get(request.match_info["message_sid"])
        if message is None:
            raise ApiError(404, "not_found",
                           f"The requested resource {request.path} was not found")
        return Outcome(200, dict(message))

    def _progress(self, message: dict[str, Any], url: str | None) -> None:
        """Schedule sent -> delivered (or -> undelivered, 30003, for a bad number)."""
        final: tuple[str, int | None] = ("delivered", None)
        if self._bad_number.search(message["to"]):
            final = ("undelivered", 30003)
        steps = [("sent", None), final]
        self._core.callbacks.send([self._status_delivery(message, url, s, e) for s, e in steps])

    def _status_delivery(
        self, message: dict[str, Any], url: str | None, status: str, error_code: int | None
    ) -> Delivery:
        params = {
            "AccountSid": message["account_sid"], "ApiVersion": "2010-04-01",
            "From": message["from"] or "", "MessageSid": message["sid"],
            "MessageStatus": status, "SmsSid": message["sid"], "SmsStatus": status,
            "To": message["to"],
        }
        if message["messaging_service_sid"]:
            params["MessagingServiceSid"] = message["messaging_service_sid"]
        if error_code is not None:
            params["ErrorCode"] = str(error_code)
        body = urlencode(sorted(params.items())).encode()
        token = self._config.twilio_auth_token

        def due() -> None:
            message.update(status=status, date_updated=_now_rfc2822())
            if status == "sent":
                message["date_sent"] = message["date_updated"]
            if error_code is not None:
                message.update(error_code=error_code, error_message="Unreachable destination")

        def sign(raw: bytes) -> dict[str, str]:
            assert url is not None
            return signatures.sign("twilio", secret=token, body=raw, url=url)

        return Delivery(url=url, body=body, content_type="application/x-www-form-urlencoded",
                        label=status, logged=params, sign=sign, on_due=due)


def _text(params: dict[str, Any], name: str) -> str:
    value = params.get(name)
    return value if isinstance(value, str) else ""
