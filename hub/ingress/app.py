"""The aiohttp application: routes, JSON errors, health, and the dependencies it is given."""
from __future__ import annotations

import asyncio
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from aiohttp import web
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider as SdkTracerProvider
from opentelemetry.trace import SpanKind

from hub.apikeys import ApiKeyStore
from hub.config import EndpointConfig, IngressConfig
from hub.ingress.records import IngressRecords
from hub.metrics import M
from hub.producer import HubProducer
from hub.ratelimit import ClientLimiter
from hub.schemastore import SchemaStore
from hub.topics import Topics
from hub.tracing import span_from

if TYPE_CHECKING:
    from hub.ui.actions import Operations

__all__ = ["IngressDeps", "build_app", "json_error", "runner_options"]

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
    limiter: ClientLimiter | None = None
    ops: Operations | None = None  # the operator page and its monitor (hub/ui/)
    # Spans per request and per Kafka write; None: on when an SDK tracer provider is installed.
    tracing: bool | None = None
    _latest: dict[str, int] = field(default_factory=dict, init=False, repr=False)

    def __post_init__(self) -> None:
        if self.limiter is None:
            self.limiter = ClientLimiter(self.ingress.rate_limit_per_s, self.ingress.rate_limit_burst)
        if self.tracing is None:
            self.tracing = isinstance(trace.get_tracer_provider(), SdkTracerProvider)

    def latest_version(self, event_type: str) -> int:
        """The newest schema version of `event_type`, looked up once per type."""
        version = self._latest.get(event_type)
        if version is None:
            version = self._latest[event_type] = self.schemas.latest(event_type).version
        return version

    def throttle(self, client: str) -> web.Response | None:
        """A 429 with Retry-After when `client` is over its rate, else None."""
        assert self.limiter is not None
        wait = self.limiter.check(client)
        if wait is None:
            return None
        return json_error(429, "too many requests; slow down", retry_after=wait)


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


def _route_labels(request: web.Request) -> tuple[str, str]:
    """(route, endpoint) metric labels: the route template, and the endpoint name if known."""
    resource = request.match_info.route.resource
    route = resource.canonical if resource is not None else "unmatched"
    endpoint = request.match_info.get("endpoint")
    if endpoint is not None and endpoint not in request.app[DEPS].endpoints:
        endpoint = "unknown"
    return route, endpoint or ""


@web.middleware
async def _count(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts requests by route and status (tracing off: no span work at all)."""
    route, endpoint = _route_labels(request)
    status = 500
    try:
        response = await handler(request)
        status = response.status
        return response
    except web.HTTPException as exc:
        status = exc.status
        raise
    finally:
        M.ingress_requests.add(1, {"route": route, "endpoint": endpoint, "status": status})


@web.middleware
async def _trace(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Counts requests by route and status; one server span per request, parented on the
    caller's `traceparent` header when it sends one."""
    route, endpoint = _route_labels(request)
    status = 500
    with span_from(f"{request.method} {route}", request.headers.get("traceparent"),
                   kind=SpanKind.SERVER,
                   attributes={"http.request.method": request.method, "http.route": route}) as span:
        try:
            response = await handler(request)
            status = response.status
            return response
        except web.HTTPException as exc:
            status = exc.status
            raise
        finally:
            span.set_attribute("http.response.status_code", status)
            M.ingress_requests.add(1, {"route": route, "endpoint": endpoint, "status": status})


@web.middleware
async def _deadline(request: web.Request, handler: Handler) -> web.StreamResponse:
    """A request (body upload included) that takes longer than the limit gets a 408."""
    limit = request.app[DEPS].ingress.request_timeout_s
    try:
        async with asyncio.timeout(limit):
            return await handler(request)
    except TimeoutError:
        return json_error(408, f"request took longer than {limit:g} s")


# Paths only an operator may see; they need `[ingress] admin_token`.
ADMIN_PREFIXES = ("/metrics", "/ui", "/admin")
# ... except the form that asks for the token, and its style sheet.
ADMIN_OPEN = ("/ui/login", "/ui/static/ui.css")


@web.middleware
async def _admin(request: web.Request, handler: Handler) -> web.StreamResponse:
    if request.path.startswith(ADMIN_PREFIXES) and request.path not in ADMIN_OPEN:
        token = request.app[DEPS].ingress.admin_token
        if token is None:
            return json_error(404, "admin endpoints are off: set [ingress] admin_token")
        presented = request.headers.get("Authorization", "").removeprefix("Bearer ").strip()
        presented = presented or request.cookies.get("hub_admin", "")
        if not hmac.compare_digest(presented.encode(), token.encode()):
            if request.method == "GET" and request.path.startswith("/ui"):
                return web.Response(status=303, headers={"Location": "/ui/login"})
            return json_error(401, "admin token required")
    return await handler(request)


def runner_options(ingress: IngressConfig) -> dict[str, Any]:
    """aiohttp server limits: header sizes and counts (larger ⇒ 400/431 before any handler)."""
    return {
        "max_field_size": ingress.max_header_bytes,
        "max_line_size": ingress.max_header_bytes,
        "max_headers": ingress.max_headers,
        "keepalive_timeout": 75.0,
    }


async def _metrics(request: web.Request) -> web.Response:
    from hub.telemetry import prometheus_text

    body, content_type = prometheus_text()
    return web.Response(body=body, headers={"Content-Type": content_type})


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
    observe = _trace if deps.tracing else _count
    app = web.Application(middlewares=[_errors, observe, _deadline, _admin],
                          client_max_size=deps.ingress.max_body_bytes + 1)
    app[DEPS] = deps
    from hub.ingress.openapi import openapi_document

    document = openapi_document(deps.schemas, list(deps.endpoints))

    async def _openapi(request: web.Request) -> web.Response:
        return web.json_response(document)

    app.router.add_get("/openapi.json", _openapi)
    app.router.add_get("/metrics", _metrics)
    app.router.add_get("/healthz", _healthz)
    app.router.add_get("/readyz", _readyz)
    app.router.add_post("/webhooks/{endpoint}", webhooks.receive)
    app.router.add_post("/events", publish.publish_one)
    app.router.add_post("/events:batch", publish.publish_batch)
    if deps.ops is not None:
        from hub.ui.routes import add_routes

        add_routes(app, deps.ops)
    return app
