"""What every figure group is given: the servers, a temp folder, and processes to measure."""
from __future__ import annotations

import asyncio
import contextlib
import os
import secrets
import signal
import subprocess
import sys
import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import aiohttp

from hub.admin import list_topics
from hub.devstack.procs import free_port
from hub.errors import HubError
from hub.topics import Topics

__all__ = ["BenchContext", "BenchError", "OthersWatch", "Service", "cpu_seconds", "peak_rss_mb"]

REPO = Path(__file__).resolve().parents[1]
_TICK = os.sysconf("SC_CLK_TCK")


class BenchError(HubError):
    """A benchmark step could not run; the message names the step and where to look."""


@dataclass(frozen=True)
class Service:
    """A server process the bench started: `pid` is the process it spawned."""

    name: str
    pid: int
    port: int
    log: Path

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"


@dataclass
class BenchContext:
    """Shared by every figure group of one run."""

    tmp: Path
    out_dir: Path
    kafka_bootstrap: str
    database_url: str
    quick: bool
    db_schema: str = "bench"
    topic_prefix: str = ""
    partitions: int = 3
    stripe_secret: str = field(default_factory=lambda: "whsec_" + secrets.token_hex(24))
    errors: list[dict[str, str]] = field(default_factory=list)
    report_lines: list[str] = field(default_factory=list)  # extra lines for results.md
    _procs: dict[int, subprocess.Popen[bytes]] = field(default_factory=dict)

    @property
    def topics(self) -> Topics:
        return Topics(self.topic_prefix)

    def error(self, group: str, message: str) -> None:
        """Record a problem in results.json's "errors" without stopping the run."""
        print(f"bench: {group}: {message}", file=sys.stderr)
        self.errors.append({"group": group, "error": message})

    def hub_config(self, port: int, extra: str = "") -> Path:
        """A hub.toml with one Stripe endpoint (`/webhooks/stripe`) signed with `stripe_secret`,
        and no effective per-client rate limit."""
        path = self.tmp / f"hub-{port}.toml"
        path.write_text("\n".join([
            "[ingress]", 'host = "127.0.0.1"', f"port = {port}",
            f'public_url = "http://127.0.0.1:{port}"',
            # wrk is one client: keep the per-client limit out of the way of the measurement.
            "rate_limit_per_s = 1000000", "rate_limit_burst = 1000000", "",
            "[kafka]", f"partitions = {self.partitions}", "",
            "[endpoints.stripe]", 'scheme = "stripe"', 'provider = "stripe"',
            f'secrets = ["{self.stripe_secret}"]', "", extra,
        ]))
        return path

    def hub_env(self, config: Path) -> dict[str, str]:
        return {
            **os.environ,
            "HUB_CONFIG": str(config),
            "HUB_KAFKA_BOOTSTRAP": self.kafka_bootstrap,
            "HUB_DATABASE_URL": self.database_url,
            "HUB_DB_SCHEMA": self.db_schema,
            "HUB_TOPIC_PREFIX": self.topic_prefix,
            "HUB_STATE_DIR": str(self.tmp / "state"),
            "HUB_LOG_LEVEL": "WARNING",
        }

    @asynccontextmanager
    async def hub_serve(self, *, workers: int = 1, extra_config: str = "") -> AsyncIterator[Service]:
        """`hub serve --workers N` as a subprocess, once /healthz answers; stopped on exit."""
        port = free_port()
        env = self.hub_env(self.hub_config(port, extra_config))
        argv = [sys.executable, "-m", "hub", "serve", "--port", str(port), "--workers", str(workers)]
        async with self.service(f"hub-serve-{workers}", argv, port, env=env) as svc:
            yield svc

    @asynccontextmanager
    async def service(self, name: str, argv: Sequence[str], port: int, *,
                      env: Mapping[str, str] | None = None, health: str | None = "/healthz",
                      wait_s: float = 60.0) -> AsyncIterator[Service]:
        """Start `argv` (listening on `port`), wait until `health` answers 200 (unless None:
        a process with no HTTP side), stop it on exit; output goes to
        `<tmp>/logs/<name>-<port>.log`."""
        log = self.tmp / "logs" / f"{name}-{port}.log"
        proc = _spawn(argv, env or os.environ, log)
        self._procs[proc.pid] = proc
        svc = Service(name, proc.pid, port, log)
        try:
            if health is not None:
                await self._wait_healthy(proc, svc, health, wait_s)
            yield svc
        finally:
            await asyncio.to_thread(self._stop, proc)

    async def _wait_healthy(self, proc: subprocess.Popen[bytes], svc: Service, path: str,
                            wait_s: float) -> None:
        deadline = time.monotonic() + wait_s
        async with aiohttp.ClientSession() as http:
            while time.monotonic() < deadline:
                if proc.poll() is not None:
                    raise BenchError(f"{svc.name} exited with {proc.returncode} at start: "
                                     f"{_tail(svc.log)}")
                with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                    async with http.get(svc.url + path, timeout=aiohttp.ClientTimeout(1)) as r:
                        if r.status == 200:
                            return
                await asyncio.sleep(0.2)
        raise BenchError(f"{svc.name} did not answer {path} in {wait_s:.0f} s; see {svc.log}")

    def _stop(self, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
        """SIGTERM, then SIGKILL to the process group it leads (its --workers children)."""
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
        self._procs.pop(proc.pid, None)

    def stop_all(self) -> None:
        for proc in list(self._procs.values()):
            self._stop(proc, timeout=10)

    def topic_records(self, topic: str) -> int:
        """Records ever written to `topic`: the sum of its partitions' end offsets."""
        for info in list_topics(self.kafka_bootstrap):
            if info.name == topic:
                return info.messages
        raise BenchError(f"topic {topic} not found on {self.kafka_bootstrap}")


def _spawn(argv: Sequence[str], env: Mapping[str, str], log: Path) -> subprocess.Popen[bytes]:
    log.parent.mkdir(parents=True, exist_ok=True)
    with open(log, "ab") as out:
        return subprocess.Popen(list(argv), stdin=subprocess.DEVNULL, stdout=out,
                                stderr=subprocess.STDOUT, env=dict(env), cwd=REPO,
                                start_new_session=True)


def _tail(path: Path, chars: int = 1500) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return f"(no log at {path})"


def _stat(pid: int) -> list[str]:
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()  # fields from `state` on; comm may hold spaces


def _descendants(pid: int) -> list[int]:
    parents: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            with contextlib.suppress(OSError, ValueError, IndexError):
                parents.setdefault(int(_stat(int(entry.name))[1]), []).append(int(entry.name))
    found, todo = [], [pid]
    while todo:
        kids = parents.get(todo.pop(), [])
        found += kids
        todo += kids
    return found


def cpu_seconds(pid: int, *, tree: bool = True) -> float:
    """User + system CPU seconds of `pid` (and, with `tree`, its live descendants), reaped
    children included."""
    total = 0
    for p in [pid, *(_descendants(pid) if tree else [])]:
        with contextlib.suppress(OSError):
            f = _stat(p)
            total += sum(int(x) for x in f[11:15])  # utime stime cutime cstime
    return total / _TICK


def peak_rss_mb(pid: int, *, tree: bool = False) -> float:
    """Peak resident memory (VmHWM) in MiB, summed over the tree with `tree`."""
    total_kib = 0
    for p in [pid, *(_descendants(pid) if tree else [])]:
        with contextlib.suppress(OSError):
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmHWM:"):
                    total_kib += int(line.split()[1])
    return total_kib / 1024


class OthersWatch:
    """How much of the machine's CPU processes outside this bench used between start and
    `share()`: the bench's own tree (wrk, servers, Kafka, PostgreSQL) is subtracted."""

    def __init__(self) -> None:
        self._start = (time.monotonic(), _machine_busy_s(), cpu_seconds(os.getpid()))

    def share(self) -> float:
        """Fraction (0..1) of all cores' time used by other processes."""
        wall0, busy0, ours0 = self._start
        wall = time.monotonic() - wall0
        others = (_machine_busy_s() - busy0) - (cpu_seconds(os.getpid()) - ours0)
        return max(0.0, others / (wall * (os.cpu_count() or 1))) if wall > 0 else 0.0


def _machine_busy_s() -> float:
    # /proc/stat "cpu" line: user nice system idle iowait irq softirq steal ...
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / _TICK
