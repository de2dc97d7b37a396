"""Ingress figures: peak rate (1 and 2 processes), latency against offered load, CPU and memory
per webhook, next to a bare aiohttp handler and a raw confluent-kafka producer of the same run.

Every request is a distinct signed Stripe delivery (a repeat would take the cheaper duplicate
path); wrk replays them from files written just before each run.
"""
from __future__ import annotations

import asyncio
import itertools
import os
import sys
import traceback
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

from bench.context import BenchContext, OthersWatch, Service, cpu_seconds, peak_rss_mb
from bench.deliveries import StripeDeliveries, ingress_records
from bench.plot import line_chart
from bench.raw_producer import produce_for
from bench.results import Figure
from bench.wrk import WrkResult, run_wrk
from hub.admin import ensure_topics
from hub.devstack.procs import free_port
from hub.schemastore import SchemaStore

__all__ = ["run"]

GROUP = "ingress"
THREADS, CONNECTIONS = 2, 64
CURVE = (0.2, 0.4, 0.5, 0.6, 0.8, 1.0)  # offered load as fractions of ingress_rate; 0.5 is the figure
HALF = 0.5


@dataclass(frozen=True)
class _Plan:
    warmup_s: float
    peak_s: float
    latency_s: float  # the half-peak point
    curve_s: float  # the other points of the plot


@dataclass(frozen=True)
class _Run:
    load: WrkResult
    cpu_s: float  # CPU seconds of the server (process tree) during the measured wrk run
    others: float  # share of the machine's CPU other processes used meanwhile

    @property
    def cpu_ms_per_1000(self) -> float:
        return self.cpu_s * 1e6 / max(self.load.ok, 1)


class _Load:
    """Writes fresh request files and runs wrk; keeps count of every 202 the ingress gave."""

    def __init__(self, ctx: BenchContext) -> None:
        self.ctx = ctx
        self.deliveries = StripeDeliveries(ctx.stripe_secret)
        self.accepted = 0
        self._files = itertools.count()

    async def run(self, svc: Service, *, seconds: float, expect_rate: float, rate: float = 0.0,
                  repeats_ok: bool = False, tree: bool = False) -> _Run:
        """wrk for `seconds` with enough new deliveries for `expect_rate`/s; run again with
        more if the files ran out, unless `repeats_ok` (warm-ups, the bare handler)."""
        n = int(max(expect_rate, 100.0) * seconds * 1.5) + 2000
        if repeats_ok:
            n = min(n, 60_000)
        for _ in range(3):
            base = self.ctx.tmp / f"requests-{next(self._files)}"
            host = f"127.0.0.1:{svc.port}"
            await asyncio.to_thread(self.deliveries.write, base, n, host=host, threads=THREADS)
            watch, cpu0 = OthersWatch(), cpu_seconds(svc.pid, tree=tree)
            try:
                result = await run_wrk(svc.url, base, seconds=seconds, threads=THREADS,
                                       connections=CONNECTIONS, rate=rate)
            finally:
                _remove(base)
            run = _Run(result, cpu_seconds(svc.pid, tree=tree) - cpu0, watch.share())
            self.accepted += result.statuses.get(202, 0)
            if repeats_ok or not result.wrapped:
                break
            n = int(result.sent * 1.5)
        return run

    async def peak(self, svc: Service, plan: _Plan, *, tree: bool = False,
                   repeats_ok: bool = False) -> _Run:
        warm = await self.run(svc, seconds=plan.warmup_s, expect_rate=3000, repeats_ok=True)
        return await self.run(svc, seconds=plan.peak_s, expect_rate=warm.load.rate,
                              repeats_ok=repeats_ok, tree=tree)

    def check(self, what: str, run: _Run, *, repeats_ok: bool = False) -> str:
        """A note suffix: how busy other processes kept the machine, and problems of the run,
        which also go to "errors"."""
        note = f" Other processes used {run.others:.0%} of the machine's CPU meanwhile."
        problems = [p for p in run.load.problems() if not (repeats_ok and "repeated" in p)]
        if problems:
            self.ctx.error(GROUP, f"{what}: {'; '.join(problems)}")
            note += f" Not clean: {'; '.join(problems)}."
        return note


def _remove(base: Path) -> None:
    for i in range(THREADS):
        Path(f"{base}.{i}").unlink(missing_ok=True)


Phase = Callable[[BenchContext, _Load, _Plan, dict[str, Figure]], Awaitable[None]]


