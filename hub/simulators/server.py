"""Serving the simulators: all four in one application under path prefixes, or one alone.

Combined, each simulator lives under `/payments`, `/sms`, `/accounting`, `/email`
(its admin endpoints too: `/payments/_sim/calls`), and the root adds:

GET  /_sim/health   {"ok": true, "simulators": {"payments": "/payments", ...}}
GET  /_sim/stats    {"payments": {...stats...}, ...}
POST /_sim/faults   {"payments": {...fault changes...}, "*": {...for every simulator...}}
POST /_sim/reset    resets every simulator
"""
from __future__ import annotations

from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass

from aiohttp import web

from hub.simulators.accounting import accounting_app
from hub.simulators.admin import (
    CORE,
    commit_faults,
    faults_view,
    json_response,
    plan_faults,
    read_json_object,
    stats,
)
from hub.simulators.config import SIMULATORS, SimulatorConfig
from hub.simulators.email import email_app
from hub.simulators.payments import payments_app
from hub.simulators.pipeline import SimCore
from hub.simulators.sms import sms_app

__all__ = ["RunningSimulators", "build_app", "run_simulators", "start_simulators"]

_FACTORIES: dict[str, Callable[[SimulatorConfig], web.Application]] = {
    "payments": payments_app,
    "sms": sms_app,
    "accounting": accounting_app,
    "email": email_app,
}
_CORES = web.AppKey("hub.simulators.cores", dict[str, SimCore])


def build_app(config: SimulatorConfig, only: str | None = None) -> web.Application:
    """The application serving all simulators under prefixes, or just `only` at the root.

    Raises ValueError for an unknown simulator name.
    """
    if only is not None:
        if only not in _FACTORIES:
            raise ValueError(f"unknown simulator {only!r}; expected one of {list(SIMULATORS)}")
        return _FACTORIES[only](config)
    root = web.Application()
    cores: dict[str, SimCore] = {}
    for name, factory in _FACTORIES.items():
        sub = factory(config)
        cores[name] = sub[CORE]
        root.add_subapp(f"/{name}", sub)
    root[_CORES] = cores
    root.add_routes([
        web.get("/_sim/health", _health),
        web.get("/_sim/stats", _stats),
        web.get("/_sim/faults", _get_faults),
        web.post("/_sim/faults", _post_faults),
        web.post("/_sim/reset", _reset),
    ])
    return root


@dataclass(frozen=True)
class RunningSimulators:
    """Where a running set of simulators answers. A simulator not started has None."""

    base_url: str
    port: int
    payments: str | None
    sms: str | None
    accounting: str | None
    email: str | None

    @property
    def urls(self) -> dict[str, str]:
        found = {name: getattr(self, name) for name in SIMULATORS}
        return {name: url for name, url in found.items() if url is not None}


async def start_simulators(
    config: SimulatorConfig, *, host: str = "127.0.0.1", port: int = 0,
    only: str | None = None,
) -> tuple[web.AppRunner, RunningSimulators]:
    """Start serving; port 0 picks a free one. Call `runner.cleanup()` to stop."""
    runner = web.AppRunner(build_app(config, only), access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    try:
        site = web.TCPSite(runner, host, port)
        await site.start()
        bound = _bound_port(runner)
    except BaseException:
        await runner.cleanup()
        raise
    base = f"http://{host}:{bound}"
    names = [only] if only is not None else list(SIMULATORS)
    urls = {name: (base if only is not None else f"{base}/{name}") for name in names}
    return runner, RunningSimulators(base, bound, *(urls.get(n) for n in SIMULATORS))


@asynccontextmanager
async def run_simulators(
    config: SimulatorConfig | None = None, *, host: str = "127.0.0.1", port: int = 0,
    only: str | None = None,
) -> AsyncIterator[RunningSimulators]:
    """`async with run_simulators(config) as sims:` serves until the block ends."""
    runner, running = await start_simulators(
        config or SimulatorConfig(), host=host, port=port, only=only)
    try:
        yield running
    finally:
        await runner.cleanup()


def _bound_port(runner: web.AppRunner) -> int:
    for address in runner.addresses:
        if isinstance(address, tuple) and len(address) >= 2:
            return int(address[1])
    raise RuntimeError("the simulator server is not bound to a TCP port")


async def _health(request: web.Request) -> web.Response:
    names = request.app[_CORES]
    return json_response({"ok": True, "simulators": {n: f"/{n}" for n in names}})


async def _stats(request: web.Request) -> web.Response:
    return json_response({n: stats(c) for n, c in request.app[_CORES].items()})


async def _get_faults(request: web.Request) -> web.Response:
    return json_response({n: faults_view(c) for n, c in request.app[_CORES].items()})


async def _post_faults(request: web.Request) -> web.Response:
    cores = request.app[_CORES]
    body = await read_json_object(request)
    unknown = set(body) - set(cores) - {"*"}
    if unknown:
        return json_response({"error": f"unknown simulator(s) {sorted(unknown)}; "
                                       f"expected names from {list(cores)} or '*'"}, 400)
    plans = {}
    try:  # every change is checked before any is applied
        for name, core in cores.items():
            faults, seed = core.faults, None
            for changes in (body.get("*"), body.get(name)):
                if changes is not None:
                    faults, new_seed = plan_faults(faults, _mapping(changes, name))
                    seed = new_seed if new_seed is not None else seed
            plans[name] = (faults, seed)
    except ValueError as exc:
        return json_response({"error": str(exc)}, status=400)
    for name, (faults, seed) in plans.items():
        commit_faults(cores[name], faults, seed)
    return json_response({n: faults_view(c) for n, c in cores.items()})


def _mapping(value: object, name: str) -> dict[str, object]:
    if not isinstance(value, Mapping):
        raise ValueError(f"faults for {name!r} must be a JSON object")
    return dict(value)


async def _reset(request: web.Request) -> web.Response:
    for core in request.app[_CORES].values():
        core.reset()
    return json_response({"reset": True})

