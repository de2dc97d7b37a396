"""`POST /events` and `POST /events:batch`: the publish API for upstream services."""
from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Any

import orjson
from aiohttp import web

from hub import codec
from hub.apikeys import ApiKey, InvalidKey, scope_allows
from hub.db import DatabaseUnavailable
from hub.envelope import Event, canonical_json, sha256_hex
from hub.ids import uuid7
from hub.ingress.app import DEPS, IngressDeps, json_error
from hub.ingress.body import BodyTooLarge, read_body
from hub.ingress.jsondata import JsonDataError, from_json
from hub.ingress.webhooks import produce_all
from hub.producer import ProduceError
from hub.tracing import current_traceparent

__all__ = ["MAX_BATCH", "publish_batch", "publish_one"]

log = logging.getLogger(__name__)

MAX_BATCH = 500
_FIELDS = {"type", "schema_version", "subject", "data", "correlation_id", "causation_id"}


class _Rejected(Exception):
    def __init__(self, status: int, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.status = status
        self.extra = extra


async def publish_one(request: web.Request) -> web.Response:
    return await _publish(request, batch=False)


async def publish_batch(request: web.Request) -> web.Response:
    return await _publish(request, batch=True)


async def _publish(request: web.Request, *, batch: bool) -> web.Response:
    deps = request.app[DEPS]
    try:
        key = await _authenticate(deps, request)
        limited = deps.throttle(f"key:{key.key_id}")
        if limited is not None:
            return limited
        body = await read_body(request, deps.ingress.max_body_bytes)
        items = _parse(body, batch)
        idem = request.headers.get("Idempotency-Key")
        if idem is not None and not (0 < len(idem) <= 255):
            raise _Rejected(400, "Idempotency-Key must be 1 to 255 characters")
        request_sha = sha256_hex(request.path.encode() + b"\n" + canonical_json(items))
        now = datetime.now(UTC)
        ids = [uuid7() for _ in items]
        if idem is not None:
            earlier = await deps.records.reserve_publish(key.key_id, idem, request_sha, ids, now)
            if earlier is not None:
                if earlier.request_sha256 != request_sha:
                    raise _Rejected(409, "Idempotency-Key already used with a different request")
                if earlier.response is not None and earlier.status_code is not None:
                    return web.json_response(earlier.response, status=earlier.status_code,
                                             headers={"Idempotent-Replayed": "true"})
                # An earlier attempt reserved ids but did not finish: write the same events.
                ids, now = list(earlier.event_ids), earlier.event_time
        events = [_build(deps, key, item, event_id, now, index if batch else None,
                         current_traceparent() or request.headers.get("traceparent"))
                  for index, (item, event_id) in enumerate(zip(items, ids, strict=True))]
        # `_build` validated each event's data; the envelope is built from checked values.
        encoded = [(deps.topics.for_type(e.type), e, codec.encode(deps.schemas, e, validate=False))
                   for e in events]
        try:
            delivered = await produce_all(deps, encoded)
        except (TimeoutError, ProduceError) as exc:
            log.error("publish not acknowledged by Kafka: %s", exc)
            raise _Rejected(503, "event log unavailable; retry later with the same Idempotency-Key",
                            retry_after=deps.ingress.retry_after_s) from None
        results = [{"event_id": e.id, "type": e.type, "topic": d.topic, "partition": d.partition,
                    "offset": d.offset} for e, d in zip(events, delivered, strict=True)]
        answer: dict[str, Any] = {"events": results} if batch else results[0]
        if idem is not None:
            await deps.records.complete_publish(key.key_id, idem, 202, answer)
        return web.json_response(answer, status=202)
    except _Rejected as exc:
        return json_error(exc.status, str(exc), **exc.extra)
    except BodyTooLarge:
        return json_error(413, f"body over the limit of {deps.ingress.max_body_bytes} bytes")
    except DatabaseUnavailable as exc:
        log.error("publish failed on the database: %s", exc)
        return json_error(503, "database unavailable; retry later",
                          retry_after=deps.ingress.retry_after_s)


async def _authenticate(deps: IngressDeps, request: web.Request) -> ApiKey:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token:
        raise _Rejected(401, "missing API key: send Authorization: Bearer <key>")
    try:
        return await deps.keys.authenticate(token)
    except InvalidKey:
        raise _Rejected(401, "invalid API key") from None


def _parse(body: bytes, batch: bool) -> list[dict[str, Any]]:
    try:
        doc = orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise _Rejected(400, f"body is not valid JSON: {exc}") from None
    if batch:
        if not isinstance(doc, dict) or not isinstance(doc.get("events"), list):
            raise _Rejected(422, 'expected {"events": [...]}', field="events")
        items = doc["events"]
        if not 1 <= len(items) <= MAX_BATCH:
            raise _Rejected(422, f"a batch holds 1 to {MAX_BATCH} events, got {len(items)}",
                            field="events")
    else:
        items = [doc]
    checked: list[dict[str, Any]] = []
    for index, item in enumerate(items):
        where = f"events[{index}]." if batch else ""
        if not isinstance(item, dict):
            raise _Rejected(422, f"{where or 'body'}: expected a JSON object", field=where or "body")
        unknown = sorted(set(item) - _FIELDS)
        if unknown:
            raise _Rejected(422, f"{where}{unknown[0]}: unknown field; allowed: {sorted(_FIELDS)}",
                            field=f"{where}{unknown[0]}")
        checked.append(item)
    return checked


def _build(deps: IngressDeps, key: ApiKey, item: dict[str, Any], event_id: str, now: datetime,
           index: int | None, traceparent: str | None) -> Event:
    where = f"events[{index}]." if index is not None else ""
    event_type = item.get("type")
    if not isinstance(event_type, str) or not event_type:
        raise _Rejected(422, f"{where}type: required, a string such as invoice.issued",
                        field=f"{where}type")
    try:
        versions = deps.schemas.versions(event_type)
    except KeyError:
        versions = []
    if not versions or event_type == "webhook.received":
        raise _Rejected(422, f"{where}type: unknown event type {event_type!r}", field=f"{where}type")
    if not scope_allows(key.scopes, event_type):
        raise _Rejected(403, f"API key {key.key_id} may not publish {event_type}")
    version = item.get("schema_version", max(versions))
    if not isinstance(version, int) or isinstance(version, bool) or version not in versions:
        raise _Rejected(422, f"{where}schema_version: {version!r} is not one of {versions}",
                        field=f"{where}schema_version")
    for name in ("subject", "correlation_id", "causation_id"):
        value = item.get(name)
        if value is not None and (not isinstance(value, str) or not 0 < len(value) <= 500):
            raise _Rejected(422, f"{where}{name}: expected a string of 1 to 500 characters",
                            field=f"{where}{name}")
    if not isinstance(item.get("data"), dict):
        raise _Rejected(422, f"{where}data: required, a JSON object", field=f"{where}data")
    schema = deps.schemas.get(event_type, version)
    try:
        data = from_json(schema.parsed, item["data"])
        codec.validate(deps.schemas, event_type, version, data)
    except (JsonDataError, codec.EncodeError) as exc:
        path = getattr(exc, "path", None) or "data"
        raise _Rejected(422, f"{where}{exc}", field=f"{where}{path}") from None
    return Event(
        id=event_id,
        source=f"/services/{key.name}",
        type=event_type,
        time=now,
        subject=item.get("subject"),
        schema_version=version,
        correlation_id=item.get("correlation_id") or event_id,
        causation_id=item.get("causation_id"),
        payload_sha256=sha256_hex(canonical_json(item["data"])),
        traceparent=traceparent,
        data=data,
    )