async def run(ctx: BenchContext, quick: bool) -> dict[str, Figure]:
    """Each phase adds its figures; a failing phase is recorded and the others still run."""
    plan = _Plan(2, 5, 5, 3) if quick else _Plan(3, 25, 20, 10)
    load = _Load(ctx)
    figures: dict[str, Figure] = {}
    phases: tuple[Phase, ...] = (_bare_handler, _one_process, _two_processes, _log_check,
                                 _raw_producer)
    for phase in phases:
        try:
            await phase(ctx, load, plan, figures)
        except Exception as exc:  # noqa: BLE001 - keep the figures of the other phases
            traceback.print_exc()
            ctx.error(GROUP, f"{phase.__name__.strip('_')}: {type(exc).__name__}: {exc}")
    return figures


def _wrk_note(plan: _Plan) -> str:
    return f"wrk {THREADS} threads × {CONNECTIONS} connections, {plan.peak_s:.0f} s"


async def _bare_handler(ctx: BenchContext, load: _Load, plan: _Plan,
                        figures: dict[str, Figure]) -> None:
    _say("bare aiohttp handler")
    port = free_port()
    argv = [sys.executable, "-m", "bench.bare_app", "--port", str(port)]
    async with ctx.service("bare-aiohttp", argv, port) as svc:
        bare = await load.peak(svc, plan, repeats_ok=True)
    figures["bare_aiohttp_rate"] = Figure(
        round(bare.load.rate, 1), "requests/s", n=bare.load.ok, duration_s=_s(bare),
        note=f"{_wrk_note(plan)}; the same kind of signed Stripe requests (at most 60,000 "
             f"distinct, {bare.load.wrapped} repeated: no dedupe here); the handler reads the "
             "body and answers 200." + load.check("bare_aiohttp_rate", bare, repeats_ok=True))
    figures["bare_aiohttp_cpu_ms_per_1000"] = Figure(
        round(bare.cpu_ms_per_1000, 1), "ms", n=bare.load.ok, duration_s=_s(bare),
        note="CPU (user + system) of the bare app per 1,000 answered requests, peak run.")


async def _one_process(ctx: BenchContext, load: _Load, plan: _Plan,
                       figures: dict[str, Figure]) -> None:
    _say("ingress, 1 process")
    async with ctx.hub_serve(workers=1) as svc:
        one = await load.peak(svc, plan)
        peak = one.load.rate
        figures["ingress_rate"] = Figure(
            round(peak, 1), "webhooks/s", n=one.load.ok, duration_s=_s(one),
            note=f"one `hub serve` process; {_wrk_note(plan)}; each a distinct verified Stripe "
                 "payment_intent.succeeded acknowledged (202) after Kafka acks=all of 2 records "
                 "and a Postgres insert." + load.check("ingress_rate", one),
            baselines=("bare_aiohttp_rate", "raw_producer_webhook_rate"))
        figures["ingress_cpu_ms_per_1000"] = Figure(
            round(one.cpu_ms_per_1000, 1), "ms", n=one.load.ok, duration_s=_s(one),
            note="CPU (user + system, all threads incl. librdkafka's) of the ingress process per "
                 "1,000 acknowledged webhooks, peak run.",
            baselines=("bare_aiohttp_cpu_ms_per_1000",))
        curve: dict[float, _Run] = {}
        for frac in CURVE:
            _say(f"ingress at {frac:.0%} of peak ({frac * peak:.0f}/s)")
            seconds = plan.latency_s if frac == HALF else plan.curve_s
            curve[frac] = await load.run(svc, seconds=seconds, expect_rate=frac * peak * 1.1,
                                         rate=frac * peak)
        rss = peak_rss_mb(svc.pid)
    half = curve[HALF]
    note = (f"offered {HALF * peak:.0f}/s (half of ingress_rate), achieved "
            f"{half.load.rate:.0f}/s over {_s(half):.0f} s; paced by wrk's Lua delay() on a "
            "fixed per-thread schedule (no open-loop Python generator needed); latency is from "
            "sending to the full response." + load.check("ingress latency", half))
    for key in ("p50", "p99"):
        figures[f"ingress_{key}_ms"] = Figure(
            round(half.load.ms(key), 2), "ms", offered=round(HALF * peak, 1), n=half.load.ok,
            duration_s=_s(half), note=note)
    figures["rss_mb_ingress"] = Figure(
        round(rss, 1), "MiB", note="peak resident memory (VmHWM) of the one ingress process "
                                   "after the peak and latency runs.")
    _report_curve(ctx, peak, curve)


async def _two_processes(ctx: BenchContext, load: _Load, plan: _Plan,
                         figures: dict[str, Figure]) -> None:
    _say("ingress, 2 processes")
    async with ctx.hub_serve(workers=2) as svc:
        two = await load.peak(svc, plan, tree=True)
    figures["ingress_rate_2proc"] = Figure(
        round(two.load.rate, 1), "webhooks/s", n=two.load.ok, duration_s=_s(two),
        note=f"`hub serve --workers 2` (SO_REUSEPORT) on {os.cpu_count()} cores shared with "
             f"Kafka, PostgreSQL and wrk; {_wrk_note(plan)}."
             + load.check("ingress_rate_2proc", two),
        baselines=("ingress_rate",))
    figures["ingress_cpu_ms_per_1000_2proc"] = Figure(
        round(two.cpu_ms_per_1000, 1), "ms", n=two.load.ok, duration_s=_s(two),
        note="CPU of both ingress processes (and their parent) per 1,000 acknowledged webhooks.",
        baselines=("ingress_cpu_ms_per_1000",))


