"""The stack a chaos run drives: Kafka and PostgreSQL from `hub.devstack`, and hub's own
processes (ingress, workers, projections, provider simulators) started here, by pid, so
the run can SIGKILL and restart them."""
from __future__ import annotations

import contextlib
import os
import signal
import sys
import time
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from chaos.leaks import log_files
from chaos.profile import StackSecrets, write_config
from hub.config import HubConfig, Settings, load_config
from hub.devstack.kafka import LocalKafka
from hub.devstack.postgres import LocalPostgres
from hub.devstack.procs import alive, free_port, spawn, wait_for
from hub.devstack.stack import DevStack
from hub.devstack.state import Servers, StackState, resolve_servers

__all__ = ["ChaosStack", "Proc", "StackFailure"]

REPO = Path(__file__).resolve().parents[1]
HUB = [sys.executable, "-m", "hub"]


class StackFailure(RuntimeError):
    """A part of the stack did not start; the message names it and its log."""


@dataclass
class Proc:
    """One process of the stack, restartable with the same command line."""

    name: str
    argv: list[str]
    log: Path
    health: str | None = None
    pid: int | None = None
    starts: int = 0
    unexpected_exits: int = 0


@dataclass
class ChaosStack:
    home: Path
    secrets: StackSecrets
    seed: int
    say: Callable[[str], None] = print
    procs: dict[str, Proc] = field(default_factory=dict)
    ingress_port: int = 0
    sim_port: int = 0

    @property
    def state_dir(self) -> Path:
        return self.home / "state"

    @property
    def config_path(self) -> Path:
        return self.state_dir / "hub.toml"

    @property
    def ingress_url(self) -> str:
        return f"http://127.0.0.1:{self.ingress_port}"

    @property
    def sim_url(self) -> str:
        return f"http://127.0.0.1:{self.sim_port}"

    def base_env(self) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("HUB_")}
        env.update({"HUB_STATE_DIR": str(self.state_dir), "HUB_CONFIG": str(self.config_path),
                    "HUB_LOG_LEVEL": "INFO"})
        return env

    def env(self) -> dict[str, str]:
        """What every hub process and CLI call of this run gets."""
        servers = self.servers()
        return {**self.base_env(), "HUB_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
                "HUB_DATABASE_URL": servers.database_url, "HUB_DB_SCHEMA": "hub",
                "HUB_TOPIC_PREFIX": ""}

    def settings(self) -> Settings:
        return Settings.from_env(self.base_env())

    def servers(self) -> Servers:
        return resolve_servers(self.settings())

    def config(self) -> HubConfig:
        return load_config(self.config_path, self.base_env())

    # --- start and stop ------------------------------------------------------------

    def start_servers(self) -> None:
        """Kafka and PostgreSQL (hub dev up without hub's own processes), topics, migrations."""
        self.home.mkdir(parents=True, exist_ok=True)
        os.chmod(self.home, 0o755)  # noqa: S103 - the postgres OS user must reach it as root
        self.ingress_port, self.sim_port = free_port(), free_port()
        write_config(self.config_path, self.secrets, ingress_port=self.ingress_port,
                     sim_port=self.sim_port)
        DevStack(self.settings()).up(ingress=False, say=lambda m: self.say(f"stack: {m}"))

    def start_processes(self) -> None:
        """Simulators, ingress, workers and projections, each waited for."""
        sec = self.secrets
        ingress = self.ingress_url
        sims = [*_python("hub.simulators"), "--port", str(self.sim_port), "--seed", str(self.seed),
                "--webhook-url", f"{ingress}/webhooks/stripe", "--stripe-secret", sec.stripe_webhook,
                "--stripe-key", sec.stripe_api_key, "--twilio-sid", sec.twilio_sid,
                "--twilio-token", sec.twilio_token, "--accounting-token", sec.accounting_token,
                "--postmark-token", sec.postmark_token,
                "--sms-callback-url", f"{ingress}/webhooks/twilio",
                # A provider retries its webhooks for days; 10 attempts cover any outage here.
                "--callback-attempts", "10"]
        logs = self.home / "logs"
        self.procs = {
            "simulators": Proc("simulators", sims, logs / "simulators.log",
                               f"{self.sim_url}/_sim/health"),
            "ingress": Proc("ingress", [*HUB, "serve"], logs / "ingress.log", f"{ingress}/healthz"),
            "workers": Proc("workers", [*HUB, "consume", "all"], logs / "workers.log"),
            "projections": Proc("projections", [*HUB, "project", "all"], logs / "projections.log"),
        }
        for name in self.procs:
            self.start(name)

    def start(self, name: str, timeout: float = 60.0) -> None:
        proc = self.procs[name]
        proc.pid = spawn(proc.argv, log=proc.log, env=self.env(), cwd=REPO)
        proc.starts += 1
        pid = proc.pid
        if proc.health is not None:
            url = proc.health
            try:
                wait_for(lambda: _http_ok(url) or not alive(pid), timeout=timeout, what=name)
            except TimeoutError:
                raise StackFailure(f"{name} did not answer {url} in {timeout:.0f} s; "
                                   f"see {proc.log}") from None
        else:
            time.sleep(1.0)
        if not alive(pid):
            raise StackFailure(f"{name} exited at start; see {proc.log}:\n{_tail(proc.log)}")

    def kill(self, name: str, sig: int = signal.SIGKILL) -> None:
        """Signal the process group `name` leads (its own session: only what we started)."""
        proc = self.procs[name]
        if proc.pid is None or not alive(proc.pid):
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, sig)
        deadline = time.monotonic() + 30
        while alive(proc.pid) and time.monotonic() < deadline:
            time.sleep(0.05)
        if alive(proc.pid):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(proc.pid, signal.SIGKILL)
            while alive(proc.pid):
                time.sleep(0.05)

    def restart_dead(self) -> list[str]:
        """Restart processes that exited on their own (a supervisor would); their names."""
        found = []
        for name, proc in self.procs.items():
            if proc.pid is not None and not alive(proc.pid):
                proc.unexpected_exits += 1
                found.append(name)
                self.start(name)
        return found

    def stop_processes(self) -> None:
        for name in ("ingress", "workers", "projections", "simulators"):
            if name in self.procs:
                self.kill(name, signal.SIGTERM)

    def stop_servers(self) -> None:
        DevStack(self.settings()).down(say=lambda m: self.say(f"stack: {m}"))

    # --- the servers' faults -------------------------------------------------------------

    def kafka(self) -> LocalKafka:
        state = StackState.load(self.state_dir)
        return LocalKafka(self.state_dir / "kafka", state.kafka_port, state.controller_port)

    def kafka_down(self, *, hard: bool) -> None:
        """SIGKILL the broker (hard) or stop it cleanly (SIGTERM, controlled shutdown)."""
        kafka = self.kafka()
        if hard:
            pid = kafka.pid()
            if pid is not None and alive(pid):
                os.kill(pid, signal.SIGKILL)
                while alive(pid):
                    time.sleep(0.05)
        else:
            kafka.stop()

    def kafka_up(self) -> None:
        self.kafka().start()

    def postgres_stall(self) -> list[int]:
        """SIGSTOP the postmaster and every backend: connections hang, nothing is refused.
        Returns the pids stopped, for `postgres_resume`."""
        state = StackState.load(self.state_dir)
        postmaster = LocalPostgres(self.state_dir / "postgres", state.postgres_port).pid()
        if postmaster is None or not alive(postmaster):
            raise StackFailure("PostgreSQL is not running")
        stopped = [postmaster, *_children_of(postmaster)]
        for pid in stopped:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGSTOP)
        return stopped

    def postgres_resume(self, stopped: list[int]) -> None:
        """SIGCONT what `postgres_stall` stopped, and the postmaster's parent: as root the
        cluster runs under `runuser`, which stops itself when its child stops (as su does)
        and would otherwise never reap the postmaster at shutdown."""
        for pid in reversed(stopped):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)
        parent = _parent_of(stopped[0])
        if parent is not None and parent != os.getpid() and _state_of(parent) == "T":
            with contextlib.suppress(ProcessLookupError):
                os.kill(parent, signal.SIGCONT)

    def log_files(self) -> list[Path]:
        """Every log file of every process of the run, the servers' too."""
        return log_files(self.home)


def _stat(pid: int) -> list[str]:
    """Fields of /proc/<pid>/stat from `state` on (the command name may hold spaces)."""
    text = Path(f"/proc/{pid}/stat").read_text()
    return text[text.rindex(")") + 2:].split()


def _state_of(pid: int) -> str | None:
    try:
        return _stat(pid)[0]
    except (OSError, IndexError):
        return None


def _parent_of(pid: int) -> int | None:
    try:
        return int(_stat(pid)[1])
    except (OSError, IndexError, ValueError):
        return None


def _children_of(pid: int) -> list[int]:
    found = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit() and _parent_of(int(entry.name)) == pid:
            found.append(int(entry.name))
    return found


def _python(module: str) -> list[str]:
    return [sys.executable, "-m", module]


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local URL
            return bool(resp.status == 200)
    except OSError:
        return False


def _tail(path: Path, chars: int = 2000) -> str:
    try:
        return path.read_text(errors="replace")[-chars:]
    except OSError:
        return "(no log)"
