"""The operator page and its JSON API, on the ingress, behind `[ingress] admin_token`
(hub/ingress/app.py `_admin`: an `Authorization: Bearer` header or the `hub_admin`
cookie that `/ui/login` sets).

    GET  /ui                      the page (plain HTML; hub/ui/static/ui.js renders it)
    GET  /ui/login, POST          a token form; sets the cookie (HttpOnly, SameSite=Strict)
    POST /ui/logout               forgets the cookie
    GET  /ui/static/{name}        the page's script and style
    GET  /admin/api/overview      the monitor's last snapshot
    GET  /admin/api/story         ?subject=…: the audit story of one subject
    POST /admin/api/dlq/redrive   {"group", "dry_run", "refs"?, "reason"?}: the only action

Nothing here renders data into HTML: the script builds the page with `textContent`.
"""
from __future__ import annotations

import hmac
import time
from collections.abc import AsyncIterator
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web

from hub.errors import HubError
from hub.ui.actions import Operations, UnavailableError
from hub.ui.overview import overview

__all__ = ["COOKIE", "add_routes"]

COOKIE = "hub_admin"  # read by hub/ingress/app.py `_admin`, which also lets /ui/login through
_STATIC = {"ui.js": "text/javascript", "ui.css": "text/css", "index.html": "text/html",
           "login.html": "text/html"}
_CSP = ("default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self'; "
        "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'")
_SECURITY = {"Content-Security-Policy": _CSP, "X-Content-Type-Options": "nosniff",
             "Referrer-Policy": "no-referrer", "Cache-Control": "no-store"}
OPS: web.AppKey[Operations] = web.AppKey("ops", Operations)


def _file(name: str) -> bytes:
    return resources.files("hub.ui").joinpath("static", name).read_bytes()


def _page(name: str, status: int = 200, body: bytes | None = None) -> web.Response:
    return web.Response(body=body if body is not None else _file(name), status=status,
                        content_type=_STATIC[name], charset="utf-8", headers=_SECURITY)


async def _index(request: web.Request) -> web.Response:
    return _page("index.html")


async def _static(request: web.Request) -> web.Response:
    name = request.match_info["name"]
    if name not in _STATIC or name.endswith(".html"):
        raise web.HTTPNotFound()
    return _page(name)


async def _login_form(request: web.Request) -> web.Response:
    return _page("login.html")


async def _login(request: web.Request) -> web.StreamResponse:
    from hub.ingress.app import DEPS

    deps = request.app[DEPS]
    throttled = deps.throttle(f"ui-login:{request.remote}")
    if throttled is not None:
        return throttled
    form = await request.post()
    token, expected = str(form.get("token", "")), deps.ingress.admin_token or ""
    if not expected or not hmac.compare_digest(token.encode(), expected.encode()):
        body = _file("login.html").replace(b'<p id="error" hidden>', b'<p id="error">')
        return _page("login.html", status=401, body=body)
    response = _see_other("/ui")
    response.set_cookie(COOKIE, token, httponly=True, samesite="Strict", path="/",
                        secure=request.secure, max_age=12 * 3600)
    return response


async def _logout(request: web.Request) -> web.StreamResponse:
    response = _see_other("/ui/login")
    response.del_cookie(COOKIE, path="/", samesite="Strict")
    return response


def _see_other(location: str) -> web.Response:
    return web.Response(status=303, headers={**_SECURITY, "Location": location})


async def _overview(request: web.Request) -> web.Response:
    m = request.app[OPS].monitor
    body = overview(m.snapshot, refresh_s=m.interval_s, stale_s=time.time() - m.last_success)
    return web.json_response(body, headers=_SECURITY)


async def _story(request: web.Request) -> web.Response:
    subject = request.query.get("subject", "").strip()
    if not subject or len(subject) > 200:
        return _error(400, "give ?subject= (an invoice, order, payment id or phone number, "
                           "at most 200 characters)")
    try:
        return web.json_response(await request.app[OPS].story(subject), headers=_SECURITY)
    except UnavailableError as exc:
        return _error(409, str(exc))


async def _redrive(request: web.Request) -> web.Response:
    if request.content_type != "application/json" or not _same_origin(request):
        return _error(403, "send JSON from the operator page")
    try:
        body: Any = await request.json()
    except ValueError:
        return _error(400, "the body is not JSON")
    if not isinstance(body, dict):
        body = {}
    group, dry_run, refs, reason = (body.get(k) for k in ("group", "dry_run", "refs", "reason"))
    if not isinstance(group, str) or not group or not isinstance(dry_run, bool):
        return _error(400, 'expected {"group": "<group or integration>", "dry_run": true|false}')
    if refs is not None and not (isinstance(refs, list) and all(isinstance(r, str) for r in refs)):
        return _error(400, "refs: expected a list of dead-letter refs (topic:partition:offset)")
    if reason is not None and not isinstance(reason, str):
        return _error(400, "reason: expected a string")
    try:
        result = await request.app[OPS].redrive(
            group, dry_run=dry_run, refs=refs, by=f"ui@{request.remote or 'unknown'}",
            reason=(reason or "redriven from the operator page")[:500])
    except HubError as exc:
        return _error(409, str(exc))
    return web.json_response(result, headers=_SECURITY)


def _same_origin(request: web.Request) -> bool:
    """Browsers send Origin on a POST; one from another site is refused (a CSRF guard on
    top of the SameSite cookie). Clients without Origin (curl with a Bearer token) pass."""
    origin = request.headers.get("Origin")
    return origin is None or urlsplit(origin).netloc == request.host


def _error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status, headers=_SECURITY)


def add_routes(app: web.Application, ops: Operations) -> None:
    """The page, its API, and the monitor running for as long as the app does."""
    app[OPS] = ops

    async def monitor(_app: web.Application) -> AsyncIterator[None]:
        async with ops.monitor.running():
            yield

    app.cleanup_ctx.append(monitor)
    app.router.add_get("/ui", _index)
    app.router.add_get("/ui/login", _login_form)
    app.router.add_post("/ui/login", _login)
    app.router.add_post("/ui/logout", _logout)
    app.router.add_get("/ui/static/{name}", _static)
    app.router.add_get("/admin/api/overview", _overview)
    app.router.add_get("/admin/api/story", _story)
    app.router.add_post("/admin/api/dlq/redrive", _redrive)
