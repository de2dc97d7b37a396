"""`hub consume --metrics-port` and `hub project --metrics-port` serve Prometheus text on
127.0.0.1, and nothing without the flag."""
from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from hub.devstack.procs import free_port
from hub.topics import Topics
from tests.history import hub_env, make_topics, start_hub

pytestmark = pytest.mark.integration

CONFIG = """
[ingress]
port = 8080

[integrations.payments]
kind = "payments"
base_url = "http://127.0.0.1:9"
credentials = { api_key = "sk_test_metrics" }

[routes]
"payment.intent_requested" = ["payments"]
"""


def scrape(url: str, within: float = 30.0, expect: str = "") -> str:
    """The body of `url` once the process serves it and, with `expect`, once a line starts
    with it (the port opens before the workers have registered their gauges)."""
    deadline = time.monotonic() + within
    while True:
        try:
            with urllib.request.urlopen(url, timeout=2) as r:
                assert r.headers["Content-Type"].startswith("text/plain")
                text = str(r.read().decode())
            if not expect or any(line.startswith(expect) for line in text.splitlines()):
                return text
        except (urllib.error.URLError, ConnectionError):
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"{url} did not serve {expect or 'anything'} in {within:.0f} s")
        time.sleep(0.2)


def stop(proc: subprocess.Popen[bytes], log: Path) -> None:
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(timeout=30)
    assert code == 0, log.read_text()[-3000:]


async def test_workers_and_projections_serve_metrics(servers, topic_prefix, db_schema, tmp_path) -> None:
    (tmp_path / "hub.toml").write_text(CONFIG)
    await asyncio.to_thread(make_topics, servers.kafka_bootstrap, Topics(topic_prefix))
    env = hub_env(servers, topic_prefix, db_schema, tmp_path)
    consume_port, project_port = free_port(), free_port()
    workers = start_hub(["consume", "payments", "--metrics-port", str(consume_port)], env,
                        tmp_path / "consume.log")
    projection = start_hub(["project", "reconciliation", "--metrics-port", str(project_port)], env,
                           tmp_path / "project.log")
    try:
        worker_text = await asyncio.to_thread(scrape, f"http://127.0.0.1:{consume_port}/metrics",
                                              expect="hub_provider_circuit_state{")
        project_text = await asyncio.to_thread(scrape, f"http://127.0.0.1:{project_port}/metrics")
    finally:
        await asyncio.to_thread(stop, workers, tmp_path / "consume.log")
        await asyncio.to_thread(stop, projection, tmp_path / "project.log")
    circuit = [line for line in worker_text.splitlines()
               if line.startswith("hub_provider_circuit_state{")]
    assert len(circuit) == 1 and 'integration="payments"' in circuit[0]
    assert circuit[0].endswith(" 0.0")
    assert 'service_name="hub-consume"' in worker_text
    # Projections record no hub instruments yet; their lag is on the ingress's /metrics.
    assert "process_cpu_seconds_total " in project_text

