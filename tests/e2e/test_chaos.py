"""`python -m chaos` in its short form, as `make chaos` runs it: a workload under faults
(process kills, a broker restart, provider errors, a stalled database), then the
guarantees checked and printed. Exit 0 and every invariant held."""
from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from chaos.faults import CORE_KINDS

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(420)]

ROOT = Path(__file__).resolve().parents[2]
INVARIANTS = (
    "the stack drained (all groups caught up, no callbacks pending)",
    "every request was acknowledged in the end",
    "every acknowledged webhook and published event is in the log",
    "an Idempotency-Key always answers one event id",
    "every needed provider effect happened exactly once or is dead-lettered",
    "no event dead-lettered by a projection",
    "every record of every topic decodes with schemas/",
    "the reconciliation view equals a fresh rebuild",
    "the audit view equals a fresh rebuild",
    "hub audit verify passes",
    "no configured secret in any log, record, header, row, answer or CLI output",
)


def test_short_chaos_run_holds_every_invariant() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
    proc = subprocess.Popen([sys.executable, "-m", "chaos", "--seed", "20261122"], cwd=ROOT,
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    try:
        out, _ = proc.communicate(timeout=360)
    except subprocess.TimeoutExpired:
        proc.send_signal(signal.SIGTERM)  # the harness stops its Kafka and PostgreSQL first
        out, _ = proc.communicate(timeout=60)
        pytest.fail(f"the short chaos run took over 6 minutes:\n{out}")
    assert proc.returncode == 0, out
    assert "chaos: seed 20261122: all invariants held" in out
    faults = out.split("\nFAULTS INJECTED\n", 1)[1].split("\nINVARIANTS\n", 1)[0]
    injected = re.findall(r"^\d+\s+[\d.]+s\s+(\w+)\s", faults, re.M)
    assert sorted(injected) == sorted(CORE_KINDS), faults
    table = out.split("\nINVARIANTS\n", 1)[1]
    for number, name in enumerate(INVARIANTS, start=1):
        assert re.search(rf"^{number}\s+{re.escape(name)}\s+held\s", table, re.M), table
    assert "VIOLATED" not in table
