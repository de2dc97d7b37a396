"""The SMS worker, which has no idempotency key: Twilio status callbacks through the
ingress move sent messages forward, and a worker SIGKILLed after its sends reached the
provider but before their answers did resolves them by lookup after a restart: one SMS
per event, none sent twice."""
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
from hub.simulators import FaultConfig, SimulatorConfig, run_simulators
from tests.provider_kinds import kind_config, sms_requested
from tests.provider_sync import done_count, produce, running, runtime, sim, sql, wait_until
from tests.stack import SECRETS, run_ingress

pytestmark = pytest.mark.integration

SENDS = 5


async def test_status_callbacks_through_the_ingress_update_the_messages(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path / "ingress", servers, topic_prefix, db_schema) as ingress:
        token = SECRETS["twilio"]  # Twilio signs callbacks with the account's auth token
        config = SimulatorConfig(twilio_auth_token=token,
                                 sms_status_callback_url=f"{ingress.url}/webhooks/twilio")
        async with run_simulators(config, only="sms") as sims:
            url = sims.urls["sms"]
            creds = f'{{ account_sid = "{config.twilio_account_sid}", auth_token = "{token}" }}'
            rt = runtime(tmp_path / "worker", servers, topic_prefix, db_schema,
                         kind_config("sms", url, credentials=creds))
            good, unreachable = sms_requested("+15550100100"), sms_requested("+15005550006")
            await produce(servers.kafka_bootstrap, rt.topics.name("messaging"), [good, unreachable])
            async with running(rt, ("sms",)):
                # 2 sends, then sent + a final status for each, all on hub.messaging
                await wait_until(lambda: _eq(done_count(servers, db_schema), 6), what="6 done")
            effects = (await sim(url, "/_sim/effects"))["effects"]
    rows = await sql(servers, db_schema,
                     "SELECT event_id::text AS id, provider_message_id, status, error_code"
                     " FROM sms_messages")
    sids = {e["client_reference"]: e["ref"] for e in effects}
    assert {r["id"]: (r["provider_message_id"], r["status"], r["error_code"]) for r in rows} == {
        good.id: (sids[good.id], "delivered", None),
        unreachable.id: (sids[unreachable.id], "undelivered", "30003")}
    statuses = await sql(servers, db_schema, "SELECT event_type, count(*) AS n FROM processed_events"
                                             " WHERE status = 'done' GROUP BY event_type")
    assert {r["event_type"]: r["n"] for r in statuses} == {
        "sms.requested": 2, "sms.delivery_status": 4}


def start_worker(tmp: Path, servers: Any, prefix: str, schema: str, log: Path) -> subprocess.Popen[bytes]:
    env = {"PATH": os.environ.get("PATH", ""), "HUB_CONFIG": str(tmp / "hub.toml"),
           "HUB_KAFKA_BOOTSTRAP": servers.kafka_bootstrap, "HUB_DATABASE_URL": servers.database_url,
           "HUB_DB_SCHEMA": schema, "HUB_TOPIC_PREFIX": prefix, "HUB_STATE_DIR": str(tmp / "state"),
           "HUB_LOG_FORMAT": "text"}
    with log.open("ab") as out:
        return subprocess.Popen([sys.executable, "-m", "hub", "consume", "sms"], env=env,
                                stdout=out, stderr=subprocess.STDOUT)


async def test_sigkill_after_the_sends_then_restart_resolves_by_lookup(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    # Every answer is lost: the message is created, then the request hangs past the timeout.
    lost = FaultConfig(timeout_rate=1.0, timeout_after_effect=True, timeout_s=30.0)
    async with run_simulators(SimulatorConfig(faults={"sms": lost}), only="sms") as sims:
        url = sims.urls["sms"]
        (tmp_path / "hub.toml").write_text(kind_config("sms", url, timeout_s=20.0))
        topic = f"{topic_prefix}hub.messaging"
        await asyncio.to_thread(ensure_topics, servers.kafka_bootstrap, [topic], partitions=3)
        events = [sms_requested(f"+155501002{n:02d}", f"INV-{n}") for n in range(SENDS)]
        await produce(servers.kafka_bootstrap, topic, events)
        log = tmp_path / "worker.log"
        first = start_worker(tmp_path, servers, topic_prefix, db_schema, log)
        try:
            await wait_until(lambda: _eq(_sent(url), SENDS), within=30, what=f"{SENDS} sends ({log})")
            await wait_until(lambda: _eq(_reserved(servers, db_schema), SENDS), what="reservations")
            first.send_signal(signal.SIGKILL)
            assert first.wait(10) == -signal.SIGKILL
        finally:
            if first.poll() is None:
                first.kill()
        await sim(url, "/_sim/faults", {"replace": True})
        second = start_worker(tmp_path, servers, topic_prefix, db_schema, log)
        try:
            await wait_until(lambda: _eq(done_count(servers, db_schema), SENDS), within=40,
                             what=f"{SENDS} done ({log})")
            second.send_signal(signal.SIGTERM)
            assert second.wait(30) == 0
        finally:
            if second.poll() is None:
                second.kill()
        effects = (await sim(url, "/_sim/effects"))["effects"]
        calls = [c for c in (await sim(url, "/_sim/calls"))["calls"] if c["direction"] == "in"]
    assert sorted(e["client_reference"] for e in effects) == sorted(e.id for e in events)
    assert sorted((c["method"], c["status"], c["client_reference"]) for c in calls) == sorted(
        [("POST", 201, e.id) for e in events] + [("GET", 200, e.id) for e in events])
    rows = await sql(servers, db_schema,
                     "SELECT client_reference, provider_message_id, status FROM sms_messages")
    assert {r["client_reference"]: (r["provider_message_id"], r["status"]) for r in rows} == {
        e["client_reference"]: (e["ref"], "delivered") for e in effects}


async def _sent(url: str) -> int:
    return int((await sim(url, "/_sim/effects"))["counts"].get("sms", 0))


async def _reserved(servers: Any, schema: str) -> int:
    rows = await sql(servers, schema, "SELECT count(*) AS n FROM sms_messages WHERE status = 'reserved'")
    return int(rows[0]["n"])


async def _eq(value: Any, expected: Any) -> bool:
    return bool(await value == expected)
