"""No configured secret in any output of the quickstart stack: `hub dev up`, `hub demo`
(signed webhooks of every scheme, published events, the provider flow), a wrongly signed
webhook and a publish outside the key's scopes; then every record and header of every
topic, every table row, every answer and every log file is searched for each secret."""
from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from chaos import leaks
from hub.config import load_config
from hub.db import connect
from hub.signatures import sign

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HUB = [sys.executable, "-m", "hub"]


@pytest.fixture
def state() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private, and the database runs as `postgres`.
    home = Path(tempfile.mkdtemp(prefix="hub-leaks-"))
    os.chmod(home, 0o755)
    yield home / "state"
    shutil.rmtree(home, ignore_errors=True)


def hub(args: list[str], env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*HUB, *args], env=env, cwd=ROOT, capture_output=True, text=True,
                          timeout=240, check=False)


def post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, str]:
    req = urllib.request.Request(url, data=body, method="POST", headers=headers)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local URL
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


async def scan_tables(url: str, secrets: dict[str, str]) -> list[leaks.Leak]:
    conn = await connect(url, "hub")
    try:
        return await leaks.scan_database(conn, secrets)
    finally:
        await conn.close()


def test_no_secret_in_any_output_of_the_quickstart_stack(state: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_STATE_DIR"] = str(state)
    outputs: list[tuple[str, str]] = []
    up = hub(["dev", "up"], env)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        created = hub(["keys", "create", "--name", "leaks", "--scope", "invoice.issued"], env)
        assert created.returncode == 0, created.stderr
        found = re.search(r"^key\s+(hubk_\S+)$", created.stdout, re.M)
        assert found is not None, created.stdout
        key = found.group(1)
        demo = hub(["demo"], env)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        outputs.append(("hub demo", demo.stdout + demo.stderr))

        status = json.loads(hub(["dev", "status", "--json"], env).stdout)
        stripe = status["endpoints"]["stripe"]["url"]
        body = b'{"id": "evt_leaks", "type": "payment_intent.succeeded"}'
        wrong = sign("stripe", secret="whsec_" + "0" * 48, body=body)
        outputs.append(("wrongly signed webhook", repr(post(stripe, body, {
            **wrong, "Content-Type": "application/json"}))))
        event = json.dumps({"type": "sms.requested", "subject": "+15550100",
                            "data": {"to": "+15550100", "template": "invoice_issued",
                                     "params": {}, "body": None}}).encode()
        forbidden = post(status["ingress_url"] + "/events", event, {
            "Authorization": f"Bearer {key}", "Content-Type": "application/json"})
        assert forbidden[0] == 403, forbidden
        outputs.append(("publish outside the key's scopes", repr(forbidden)))
        for args in (["dlq", "list", "--json"], ["reconcile"], ["audit", "verify"]):
            done = hub(args, env)
            outputs.append((f"hub {' '.join(args)}", done.stdout + done.stderr))

        secrets = leaks.secrets_of(load_config(state / "hub.toml", env), api_keys=[key])
        assert len(secrets) >= 10  # six endpoints, four integrations' credentials, the key
        bootstrap, url = status["kafka_bootstrap"], status["database_url"]
        records = leaks.read_all_records(bootstrap)
        assert len(records) > 20
        found_leaks = leaks.scan_records(records, secrets)
        found_leaks += asyncio.run(scan_tables(url, secrets))
        for where, text in outputs:
            found_leaks += leaks.scan_text(where, text, secrets)
    finally:
        down = hub(["dev", "down"], env)
    assert down.returncode == 0, down.stderr
    files = leaks.log_files(state)
    assert {f.name for f in files} >= {"ingress.log", "workers.log", "projections.log",
                                       "simulators.log", "kafka.log", "postgres.log"}
    found_leaks += leaks.scan_files(files, secrets)
    assert [str(x) for x in found_leaks] == []
