"""Worker figures: events/s through the payments integration (one `hub consume payments`
process, the payments simulator at 20 ms latency in a process of its own) next to a bare
confluent-kafka consume loop over the same records, the worker's CPU per 1,000 events and
peak memory; then webhook/publish-to-provider-call latency at a fixed offered rate
(bench.worker_e2e).

The intents are produced before the worker starts, so it drains a backlog: the rate runs
from the first event claimed to the last one finished (processed_events timestamps). The
run is listed under "errors" unless the simulator saw exactly one charge per invoice and
the group's committed offsets reached the end of the topic.
"""
from __future__ import annotations

import asyncio
import os
import secrets
import sys
import time
import traceback
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

from bench import worker_e2e
from bench.context import BenchContext, BenchError, OthersWatch, Service, cpu_seconds, peak_rss_mb
from bench.intents import bare_consume, committed_behind, produce_intents
from bench.providers import CONCURRENCY, consume_argv, payments_integration, simulator_argv
from bench.results import Figure
from hub.admin import ensure_topics
from hub.db import connect
from hub.devstack.procs import free_port
from hub.topics import Topics

__all__ = ["run"]

GROUP = "worker"
PREFIX = "bench-worker."
PARTITIONS = 6
LATENCY_MS = 20


@dataclass(frozen=True)
class _Drain:
    events: int
    seconds: float  # first claim to last finish
    cpu_s: float  # worker process, first provider call to last finish
    sim_cpu_s: float  # the simulator, same span
    ran_s: float  # the worker's main thread: on a CPU, same span
    waited_s: float  # runnable, waiting for a CPU
    rss_mb: float
    others: float
    charges: int
    calls: int
    call_span_s: float  # first to last charge at the simulator
    behind: int  # records past the committed offsets after the drain

    @property
    def rate(self) -> float:
        return self.events / self.seconds


async def run(ctx: BenchContext, quick: bool) -> dict[str, Figure]:
    figures: dict[str, Figure] = {}
    try:
        await _throughput(ctx, 5_000 if quick else 30_000, figures)
    except Exception as exc:  # noqa: BLE001 - keep the latency figures
        traceback.print_exc()
        ctx.error(GROUP, f"throughput: {type(exc).__name__}: {exc}")
    try:
        figures.update(await worker_e2e.run(ctx, quick))
    except Exception as exc:  # noqa: BLE001 - keep the throughput figures
        traceback.print_exc()
        ctx.error(GROUP, f"e2e: {type(exc).__name__}: {exc}")
    return figures


async def _throughput(ctx: BenchContext, n: int, figures: dict[str, Figure]) -> None:
    topics = Topics(PREFIX)
    source = topics.for_type("payment.intent_requested")
    await asyncio.to_thread(ensure_topics, ctx.kafka_bootstrap, [source], partitions=PARTITIONS)
    _say(f"producing {n:,} payment intents to {source}")
    invoices = await asyncio.to_thread(produce_intents, ctx.kafka_bootstrap, source, n,
                                       secrets.token_hex(3))
    _say("bare consume")
    watch = OthersWatch()
    bare = await asyncio.to_thread(bare_consume, ctx.kafka_bootstrap, source)
    bare_others = watch.share()
    if bare.records != n:
        raise BenchError(f"bare consumer read {bare.records} records of {n}")
    sim_port = free_port()
    async with ctx.service("payments-sim", simulator_argv(sim_port, LATENCY_MS), sim_port,
                           health="/_sim/health") as sim:
        config = ctx.hub_config(free_port(), payments_integration(sim.url))
        env = {**ctx.hub_env(config), "HUB_TOPIC_PREFIX": PREFIX}
        _say(f"hub consume payments over {n:,} intents, simulator at {LATENCY_MS} ms")
        async with ctx.service("hub-consume", consume_argv("payments"), 0, env=env, health=None) as worker:
            drain = await _drain(ctx, sim, worker, topics.group("payments"), source, n)
    if drain.charges != len(invoices):
        ctx.error(GROUP, f"simulator saw {drain.charges} charges for {len(invoices)} intents")
    if drain.behind:
        ctx.error(GROUP, f"{drain.behind} records past the committed offsets after the drain")
    where = f"{PARTITIONS} partitions, {n:,} intents with distinct invoice ids"
    others = f"Other processes used {drain.others:.0%} of the machine's CPU meanwhile."
    figures["bare_consume_rate"] = Figure(
        round(bare.rate, 1), "events/s", n=bare.records, duration_s=round(bare.seconds, 2),
        note=f"confluent-kafka consume(1000) of the same records, no decode, one thread in the "
             f"bench process; {where}. Other processes used {bare_others:.0%} of the "
             "machine's CPU meanwhile.")
    figures["worker_rate_20ms"] = Figure(
        round(drain.rate, 1), "events/s", n=drain.events, duration_s=round(drain.seconds, 2),
        baselines=("bare_consume_rate",),
        note=f"one `hub consume payments` process draining a backlog ({where}; concurrency "
             f"{CONCURRENCY} per partition, no effective rate limit); payments simulator at "
             f"{LATENCY_MS} ms in its own process; first claim to last done (processed_events); "
             f"simulator: {drain.charges:,} charges in {drain.calls:,} calls over "
             f"{drain.call_span_s:.2f} s; committed offsets {drain.behind} records short of the "
             f"end after the drain; the simulator used {drain.sim_cpu_s * 1e6 / drain.events:.0f} ms "
             f"CPU per 1,000 calls on the same {os.cpu_count()} cores. The worker's main thread "
             f"ran {drain.ran_s:.1f} s and waited {drain.waited_s:.1f} s for a CPU (run queue) "
             f"meanwhile. {others}")
    figures["worker_cpu_ms_per_1000"] = Figure(
        round(drain.cpu_s * 1e6 / drain.events, 1), "ms", n=drain.events,
        note="CPU (user + system, all threads incl. librdkafka's) of the worker process per "
             "1,000 events, first provider call to last event done.")
    figures["rss_mb_worker"] = Figure(
        round(drain.rss_mb, 1), "MiB", n=drain.events,
        note="peak resident memory (VmHWM) of the worker process after the drain.")


