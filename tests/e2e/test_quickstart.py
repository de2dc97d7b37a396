"""The README's quickstart, command by command, against a stack `hub dev up` starts."""
from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from hub.signatures import sign

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
HUB = [sys.executable, "-m", "hub"]


def readme_commands() -> list[str]:
    """`hub ...` lines of the README's quickstart blocks, comments stripped."""
    text = (ROOT / "README.md").read_text()
    quickstart = text.split("## Quickstart", 1)[1].split("\n## ", 1)[0]
    commands = []
    for block in re.findall(r"```sh\n(.*?)```", quickstart, re.S):
        for line in block.splitlines():
            line = line.split("#", 1)[0].strip()
            if line.startswith("hub "):
                commands.append(line)
    return commands


def run(args: list[str], env: dict[str, str], cwd: Path,
        timeout: float = 240) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, env=env, cwd=cwd, capture_output=True, text=True, timeout=timeout,
                          check=False)


@pytest.fixture
def home() -> Iterator[Path]:
    # Not pytest's tmp_path: its parents are private, and the database runs as `postgres`.
    path = Path(tempfile.mkdtemp(prefix="hub-quickstart-"))
    os.chmod(path, 0o755)
    yield path
    shutil.rmtree(path, ignore_errors=True)


def test_readme_quickstart(home: Path) -> None:
    tmp_path = home
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    env["HUB_STATE_DIR"] = str(tmp_path / "state")
    commands = readme_commands()
    assert commands[-1] == "hub dev down"
    assert "hub dev status" in commands

    up = run([*HUB, "dev", "up"], env, tmp_path)
    try:
        assert up.returncode == 0, up.stdout + up.stderr
        status = run([*HUB, "dev", "status", "--json"], env, tmp_path)
        assert status.returncode == 0, status.stderr
        report = json.loads(status.stdout)
        assert report["healthy"] is True
        assert set(report["endpoints"]) == {"stripe", "github", "standard-webhooks", "twilio",
                                            "shopify", "slack"}
        assert report["config"] == str(tmp_path / "state" / "hub.toml")

        # A signed webhook to the URL and secret that `status --json` gives.
        ep = report["endpoints"]["stripe"]
        body = json.dumps({"id": "evt_quickstart", "type": "payment_intent.succeeded",
                           "created": int(time.time()), "data": {"object": {
                               "id": "pi_q", "amount": 500, "amount_received": 500,
                               "currency": "usd", "metadata": {"invoice_id": "INV-Q"}}}}).encode()
        req = urllib.request.Request(ep["url"], data=body, method="POST", headers={
            **sign("stripe", secret=ep["secrets"][0], body=body), "Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=10) as resp:  # noqa: S310 - local URL
            assert resp.status == 202

        demo = run([*HUB, "demo"], env, tmp_path)
        assert demo.returncode == 0, demo.stdout + demo.stderr
        assert "stripe (again)     200" in demo.stdout
        # The provider flow: a charge, its webhook back, the posting, a receipt and an SMS.
        assert "each effect once: yes" in demo.stdout, demo.stdout
        for row in ("payments    charge", "accounting  invoice", "accounting  journal",
                    "email       email", "sms         sms"):
            assert re.search(rf"^{row}\s+1\s", demo.stdout, re.M), demo.stdout

        for command in commands[:-1]:
            args = shlex.split(command)[1:]
            if args[0] == "tail":
                args += ["--idle-timeout", "3"]
            done = run([*HUB, *args], env, tmp_path, timeout=60)
            assert done.returncode == 0, f"{command}: {done.stdout}{done.stderr}"
            if args[0] == "tail":
                lines = done.stdout.splitlines()
                assert any("payment.succeeded" in line and "INV-Q" in line for line in lines)
            if args[:2] == ["keys", "create"]:
                assert re.search(r"^key\s+hubk_[a-z0-9]{12}_\S+$", done.stdout, re.M)
    finally:
        down = run([*HUB, "dev", "down"], env, tmp_path)
    assert down.returncode == 0, down.stderr
    assert "stopped Kafka" in down.stdout and "stopped PostgreSQL" in down.stdout
    after = json.loads(run([*HUB, "dev", "status", "--json"], env, tmp_path).stdout)
    assert after["healthy"] is False
