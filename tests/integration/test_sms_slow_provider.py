"""A slow SMS provider (answers take 1 to 5 s; the worker waits 2 s) still sends one SMS
per event: a send that timed out may still be carried out, so a lookup that finds nothing
soon after it is not trusted until `resend_after_s` has passed. Found by `make chaos`
(fault `provider_slow` on the SMS simulator: two messages for one event)."""
from __future__ import annotations

import asyncio
from collections import Counter
from typing import Any

import pytest

from hub.admin import ensure_topics
from hub.simulators import SimulatorConfig, run_simulators
from hub.simulators.faults import FaultConfig
from tests.provider_kinds import SENDER_NUMBER, kind_config, sms_requested
from tests.provider_sync import done_count, produce, running, runtime, sim, wait_until

pytestmark = pytest.mark.integration

SENDS = 12
SLOWEST_S = 5.0


async def test_a_slow_provider_gets_one_sms_per_event(servers, topic_prefix, db_schema,
                                                      tmp_path) -> None:
    slow = FaultConfig(latency_ms=3000, latency_jitter_ms=2000)
    async with run_simulators(SimulatorConfig(seed=3, faults={"sms": slow}), only="sms") as sims:
        url = sims.urls["sms"]
        options = f'options = {{ from = "{SENDER_NUMBER}", resend_after_s = 6.0 }}'
        rt = runtime(tmp_path, servers, topic_prefix, db_schema,
                     kind_config("sms", url, attempts=8, timeout_s=2.0, options=options))
        await asyncio.to_thread(ensure_topics, servers.kafka_bootstrap, rt.topics.core(),
                                partitions=3)
        events = [sms_requested(f"+15550103{n:03d}", f"INV-{n}") for n in range(SENDS)]
        async with running(rt, ("sms",)):
            await produce(servers.kafka_bootstrap, rt.topics.for_type("sms.requested"), events)
            await wait_until(lambda: _eq(done_count(servers, db_schema), SENDS), within=120,
                             what=f"{SENDS} sends done")
        # A send given up on may still land: wait out the slowest answer before counting.
        await asyncio.sleep(SLOWEST_S + 0.5)
        effects = (await sim(url, "/_sim/effects"))["effects"]
    assert Counter(e["client_reference"] for e in effects) == {e.id: 1 for e in events}


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
