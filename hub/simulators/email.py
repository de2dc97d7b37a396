"""A Postmark-like transactional e-mail API.

POST /email and POST /email/withTemplate (either takes Subject or TemplateAlias/TemplateId).
The client reference travels in `Metadata.client_reference` (Postmark metadata), or in a
top-level `ClientReference`; `GET /messages/outbound?metadata_client_reference=...`
finds the messages sent with it. `Idempotency-Key` is honoured when sent.
"""
from __future__ import annotations

import re
import time
import uuid
from typing import Any

from aiohttp import web

from hub.simulators.admin import simulator_app
from hub.simulators.config import SimulatorConfig
from hub.simulators.params import ApiError
from hub.simulators.pipeline import Outcome, SimCore

__all__ = ["PostmarkStyle", "email_app"]

_ADDRESS = re.compile(r"^[^@\s<>,]+@[^@\s<>,]+\.[^@\s<>,]+$")
_NAMED = re.compile(r"^[^<>]*<([^<>]+)>$")
# Postmark's own codes where it has one (10 bad token, 300 invalid request); others are
# the HTTP status, so a client can tell simulator faults apart.
_CODES = {"authentication": 10, "invalid_request": 300, "idempotency": 300,
          "conflict": 409, "rate_limit": 429, "server": 500, "timeout": 504,
          "rejected": 406, "not_found": 404}


class PostmarkStyle:
    idempotency_header: str | None = "Idempotency-Key"

    def __init__(self, server_token: str) -> None:
        self._token = server_token

    def authenticate(self, request: web.Request) -> None:
        token = request.headers.get("X-Postmark-Server-Token")
        if not token:
            raise ApiError(401, "authentication",
                           "No Account or Server API tokens were supplied in the HTTP "
                           "headers. Please add a header for either X-Postmark-Server-Token "
                           "or X-Postmark-Account-Token.")
        if token != self._token:
            raise ApiError(401, "authentication",
                           "Request does not contain a valid Server token.")

    def render_error(self, error: ApiError) -> dict[str, Any]:
        code = error.code if isinstance(error.code, int) else _CODES.get(error.kind, 300)
        return {"ErrorCode": code, "Message": error.message}


def email_app(config: SimulatorConfig) -> web.Application:
    app, core = simulator_app("email", PostmarkStyle(config.postmark_token), config)
    sim = _Email(core)
    core.on_reset.append(sim.clear)
    app.add_routes([
        web.post("/email", sim.send),
        web.post("/email/withTemplate", sim.send),
        web.get("/messages/outbound", sim.search),
    ])
    return app


def _reference(params: dict[str, Any]) -> str | None:
    metadata = params.get("Metadata")
    value = metadata.get("client_reference") if isinstance(metadata, dict) else None
    value = value or params.get("ClientReference")
    return value if isinstance(value, str) and value else None


def _invalid(message: str) -> ApiError:
    return ApiError(422, "invalid_request", message, code=300)


def _addresses(params: dict[str, Any], field: str, *, required: bool) -> list[str]:
    raw = params.get(field)
    if raw is None or raw == "":
        if required:
            raise _invalid(f"Error parsing '{field}': a '{field}' address is required.")
        return []
    if not isinstance(raw, str):
        raise _invalid(f"Error parsing '{field}': must be a string of addresses.")
    out = []
    for part in raw.split(","):
        text = part.strip()
        named = _NAMED.match(text)
        address = named.group(1).strip() if named else text
        if not _ADDRESS.match(address):
            raise _invalid(f"Error parsing '{field}': Illegal email address '{address}'. "
                           "It must contain the '@' symbol.")
        out.append(address)
    return out


class _Email:
    def __init__(self, core: SimCore) -> None:
        self._core = core
        self._messages: list[dict[str, Any]] = []

    def clear(self) -> None:
        self._messages.clear()

    async def send(self, request: web.Request) -> web.Response:
        return await self._core.serve(request, self._send, _reference)

    async def search(self, request: web.Request) -> web.Response:
        return await self._core.serve(
            request, self._search, lambda p: p.get("metadata_client_reference"))

    def _send(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        sender = _addresses(params, "From", required=True)
        recipients = _addresses(params, "To", required=True)
        template = params.get("TemplateAlias") or params.get("TemplateId")
        subject = params.get("Subject")
        if not template and not subject:
            raise _invalid("Provide a Subject, or a TemplateAlias or TemplateId.")
        model = params.get("TemplateModel", {})
        if template and not isinstance(model, dict):
            raise _invalid("TemplateModel must be an object.")
        metadata = params.get("Metadata") or {}
        submitted = time.strftime("%Y-%m-%dT%H:%M:%S.0000000Z", time.gmtime())
        message_id = str(uuid.uuid4())
        reference = _reference(params)
        self._messages.append({
            "MessageID": message_id, "From": sender[0], "To": [{"Email": a} for a in recipients],
            "Subject": subject, "TemplateAlias": template, "Status": "Sent",
            "Metadata": metadata if isinstance(metadata, dict) else {},
            "ClientReference": reference, "ReceivedAt": submitted,
        })
        answer = {"To": params["To"], "SubmittedAt": submitted, "MessageID": message_id,
                  "ErrorCode": 0, "Message": "OK"}
        return Outcome(200, answer, effect="email", ref=message_id, client_reference=reference)

    def _search(self, _: web.Request, params: dict[str, Any]) -> Outcome:
        wanted = params.get("metadata_client_reference")
        found = [dict(m) for m in self._messages
                 if wanted is None or m["ClientReference"] == wanted]
        return Outcome(200, {"TotalCount": len(found), "Messages": found})
