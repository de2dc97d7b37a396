"""The aiohttp application: routes, JSON errors, health, and the dependencies it is given."""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web

from hub.apikeys import ApiKeyStore
from hub.config import EndpointConfig, IngressConfig
from hub.ingress.records import IngressRecords
from hub.producer import HubProducer
from hub.schemastore import SchemaStore
from hub.topics import Topics

__all__ = ["IngressDeps", "build_app", "json_error"]

log = logging.getLogger(__name__)

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


@dataclass
class IngressDeps:
    """Everything the ingress handlers use, built once by the composition root."""

    ingress: IngressConfig
    endpoints: Mapping[str, EndpointConfig]
    schemas: SchemaStore
    topics: Topics
    producer: HubProducer
    records: IngressRecords
    keys: ApiKeyStore
    ready: Callable[[], Awaitable[dict[str, bool]]] | None = None


DEPS: web.AppKey[IngressDeps] = web.AppKey("deps", IngressDeps)


def json_error(status: int, message: str, **extra: Any) -> web.Response:
    headers = {}
    if "retry_after" in extra:
        headers["Retry-After"] = str(extra.pop("retry_after"))
    return web.json_response({"error": message, **extra}, status=status, headers=headers)


@web.middleware
async def _errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Every failure leaves as JSON; an unexpected one is a logged 500 without details."""
    try:
        return await handler(request)
    except web.HTTPException as exc:
        if exc.status >= 400 and exc.content_type != "application/json":
            return json_error(exc.status, exc.reason)
        raise
    except asyncio.CancelledError:
        raise
    except Exception:
        log.exception("unhandled error on %s %s", request.method, request.path)
        return json_error(500, "internal error")


async def _healthz(request: web.Request) -> web.Response:
    return web.json_response({"status": "ok"})


async def _readyz(request: web.Request) -> web.Response:
    deps = request.app[DEPS]
    checks = await deps.ready() if deps.ready else {}
    ok = all(checks.values())
    return web.json_response({"ready": ok, "checks": checks}, status=200 if ok else 503)


def build_app(deps: IngressDeps) -> web.Application:
    from hub.ingress import publish, webhooks

    # The body limit is enforced by the handlers themselves, with a JSON 413.
    app = web.Application(middlewares=[_errors], client_max_size=deps.ingress.max_body_bytes + 1)
    app[DEPS] = deps
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_post("/webhooks/{endpoint}", webhooks.receive)
    app.router.add_post("/events", publish.publish_one)
    app.router.add_post("/events:batch", publish.publish_batch)
    return app
