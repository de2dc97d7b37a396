"""Rebuild figures: the reconciliation projection replayed from the log into a new version
(`hub projections rebuild`, its own process), next to a bare confluent-kafka consume and
Avro decode of the same topics in the same run.

The history is synthetic but realistic (projections.synthetic): invoices, full, split,
partial, double and over-payments, refunds, accounting attempts and postings, client
redirects, orphans, 4 % duplicates, shuffled so payments often precede their invoice.
It is produced once with hub's producer, encoded with hub.codec.
"""
from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
import uuid
from datetime import UTC, datetime
from pathlib import Path

from confluent_kafka import Consumer, TopicPartition

from bench.context import REPO, BenchContext, BenchError, cpu_seconds, peak_rss_mb
from bench.results import Figure
from hub import codec
from hub.admin import ensure_topics
from hub.producer import HubProducer, producer_config
from hub.schemastore import SchemaStore
from hub.topics import Topics
from projections.kafka_offsets import watermarks
from projections.reconciliation import ReconciliationProjection
from projections.synthetic import HistoryGen

__all__ = ["run"]

GROUP = "rebuild"
PREFIX = "bench-rebuild."
BATCH = 2000


def _say(text: str) -> None:
    print(f"bench: {GROUP}: {text}", file=sys.stderr, flush=True)


def _produce_history(bootstrap: str, topics: Topics, n: int) -> tuple[int, dict[str, int]]:
    """At least `n` events of the synthetic history, acknowledged; (count, per type)."""
    store = SchemaStore.load()
    producer = HubProducer(producer_config(bootstrap, **{
        "client.id": "bench-history", "linger.ms": 20, "queue.buffering.max.messages": 500_000}))
    gen = HistoryGen(seed=42, now=datetime.now(UTC), run="b")
    count, kinds = 0, {}
    try:
        for chunk in gen.chunks(10**9, per_chunk=1000):
            for e in chunk:
                producer.produce_nowait(topics.for_type(e.type), codec.encode(store, e), key=e.key,
                                        headers=e.headers())
                kinds[e.type] = kinds.get(e.type, 0) + 1
                count += 1
            if count >= n:
                break
        if producer.flush(120) != 0:
            raise BenchError("history: records still unacknowledged after 120 s")
    finally:
        producer.close()
    return count, kinds


def bare_consume_decode(bootstrap: str, names: list[str]) -> tuple[int, float]:
    """Consume every record of `names` from the oldest offset and decode it with hub.codec;
    no writes. Returns (records, seconds from assignment to the last high watermark)."""
    store = SchemaStore.load()
    marks = watermarks(bootstrap, names)
    remaining = {tp: end for tp, end in marks.high.items() if end > marks.low[tp]}
    consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": f"bench-bare-{uuid.uuid4()}",
                         "enable.auto.commit": False, "auto.offset.reset": "earliest"})
    n = 0
    start = time.perf_counter()
    try:
        consumer.assign([TopicPartition(t, p, marks.low[(t, p)]) for t, p in remaining])
        deadline = time.monotonic() + 600
        while remaining and time.monotonic() < deadline:
            for m in consumer.consume(1000, 1.0):
                if m.error() is not None:
                    continue
                codec.decode(store, m.value(), topic=m.topic(), partition=m.partition(),
                             offset=m.offset())
                n += 1
                tp = (m.topic(), m.partition())
                if m.offset() + 1 >= remaining.get(tp, 1 << 62):
                    del remaining[tp]
        elapsed = time.perf_counter() - start
    finally:
        consumer.close()
    if remaining:
        raise BenchError(f"bare consumer did not reach the end of {sorted(remaining)} in 600 s")
    return n, elapsed


def _rebuild_process(ctx: BenchContext) -> tuple[int, float, float, float]:
    """`hub projections rebuild reconciliation` as a process; (events, seconds, peak RSS
    MiB, CPU seconds). Blocking."""
    config = ctx.tmp / "rebuild.toml"
    config.write_text(f"[kafka]\npartitions = {ctx.partitions}\n")
    env = {**ctx.hub_env(config), "HUB_TOPIC_PREFIX": PREFIX}
    log = ctx.tmp / "logs" / "rebuild.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "wb") as err:
        proc = subprocess.Popen(
            [sys.executable, "-m", "hub", "projections", "rebuild", "reconciliation", "--quiet",
             "--batch-size", str(BATCH)], env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=err)
    rss = cpu = 0.0
    while proc.poll() is None:
        rss = max(rss, peak_rss_mb(proc.pid))
        cpu = max(cpu, cpu_seconds(proc.pid, tree=False))
        time.sleep(0.1)
    out = proc.stdout.read().decode() if proc.stdout else ""
    found = re.search(r"([\d,]+) events in ([\d.]+) s", out)
    if proc.returncode != 0 or found is None:
        raise BenchError(f"rebuild exited with {proc.returncode}: {out.strip()} "
                         f"{Path(log).read_text()[-1500:]}")
    return int(found.group(1).replace(",", "")), float(found.group(2)), rss, cpu


async def run(ctx: BenchContext, quick: bool) -> dict[str, Figure]:
    target = 50_000 if quick else 500_000
    topics = Topics(PREFIX)
    names = list(ReconciliationProjection().topics(topics))
    await asyncio.to_thread(ensure_topics, ctx.kafka_bootstrap,
                            [*topics.core(), topics.dlq("projection.reconciliation")],
                            partitions=ctx.partitions)
    _say(f"producing a history of {target:,} events")
    t0 = time.perf_counter()
    produced, kinds = await asyncio.to_thread(_produce_history, ctx.kafka_bootstrap, topics, target)
    gen_s = time.perf_counter() - t0
    mix = ", ".join(f"{t} {n:,}" for t, n in sorted(kinds.items()))
    _say(f"produced {produced:,} events in {gen_s:.1f} s ({mix})")

    _say("bare consume + decode")
    bare_n, bare_s = await asyncio.to_thread(bare_consume_decode, ctx.kafka_bootstrap, names)
    _say("hub projections rebuild reconciliation")
    events, seconds, rss, cpu = await asyncio.to_thread(_rebuild_process, ctx)
    if events < produced:
        raise BenchError(f"rebuild applied {events:,} events of {produced:,}")
    where = f"{len(names)} topics × {ctx.partitions} partitions"
    return {
        "bare_consume_decode_rate": Figure(
            round(bare_n / bare_s, 1), "events/s", n=bare_n, duration_s=round(bare_s, 2),
            note=f"confluent-kafka consume(1000) + hub.codec.decode of every record, no writes, "
                 f"one thread, {where}; same records as rebuild_rate."),
        "rebuild_rate": Figure(
            round(events / seconds, 1), "events/s", n=events, duration_s=round(seconds, 2),
            baselines=("bare_consume_decode_rate",),
            note=f"`hub projections rebuild reconciliation` in its own process: consumer loop in "
                 f"batch mode ({BATCH}/transaction, pipelined, asynchronous commit), upserts of "
                 f"invoices, payments, refunds and postings plus offsets per transaction, until "
                 f"the planned end; {where}; mix: "
                 f"{mix}; CPU {cpu:.1f} s in the rebuild process (PostgreSQL apart)."),
        "rss_mb_projection": Figure(
            round(rss, 1), "MiB", n=events,
            note="peak resident memory (VmHWM) of the rebuild process."),
    }
