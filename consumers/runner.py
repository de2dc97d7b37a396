"""Running workers: one or several integrations in one process, until a stop event."""
from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable, Sequence
from typing import Any

from consumers.registry import ADAPTERS, build_integration
from consumers.worker import Worker
from hub.admin import ensure_topics
from hub.bootstrap import Runtime, WorkerDeps, worker_deps
from hub.consumer import ConsumerLoop
from hub.errors import ConfigError

__all__ = ["build_workers", "resolve_names", "run_workers", "tune_gc", "worker_topics"]

log = logging.getLogger(__name__)


def resolve_names(rt: Runtime, names: Sequence[str]) -> list[str]:
    """`all` ⇒ every configured integration; ConfigError for an unknown name."""
    configured = rt.config.integrations
    if not configured:
        raise ConfigError(f"{rt.config.path}: no [integrations.<name>] configured")
    wanted = list(configured) if "all" in names else list(dict.fromkeys(names))
    for name in wanted:
        if name not in configured:
            raise ConfigError(f"unknown integration {name!r}; configured: {sorted(configured)}")
        kind = configured[name].kind
        if kind not in ADAPTERS:
            raise ConfigError(f"integrations.{name}: kind {kind!r} has no worker adapter yet "
                              f"(available: {sorted(ADAPTERS)})")
    return wanted


def tune_gc() -> None:
    """For a worker process, once its modules, schemas and config are loaded: keep those
    out of every later collection (gc.freeze), and collect the young generation every
    20,000 allocations instead of 700. A worker allocates many short-lived containers and
    few cycles; with the defaults, collections took about a tenth of its CPU."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(20_000, 10, 10)


def build_workers(rt: Runtime, deps: WorkerDeps, names: Sequence[str]) -> list[Worker]:
    """Every adapter is built before anything runs: no half-configured start."""
    workers = []
    for name in names:
        config = rt.config.integrations[name]
        routed = rt.config.routed_types(name)
        if not routed:
            log.warning("integration %s has no [routes]; its worker will consume nothing", name)
        integration = build_integration(config, deps.http, pool=deps.pool)
        workers.append(Worker(integration, config, routed, pool=deps.pool,
                              producer=deps.producer, schemas=rt.schemas, topics=rt.topics))
    return workers


def worker_topics(rt: Runtime, workers: Sequence[Worker]) -> list[str]:
    """Topics the workers read and write: sources, retry topics, dead letters, outcomes."""
    names = {rt.topics.outcomes}
    for w in workers:
        names.update(w.loop_settings().topics)
        names.add(rt.topics.dlq(w.name))
    return sorted(names)


async def run_workers(
    rt: Runtime,
    names: Sequence[str],
    stop: asyncio.Event,
    *,
    started: Callable[[Sequence[Worker]], None] | None = None,
    **loop_overrides: Any,
) -> None:
    """Run the named integrations until `stop` is set; if one loop fails, all stop.

    `started(workers)` is called once they are built (their `stats` count what happened).
    """
    wanted = resolve_names(rt, names)
    async with worker_deps(rt) as deps:
        workers = build_workers(rt, deps, wanted)
        await asyncio.to_thread(
            ensure_topics, rt.servers.kafka_bootstrap, worker_topics(rt, workers),
            partitions=rt.config.partitions, replication_factor=rt.config.replication_factor)
        tuning = {"session_timeout_ms": rt.config.session_timeout_ms,
                  "commit_interval_ms": rt.config.commit_interval_ms, **loop_overrides}
        loops = []
        for w in workers:
            loop = ConsumerLoop(w.loop_settings(**tuning),
                                bootstrap=rt.servers.kafka_bootstrap, schemas=rt.schemas,
                                producer=deps.producer, handler=w.handle)
            w.loop = loop
            loops.append(loop)
        if started is not None:
            started(workers)
        tasks = [asyncio.create_task(loop.run(stop), name=f"worker-{w.name}")
                 for loop, w in zip(loops, workers, strict=True)]
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_EXCEPTION)
        finally:
            stop.set()
            results = await asyncio.gather(*tasks, return_exceptions=True)
            await asyncio.gather(*(w.close() for w in workers))
            for w in workers:
                log.info("worker %s stopped: %s", w.name, dict(sorted(w.stats.items())),
                         extra={"integration": w.name, "group": w.group})
        for result in results:
            if isinstance(result, BaseException) and not isinstance(result, asyncio.CancelledError):
                raise result