async def _drain(ctx: BenchContext, sim: Service, worker: Service, group: str, source: str,
                 n: int) -> _Drain:
    """Wait for the worker's first provider call, then until `n` events are done."""
    async with aiohttp.ClientSession() as http:
        deadline = time.monotonic() + 90
        while (await _sim_json(http, sim, "/_sim/stats"))["calls"] == 0:
            if time.monotonic() > deadline:
                raise BenchError(f"the worker made no provider call in 90 s; see {worker.log}")
            await asyncio.sleep(0.02)
        cpu0, watch = cpu_seconds(worker.pid, tree=False), OthersWatch()
        sim0, sched0 = cpu_seconds(sim.pid, tree=False), _schedstat(worker.pid)
        conn = await connect(ctx.database_url, ctx.db_schema)
        try:
            deadline = time.monotonic() + 60 + n / 50
            while (done := await _done(conn, group))["n"] < n:
                if time.monotonic() > deadline:
                    raise BenchError(f"{done['n']} of {n} events done in time; see {worker.log}")
                await asyncio.sleep(0.1)
            cpu, others = cpu_seconds(worker.pid, tree=False) - cpu0, watch.share()
            sim_cpu = cpu_seconds(sim.pid, tree=False) - sim0
            ran, waited = (b - a for a, b in zip(sched0, _schedstat(worker.pid), strict=True))
            rss = peak_rss_mb(worker.pid)
        finally:
            await conn.close()
        effects = await _sim_json(http, sim, "/_sim/effects?kind=charge")
        stats = await _sim_json(http, sim, "/_sim/stats")
    stamps = [e["ts"] for e in effects["effects"]]
    behind = await _wait_committed(ctx, group, source)
    return _Drain(done["n"], done["seconds"], cpu, sim_cpu, ran, waited, rss, others,
                  effects["count"], stats["calls"],
                  max(stamps) - min(stamps) if stamps else 0.0, behind)


async def _done(conn: Any, group: str) -> dict[str, Any]:
    row = await conn.fetchrow(
        "SELECT count(*) AS n, extract(epoch FROM max(finished_at) - min(reserved_at)) AS s"
        " FROM processed_events WHERE group_name = $1 AND status = 'done'", group)
    return {"n": int(row["n"]), "seconds": float(row["s"] or 0.0)}


async def _wait_committed(ctx: BenchContext, group: str, source: str) -> int:
    """Records past the group's committed offsets, once 0 or after 10 s."""
    deadline = time.monotonic() + 10
    while True:
        behind = await asyncio.to_thread(committed_behind, ctx.kafka_bootstrap, group, source)
        if behind == 0 or time.monotonic() > deadline:
            return behind
        await asyncio.sleep(0.25)


async def _sim_json(http: aiohttp.ClientSession, sim: Service, path: str) -> Any:
    async with http.get(sim.url + path) as resp:
        resp.raise_for_status()
        return await resp.json()


def _schedstat(pid: int) -> tuple[float, float]:
    """Seconds the main thread of `pid` has run on a CPU, and waited runnable for one."""
    ran, waited, _ = Path(f"/proc/{pid}/schedstat").read_text().split()
    return int(ran) / 1e9, int(waited) / 1e9


def _say(what: str) -> None:
    print(f"bench: {GROUP}: {what}", file=sys.stderr, flush=True)
