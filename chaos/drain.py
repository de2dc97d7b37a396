"""Waiting until the stack is quiet: every worker group has committed the end of every
partition it reads (sources and retry topics), every projection has applied the end of its
topics, the simulators have no callbacks pending, and the log stopped growing."""
from __future__ import annotations

import asyncio
import json
import time
from dataclasses import dataclass

import aiohttp
from confluent_kafka import Consumer, TopicPartition

from chaos.cli import HubCli
from chaos.stack import ChaosStack
from hub.admin import list_topics
from hub.config import HubConfig
from hub.topics import Topics

__all__ = ["DrainReport", "drain", "worker_lag"]


@dataclass(frozen=True)
class DrainReport:
    drained: bool
    seconds: float
    detail: str


def worker_lag(bootstrap: str, config: HubConfig, topics: Topics) -> dict[str, int]:
    """Records not yet committed per worker group, over its source and retry topics."""
    ends = {t.name: t.end_offsets for t in list_topics(bootstrap)}
    out: dict[str, int] = {}
    for name, integration in config.integrations.items():
        sources = {topics.for_type(t) for t in config.routed_types(name)}
        sources |= {topics.retry(name, d) for d in integration.retry.topics}
        parts = [TopicPartition(t, p) for t in sorted(sources) for p in range(len(ends.get(t, ())))]
        consumer = Consumer({"bootstrap.servers": bootstrap, "group.id": topics.group(name),
                             "enable.auto.commit": False})
        try:
            committed = consumer.committed(parts, timeout=10) if parts else []
        finally:
            consumer.close()
        out[topics.group(name)] = sum(
            max(0, ends[tp.topic][tp.partition] - max(tp.offset, 0)) for tp in committed)
    return out


async def _pending_callbacks(http: aiohttp.ClientSession, sim_url: str) -> int:
    async with http.get(f"{sim_url}/_sim/stats") as resp:
        stats = await resp.json()
    return sum(int(s.get("pending_callbacks", 0)) for s in stats.values())


async def drain(stack: ChaosStack, cli: HubCli, within: float) -> DrainReport:
    """Poll every 2 s until two polls in a row find everything caught up and the log
    unchanged, or `within` seconds pass."""
    config, servers, topics = stack.config(), stack.servers(), Topics("")
    started = time.monotonic()
    last_total, quiet, detail = -1, 0, "not polled"
    async with aiohttp.ClientSession() as http:
        while time.monotonic() - started < within:
            try:
                lag = await asyncio.to_thread(worker_lag, servers.kafka_bootstrap, config, topics)
                status = await cli.run(["projections", "status", "--json"], check=False)
                projections = {p["projection"]: int(p["lag"]) for p in json.loads(status.stdout)
                               if p.get("state") == "active"} if status.returncode == 0 else {}
                pending = await _pending_callbacks(http, stack.sim_url)
                total = sum(t.messages for t in await asyncio.to_thread(
                    list_topics, servers.kafka_bootstrap))
            except Exception as exc:  # noqa: BLE001 - the stack may still be recovering
                detail = f"poll failed: {type(exc).__name__}: {exc}"
                quiet = 0
                await asyncio.sleep(2.0)
                continue
            behind = {**{g: n for g, n in lag.items() if n},
                      **{f"projection {p}": n for p, n in projections.items() if n}}
            if len(projections) < 2:
                behind["projections"] = -1  # not reporting yet
            caught_up = not behind and pending == 0 and total == last_total
            quiet = quiet + 1 if caught_up else 0
            detail = (f"behind: {behind}" if behind else
                      f"{pending} callbacks pending" if pending else f"log at {total} records")
            if quiet >= 2:
                return DrainReport(True, time.monotonic() - started, detail)
            last_total = total
            await asyncio.sleep(2.0)
    return DrainReport(False, time.monotonic() - started, detail)