async def _log_check(ctx: BenchContext, load: _Load, plan: _Plan,
                     figures: dict[str, Figure]) -> None:
    """A benchmark that acknowledges without writing is a bug: every 202 must be in the log."""
    lines = []
    for topic in (ctx.topics.webhooks, ctx.topics.for_type("payment.succeeded")):
        records = await asyncio.to_thread(ctx.topic_records, topic)
        ok = records >= load.accepted
        lines.append(f"{topic} holds {records} records {'≥' if ok else '<'} {load.accepted} "
                     "webhooks acknowledged over all ingress runs")
        if not ok:
            ctx.error(GROUP, f"acknowledged without writing: {lines[-1]}")
    if "ingress_rate" in figures:
        figures["ingress_rate"].note = f"{figures['ingress_rate'].note} Log check: {'; '.join(lines)}."


async def _raw_producer(ctx: BenchContext, load: _Load, plan: _Plan,
                        figures: dict[str, Figure]) -> None:
    """The same encoded records (webhook.received + payment.succeeded per delivery) into topics
    of their own, so later groups never see them."""
    _say("raw confluent-kafka producer")
    schemas = SchemaStore.load()
    records = []
    for d in load.deliveries.make(5000):
        for topic, key, value, headers in ingress_records(d, "http://127.0.0.1:8080", schemas,
                                                          ctx.topics):
            records.append((f"bench-raw.{topic}", key, value, headers))
    await asyncio.to_thread(ensure_topics, ctx.kafka_bootstrap, {r[0] for r in records},
                            partitions=ctx.partitions)
    per_webhook = len(records) // 5000
    await asyncio.to_thread(produce_for, ctx.kafka_bootstrap, records, plan.warmup_s)
    watch = OthersWatch()
    res = await asyncio.to_thread(produce_for, ctx.kafka_bootstrap, records, plan.peak_s)
    others = watch.share()
    if res.failed:
        ctx.error(GROUP, f"raw producer: {res.failed} records failed: {res.first_error}")
    note = ("confluent-kafka Producer with hub's producer_config (idempotent, acks=all, "
            f"linger.ms=2, lz4), in the bench process; {per_webhook} records per webhook as the "
            "ingress writes them (webhook.received + payment.succeeded), counted by delivery "
            f"report, duration until flushed. Other processes used {others:.0%} of the "
            "machine's CPU meanwhile.")
    figures["raw_producer_rate"] = Figure(round(res.rate, 1), "records/s", n=res.delivered,
                                          duration_s=round(res.duration_s, 2), note=note)
    figures["raw_producer_webhook_rate"] = Figure(
        round(res.rate / per_webhook, 1), "webhooks/s", n=res.delivered // per_webhook,
        duration_s=round(res.duration_s, 2),
        note=f"raw_producer_rate / {per_webhook}: the webhooks/s the producer alone could write.")


def _report_curve(ctx: BenchContext, peak: float, curve: dict[float, _Run]) -> None:
    ctx.report_lines += [
        "", "Ingress latency against offered load (one process, wrk-paced):", "",
        "| offered | offered/s | achieved/s | p50 ms | p99 ms | not 2xx | others' CPU |",
        "| ---: | ---: | ---: | ---: | ---: | ---: | ---: |",
        *(f"| {frac:.0%} | {frac * peak:,.0f} | {r.load.rate:,.0f} | {r.load.ms('p50'):.1f} | "
          f"{r.load.ms('p99'):.1f} | {sum(r.load.statuses.values()) - r.load.ok} | "
          f"{r.others:.0%} |" for frac, r in curve.items()),
    ]
    png = ctx.out_dir / "ingress_latency.png"
    series = {key.upper(): [(frac * peak, r.load.ms(key)) for frac, r in curve.items()]
              for key in ("p50", "p99")}
    try:
        line_chart(png, series, title="HUB INGRESS LATENCY VS OFFERED LOAD",
                   x_label="OFFERED WEBHOOKS/S", y_label="MS")
    except OSError as exc:
        ctx.error(GROUP, f"plot {png} not written: {exc}")
        return
    ctx.report_lines.append(f"\nPlot: `{png.name}`.")


def _s(run: _Run) -> float:
    return round(run.load.duration_s, 2)


def _say(what: str) -> None:
    print(f"bench: {GROUP}: {what}", file=sys.stderr, flush=True)
