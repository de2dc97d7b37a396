"""End-to-end latency: an event entering the hub over HTTP ⇒ the provider call it causes,
at a fixed offered rate (open loop), with one `hub serve` and one `hub consume` process.

With the accounting integration: a signed Stripe `payment_intent.succeeded` webhook ⇒
payment.succeeded ⇒ the accounting worker ⇒ the journal call at the accounting simulator.
Without it: the publish API (payment.intent_requested) ⇒ the payments worker ⇒ the
payments simulator. The simulator answers at once, so the time it logs a call is the time
the call arrived; the clock starts just before the request is sent.
"""
from __future__ import annotations

import asyncio
import secrets
import statistics
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp

from bench.context import BenchContext, BenchError, OthersWatch, Service
from bench.deliveries import PATH as STRIPE_PATH
from bench.deliveries import StripeDeliveries
from bench.providers import accounting_integration, consume_argv, payments_integration, simulator_argv
from bench.results import Figure
from hub.admin import ensure_topics
from hub.apikeys import ApiKeyStore
from hub.db import connect
from hub.devstack.procs import free_port
from hub.topics import Topics

__all__ = ["run"]

PREFIX = "bench-e2e."
RATE = 100.0  # offered events/s
WARMUP = 20

# Sends the n-th request; returns the client reference its provider call will carry.
Send = Callable[[aiohttp.ClientSession, Service, int], Awaitable[str]]


@dataclass(frozen=True)
class _Path:
    integration: str
    simulator: str
    config: Callable[[str], str]
    send: Send
    what: str


async def run(ctx: BenchContext, quick: bool) -> dict[str, Figure]:
    from consumers.registry import ADAPTERS

    path = await (_webhook_path(ctx) if "accounting" in ADAPTERS else _publish_path(ctx))
    seconds = 5.0 if quick else 20.0
    topics = Topics(PREFIX)
    await asyncio.to_thread(ensure_topics, ctx.kafka_bootstrap, topics.core(),
                            partitions=ctx.partitions)
    sim_port, port = free_port(), free_port()
    async with ctx.service(f"{path.simulator}-sim-e2e", simulator_argv(sim_port, 0, path.simulator),
                           sim_port, health="/_sim/health") as sim:
        env = {**ctx.hub_env(ctx.hub_config(port, path.config(sim.url))), "HUB_TOPIC_PREFIX": PREFIX}
        serve = [sys.executable, "-m", "hub", "serve", "--port", str(port)]
        async with ctx.service("hub-serve-e2e", serve, port, env=env) as ingress, \
                ctx.service("hub-consume-e2e", consume_argv(path.integration), 0, env=env,
                            health=None), \
                aiohttp.ClientSession() as http:
            _say(f"warm-up: {WARMUP} through ingress, worker and simulator")
            warm = [await path.send(http, ingress, -1 - i) for i in range(WARMUP)]
            await _calls_at(http, sim, warm, within=90)
            _say(f"{path.what} at {RATE:.0f}/s for {seconds:.0f} s")
            watch = OthersWatch()
            sent = await _offer(http, ingress, path.send, int(RATE * seconds))
            arrived = await _calls_at(http, sim, list(sent), within=60)
            others = watch.share()
    ms = sorted((arrived[ref] - at) * 1000 for ref, at in sent.items())
    cuts = statistics.quantiles(ms, n=100, method="inclusive")
    note = (f"{path.what}, offered {RATE:.0f}/s (open loop) for {seconds:.0f} s; one `hub serve` "
            f"and one `hub consume {path.integration}` process; the {path.simulator} simulator "
            "answers at once and logs the call's arrival; from just before the request is sent. "
            f"Other processes used {others:.0%} of the machine's CPU meanwhile.")
    common: dict[str, Any] = {"offered": RATE, "n": len(ms), "duration_s": seconds, "note": note}
    return {"e2e_p50_ms": Figure(round(cuts[49], 1), "ms", **common),
            "e2e_p99_ms": Figure(round(cuts[98], 1), "ms", **common)}


async def _webhook_path(ctx: BenchContext) -> _Path:
    deliveries = StripeDeliveries(ctx.stripe_secret)

    async def send(http: aiohttp.ClientSession, ingress: Service, _n: int) -> str:
        d = next(deliveries.make(1))
        async with http.post(ingress.url + STRIPE_PATH, data=d.body, headers=d.headers) as resp:
            if resp.status != 202:
                raise BenchError(f"webhook answered {resp.status}: {(await resp.text())[:300]}")
        return "pi_" + d.event_id.removeprefix("evt_")  # the journal's reference

    return _Path("accounting", "accounting", accounting_integration, send,
                 "signed Stripe payment_intent.succeeded webhook ⇒ payment.succeeded ⇒ "
                 "accounting worker ⇒ journal call at the accounting simulator")


async def _publish_path(ctx: BenchContext) -> _Path:
    conn = await connect(ctx.database_url, ctx.db_schema)
    try:
        api_key, _ = await ApiKeyStore(conn).create("bench-e2e", ["payment.*"])
    finally:
        await conn.close()
    tag = secrets.token_hex(3)

    async def send(http: aiohttp.ClientSession, ingress: Service, n: int) -> str:
        invoice = f"inv_e{tag}_{n}"
        data = {"invoice_id": invoice, "amount_minor": 1250, "currency": "EUR",
                "customer_id": "cus_bench", "customer_email": None, "description": None}
        body = {"type": "payment.intent_requested", "subject": invoice, "data": data}
        async with http.post(ingress.url + "/events", json=body,
                             headers={"Authorization": f"Bearer {api_key}"}) as resp:
            if resp.status != 202:
                raise BenchError(f"publish answered {resp.status}: {(await resp.text())[:300]}")
        return invoice

    return _Path("payments", "payments", payments_integration, send,
                 "publish API (POST /events, payment.intent_requested) ⇒ payments worker ⇒ "
                 "call at the payments simulator (no accounting integration in this tree)")


async def _offer(http: aiohttp.ClientSession, ingress: Service, send: Send, n: int
                 ) -> dict[str, float]:
    """Send `n` requests on a fixed schedule (a slow answer does not delay the next);
    returns client reference ⇒ wall time just before its request."""
    sent: dict[str, float] = {}
    loop = asyncio.get_running_loop()
    start = loop.time()

    async def one(i: int) -> None:
        at = time.time()
        sent[await send(http, ingress, i)] = at

    tasks = []
    for i in range(n):
        await asyncio.sleep(max(0.0, start + i / RATE - loop.time()))
        tasks.append(asyncio.create_task(one(i)))
    await asyncio.gather(*tasks)
    return sent


async def _calls_at(http: aiohttp.ClientSession, sim: Service, refs: list[str],
                    within: float) -> dict[str, float]:
    """Client reference ⇒ time of the simulator's first call log entry for it, once all
    arrived."""
    wanted = set(refs)
    deadline = time.monotonic() + within
    while True:
        async with http.get(sim.url + "/_sim/calls") as resp:
            calls = (await resp.json())["calls"]
        found: dict[str, float] = {}
        for c in calls:
            ref = c.get("client_reference")
            if ref in wanted and ref not in found:
                found[ref] = c["ts"]
        if len(found) == len(wanted):
            return found
        if time.monotonic() > deadline:
            raise BenchError(f"{len(wanted) - len(found)} of {len(wanted)} provider calls "
                             f"missing after {within:.0f} s")
        await asyncio.sleep(0.5)


def _say(what: str) -> None:
    print(f"bench: worker: {what}", file=sys.stderr, flush=True)
