"""`hub consume payments` killed with SIGKILL mid-batch and restarted: no effect lost, none doubled."""
from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hub.admin import ensure_topics
from hub.simulators import SimulatorConfig, run_simulators
from tests.provider_sync import committed, done_count, intent, payments_config, produce, sim, wait_until

pytestmark = pytest.mark.integration

EVENTS = 200


def start_worker(tmp: Path, servers: Any, prefix: str, schema: str, log: Path) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ.get("PATH", ""), "HUB_CONFIG": str(tmp / "hub.toml"),
           "HUB_KAFKA_BOOTSTRAP": servers.kafka_bootstrap, "HUB_DATABASE_URL": servers.database_url,
           "HUB_DB_SCHEMA": schema, "HUB_TOPIC_PREFIX": prefix, "HUB_STATE_DIR": str(tmp / "state"),
           "HUB_LOG_FORMAT": "text"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hub", "consume", "payments"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def test_sigkill_mid_batch_then_restart_loses_and_doubles_nothing(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_simulators(SimulatorConfig(), only="payments") as sims:
        url = sims.payments
        assert url is not None
        await sim(url, "/_sim/faults", {"latency_ms": 50})
        # 4 calls in flight per partition and 60 calls/s: the batch takes ~3.5 s.
        (tmp_path / "hub.toml").write_text(
            payments_config(url, concurrency=4, rate=60, burst=5))
        topic = f"{topic_prefix}hub.payments"
        await asyncio.to_thread(ensure_topics, servers.kafka_bootstrap, [topic], partitions=3)
        await produce(servers.kafka_bootstrap, topic,
                      [intent(f"inv-{n:03d}", amount=100 + n) for n in range(EVENTS)])
        log = tmp_path / "worker.log"
        first = start_worker(tmp_path, servers, topic_prefix, db_schema, log)
        try:
            await wait_until(lambda: _charges_at_least(url, 80), within=40,
                             what=f"80 charges (log: {log})")
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
        killed_at = (await sim(url, "/_sim/effects"))["counts"]["charge"]
        assert killed_at < EVENTS, "the kill came too late to test anything"
        second = start_worker(tmp_path, servers, topic_prefix, db_schema, log)
        try:
            await wait_until(lambda: _done(servers, db_schema), within=60,
                             what=f"{EVENTS} events done (log: {log})")
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
        finally:
            if second.poll() is None:
                second.kill()
        effects = await sim(url, "/_sim/effects?kind=charge")
        refs = [e["client_reference"] for e in effects["effects"]]
        assert len(refs) == EVENTS
        assert sorted(refs) == [f"inv-{n:03d}" for n in range(EVENTS)]
        # The clean stop committed everything: a third start would read nothing again.
        assert sum(committed(servers.kafka_bootstrap, f"{topic_prefix}hub.payments", topic)) == EVENTS


async def _charges_at_least(url: str, n: int) -> bool:
    return int((await sim(url, "/_sim/effects"))["counts"].get("charge", 0)) >= n


async def _done(servers: Any, schema: str) -> bool:
    return await done_count(servers, schema) == EVENTS
