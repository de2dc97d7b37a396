"""One simulator's aiohttp application with its `/_sim/...` admin endpoints.

GET  /_sim/health            {"ok": true, "simulators": {name: "/"}}
GET  /_sim/faults            {"faults": {...}, "seed": n}
POST /_sim/faults            body: fault fields to change (merged onto the current ones),
                             optional "seed" (re-seed) and "replace": true (start from
                             no faults); answers like GET; 400 naming a bad field
GET  /_sim/calls?since=N&limit=M   {"calls": [...], "last_seq": n, "next_since": n}
GET  /_sim/effects?kind=K    {"effects": [...], "count": n, "counts": {kind: n}}
GET  /_sim/stats             {"calls": n, "last_seq": n, "effects": {kind: n},
                              "pending_callbacks": n, "idempotency_keys": n}
POST /_sim/drain?timeout=S   waits for pending callbacks: {"drained": bool}
POST /_sim/reset             clears log, keys, state and callbacks; start-up faults and seed
"""
from __future__ import annotations

from typing import Any

import orjson
from aiohttp import web

from hub.simulators.callbacks import CallbackSender
from hub.simulators.calllog import CallLog
from hub.simulators.config import SimulatorConfig
from hub.simulators.faults import FaultConfig
from hub.simulators.pipeline import ProviderStyle, SimCore

__all__ = ["CORE", "simulator_app"]

CORE = web.AppKey("hub.simulators.core", SimCore)

_MAX_PAGE = 100_000


def simulator_app(
    name: str, style: ProviderStyle, config: SimulatorConfig
) -> tuple[web.Application, SimCore]:
    """A fresh application for simulator `name`, admin routes installed; add the API's own."""
    calls = CallLog(name, config.log_cap)
    callbacks = CallbackSender(calls, delay_s=config.callback_delay_s,
                               attempts=config.callback_attempts,
                               backoff_s=config.callback_backoff_s)
    core = SimCore(name, style, config.faults_for(name), config.seed, calls, callbacks)
    app = web.Application()
    app[CORE] = core

    async def start(_: web.Application) -> None:
        await callbacks.start()

    async def stop(_: web.Application) -> None:
        await callbacks.close()

    app.on_startup.append(start)
    app.on_cleanup.append(stop)
    app.add_routes([
        web.get("/_sim/health", _health),
        web.get("/_sim/faults", _get_faults),
        web.post("/_sim/faults", _post_faults),
        web.get("/_sim/calls", _get_calls),
        web.get("/_sim/effects", _get_effects),
        web.get("/_sim/stats", _get_stats),
        web.post("/_sim/drain", _drain),
        web.post("/_sim/reset", _reset),
    ])
    return app, core


def json_response(data: Any, status: int = 200) -> web.Response:
    return web.Response(status=status, body=orjson.dumps(data), content_type="application/json")


def faults_view(core: SimCore) -> dict[str, Any]:
    return {"faults": core.faults.to_dict(), "seed": core.seed}


def plan_faults(
    current: FaultConfig, changes: dict[str, Any]
) -> tuple[FaultConfig, int | None]:
    """The faults and seed a POST /_sim/faults body asks for; ValueError naming a bad field."""
    changes = dict(changes)
    seed = changes.pop("seed", None)
    replace_all = changes.pop("replace", False)
    if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int)):
        raise ValueError(f"seed={seed!r}: must be an integer")
    base = FaultConfig() if replace_all is True else current
    return base.updated(changes), seed


def commit_faults(core: SimCore, faults: FaultConfig, seed: int | None) -> None:
    core.faults = faults
    if seed is not None:
        core.reseed(seed)


async def read_json_object(request: web.Request) -> dict[str, Any]:
    raw = await request.read()
    try:
        data = orjson.loads(raw) if raw else {}
    except orjson.JSONDecodeError as exc:
        raise web.HTTPBadRequest(text=f"body is not JSON: {exc}") from exc
    if not isinstance(data, dict):
        raise web.HTTPBadRequest(text="body must be a JSON object")
    return data


def _int_query(request: web.Request, name: str, default: int) -> int:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        return int(raw)
    except ValueError:
        raise web.HTTPBadRequest(text=f"?{name}={raw!r}: must be an integer") from None


async def _health(request: web.Request) -> web.Response:
    return json_response({"ok": True, "simulators": {request.app[CORE].name: "/"}})


async def _get_faults(request: web.Request) -> web.Response:
    return json_response(faults_view(request.app[CORE]))


async def _post_faults(request: web.Request) -> web.Response:
    core = request.app[CORE]
    try:
        faults, seed = plan_faults(core.faults, await read_json_object(request))
    except ValueError as exc:
        return json_response({"error": str(exc)}, status=400)
    commit_faults(core, faults, seed)
    return json_response(faults_view(core))


async def _get_calls(request: web.Request) -> web.Response:
    core = request.app[CORE]
    since = _int_query(request, "since", 0)
    limit = min(max(_int_query(request, "limit", _MAX_PAGE), 0), _MAX_PAGE)
    calls = core.calls.since(since, limit)
    next_since = calls[-1].seq if calls else max(since, 0)
    return json_response({"calls": calls, "last_seq": core.calls.last_seq,
                          "next_since": next_since})


async def _get_effects(request: web.Request) -> web.Response:
    core = request.app[CORE]
    effects = core.calls.effects(request.query.get("kind"))
    return json_response({"effects": effects, "count": len(effects),
                          "counts": core.calls.effect_counts()})


async def _get_stats(request: web.Request) -> web.Response:
    return json_response(stats(request.app[CORE]))


def stats(core: SimCore) -> dict[str, Any]:
    return {"calls": len(core.calls), "last_seq": core.calls.last_seq,
            "effects": core.calls.effect_counts(), "pending_callbacks": core.callbacks.pending,
            "idempotency_keys": len(core.keys)}


async def _drain(request: web.Request) -> web.Response:
    try:
        timeout = float(request.query.get("timeout", "10"))
    except ValueError:
        raise web.HTTPBadRequest(text="?timeout= must be a number of seconds") from None
    drained = await request.app[CORE].callbacks.drain(timeout)
    return json_response({"drained": drained})


async def _reset(request: web.Request) -> web.Response:
    request.app[CORE].reset()
    return json_response({"reset": True})
