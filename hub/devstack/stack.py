"""`hub dev up|down|status`: the whole local stack, idempotent, by process id."""
from __future__ import annotations

import asyncio
import base64
import json
import os
import secrets
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.admin import ensure_topics, wait_for_broker
from hub.config import HubConfig, Settings, load_config
from hub.db import migrate
from hub.devstack.kafka import LocalKafka
from hub.devstack.postgres import LocalPostgres
from hub.devstack.procs import alive, free_port, port_open, spawn, stop_pid, wait_for
from hub.devstack.state import StackState, resolve_servers
from hub.topics import Topics

__all__ = ["DevStack", "write_dev_config"]

# One demo endpoint per signature scheme, named after it.
DEMO_SCHEMES = ("stripe", "github", "standard-webhooks", "twilio", "shopify", "slack")


def _new_secret(scheme: str) -> str:
    raw = secrets.token_bytes(24)
    if scheme == "standard-webhooks":
        return "whsec_" + base64.b64encode(raw).decode()
    if scheme == "stripe":
        return "whsec_" + secrets.token_hex(24)
    return secrets.token_hex(24)


# The demo routing: every event type that needs a provider, to the simulated provider.
DEV_ROUTES = {
    "payment.intent_requested": ["payments", "email"],
    "payment.refund_requested": ["payments"],
    "sms.requested": ["sms"],
    "sms.delivery_status": ["sms"],
    "invoice.issued": ["accounting"],
    "invoice.post_requested": ["accounting"],
    "payment.succeeded": ["accounting", "email"],
    "email.requested": ["email"],
}


def _integrations(simulators_port: int, twilio_token: str) -> list[str]:
    base = f"http://127.0.0.1:{simulators_port}"
    retry = '{ attempts = 4, base = 0.2, cap = 10.0, topics = ["30s", "5m", "1h"] }'
    tables = {
        "payments": f'{{ api_key = "sk_test_{secrets.token_hex(12)}" }}',
        "sms": f'{{ account_sid = "AC{secrets.token_hex(16)}", auth_token = "{twilio_token}" }}',
        "accounting": f'{{ token = "{secrets.token_hex(16)}" }}',
        "email": f'{{ token = "{secrets.token_hex(16)}" }}',
    }
    options = {
        "sms": '{ from = "+15550001111" }',
        "email": '{ from = "billing@example.com", receipt_to = "accounts@example.com" }',
    }
    lines = []
    for name, credentials in tables.items():
        lines += [f"[integrations.{name}]", f'kind = "{name}"', f'base_url = "{base}/{name}"',
                  f"credentials = {credentials}", f"retry = {retry}"]
        if name in options:
            lines.append(f"options = {options[name]}")
        lines.append("")
    lines.append("[routes]")
    lines += [f'"{t}" = {json.dumps(names)}' for t, names in DEV_ROUTES.items()]
    return [*lines, ""]


def write_dev_config(path: Path, ingress_port: int, simulators_port: int) -> None:
    """The dev config written on first start: one demo endpoint per signature scheme with
    fresh secrets, and the four integrations pointed at the local provider simulators."""
    lines = [
        "# Written by `hub dev up` on first start; edit freely, it is not overwritten.",
        "[ingress]",
        'host = "127.0.0.1"',
        f"port = {ingress_port}",
        f'public_url = "http://127.0.0.1:{ingress_port}"',
        "max_body_bytes = 1048576",
        "ack_timeout_s = 5.0",
        "# The operators' page /ui and /metrics; sign in at /ui/login with this token.",
        f'admin_token = "{secrets.token_hex(16)}"',
        "ops_refresh_s = 5",
        "",
        "[kafka]",
        "partitions = 3",
        "replication_factor = 1",
        "",
    ]
    endpoint_secrets = {scheme: _new_secret(scheme) for scheme in DEMO_SCHEMES}
    for scheme in DEMO_SCHEMES:
        lines += [
            f"[endpoints.{scheme}]",
            f'scheme = "{scheme}"',
            f'provider = "{scheme}"',
            f'secrets = ["{endpoint_secrets[scheme]}"]',
            "",
        ]
    # Twilio signs its callbacks with the account's auth token: one secret for both.
    lines += _integrations(simulators_port, endpoint_secrets["twilio"])
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("\n".join(lines))
    path.chmod(0o600)


@dataclass
class DevStack:
    settings: Settings

    @property
    def home(self) -> Path:
        return self.settings.state_dir

    def _kafka(self, state: StackState) -> LocalKafka:
        return LocalKafka(self.home / "kafka", state.kafka_port, state.controller_port)

    def _postgres(self, state: StackState) -> LocalPostgres:
        return LocalPostgres(self.home / "postgres", state.postgres_port)

    def up(self, *, ingress: bool = True, say: Any = print) -> None:
        """Start what is not running yet; reuse ports from earlier runs."""
        self.home.mkdir(parents=True, exist_ok=True)
        state = StackState.load(self.home)
        if self.settings.kafka_bootstrap is None:
            kafka = self._kafka(state)
            if not kafka.healthy():
                say(f"starting Kafka (KRaft) in {kafka.home} ...")
            kafka.start()
            state.kafka_port, state.controller_port = kafka.port, kafka.controller_port
            state.pids["kafka"] = kafka.pid() or 0
        if self.settings.database_url is None:
            pg = self._postgres(state)
            if not pg.healthy():
                say(f"starting PostgreSQL in {pg.home} ...")
            pg.start()
            state.postgres_port = pg.port
            state.pids["postgres"] = pg.pid() or 0
        if not state.ingress_port:
            state.ingress_port = 8080 if not port_open("127.0.0.1", 8080) else free_port()
        if not state.simulators_port:
            state.simulators_port = free_port()
        if not state.workers_metrics_port:
            state.workers_metrics_port = free_port()
        state.save(self.home)
        if not self.settings.config_path.exists():
            write_dev_config(self.settings.config_path, state.ingress_port, state.simulators_port)
            say(f"wrote dev config {self.settings.config_path} (fresh secrets)")
        config = load_config(self.settings.config_path, self.settings.env)
        servers = resolve_servers(self.settings)
        wait_for_broker(servers.kafka_bootstrap, timeout=60)
        topics = Topics(self.settings.topic_prefix)
        ensure_topics(servers.kafka_bootstrap, topics.core(), partitions=config.partitions,
                      replication_factor=config.replication_factor)
        applied = asyncio.run(migrate(servers.database_url, self.settings.db_schema))
        if applied:
            say(f"applied migrations: {', '.join(applied)}")
        if ingress:
            self._start_ingress(state, config.ingress.host, config.ingress.port)
            state.save(self.home)
            if config.integrations:
                self._start_simulators(state, config)
                state.save(self.home)
                self._start_workers(state)
            self._start_background(state, "projections", ["project", "all"])
        state.save(self.home)

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        servers = resolve_servers(self.settings)
        env.update({
            "HUB_STATE_DIR": str(self.home),
            "HUB_CONFIG": str(self.settings.config_path),
            "HUB_KAFKA_BOOTSTRAP": servers.kafka_bootstrap,
            "HUB_DATABASE_URL": servers.database_url,
            "HUB_DB_SCHEMA": self.settings.db_schema,
            "HUB_TOPIC_PREFIX": self.settings.topic_prefix,
            # Each process of the local stack acts as its least-privilege role.
            "HUB_DB_ROLES": self.settings.env.get("HUB_DB_ROLES", "on"),
        })
        return env

    def _start_ingress(self, state: StackState, host: str, port: int) -> None:
        if alive(state.pids.get("ingress")) and port_open(host, port):
            return
        pid = spawn([sys.executable, "-m", "hub", "serve"], log=self.home / "ingress.log",
                    env=self._env())
        state.pids["ingress"] = pid
        try:
            wait_for(lambda: _http_ok(f"http://{host}:{port}/healthz") or not alive(pid),
                     timeout=60, what=f"ingress on {host}:{port}")
        except TimeoutError:
            stop_pid(pid)
            raise
        if not alive(pid):
            log = (self.home / "ingress.log").read_text()[-2000:]
            raise RuntimeError(f"ingress exited at start:\n{log}")

    def _start_simulators(self, state: StackState, config: HubConfig) -> None:
        """The provider simulators, told the secrets of the integrations that call them and
        of the endpoints their webhooks come back to."""
        port = _simulators_port(config) or state.simulators_port
        if alive(state.pids.get("simulators")) and port_open("127.0.0.1", port):
            return
        ingress = config.ingress.url.rstrip("/")
        args = ["--port", str(port), "--seed", "1"]
        if "stripe" in config.endpoints:
            args += ["--webhook-url", f"{ingress}/webhooks/stripe",
                     "--stripe-secret", config.endpoints["stripe"].secrets[0]]
        flags = {("payments", "api_key"): "--stripe-key", ("sms", "account_sid"): "--twilio-sid",
                 ("sms", "auth_token"): "--twilio-token",
                 ("accounting", "token"): "--accounting-token", ("email", "token"): "--postmark-token"}
        for integration in config.integrations.values():
            for (kind, credential), flag in flags.items():
                if integration.kind == kind and credential in integration.credentials:
                    args += [flag, integration.credentials[credential]]
        if "twilio" in config.endpoints:
            args += ["--sms-callback-url", f"{ingress}/webhooks/twilio"]
        pid = spawn([sys.executable, "-m", "hub.simulators", *args],
                    log=self.home / "simulators.log", env=self._env())
        state.pids["simulators"] = pid
        wait_for(lambda: _http_ok(f"http://127.0.0.1:{port}/_sim/health") or not alive(pid),
                 timeout=30, what=f"provider simulators on port {port}")
        if not alive(pid):
            raise RuntimeError(f"simulators exited at start; see {self.home / 'simulators.log'}")

    def _start_workers(self, state: StackState) -> None:
        """`hub consume all` in one background process."""
        self._start_background(state, "workers", ["consume", "all", "--metrics-port",
                                                  str(state.workers_metrics_port)])

    def _start_background(self, state: StackState, name: str, argv: list[str]) -> None:
        """A `hub` command running until `hub dev down`, logging to `<state>/<name>.log`."""
        if alive(state.pids.get(name)):
            return
        pid = spawn([sys.executable, "-m", "hub", *argv], log=self.home / f"{name}.log",
                    env=self._env())
        state.pids[name] = pid
        time.sleep(1.0)
        if not alive(pid):
            log = (self.home / f"{name}.log").read_text()[-2000:]
            raise RuntimeError(f"`hub {' '.join(argv)}` exited at start:\n{log}")

    def down(self, say: Any = print) -> None:
        state = StackState.load(self.home)
        for name in ("projections", "workers", "ingress", "simulators"):
            if stop_pid(state.pids.get(name)):
                say(f"stopped {name} (pid {state.pids[name]})")
            state.pids.pop(name, None)
        if self.settings.database_url is None and self._postgres(state).stop():
            say("stopped PostgreSQL")
        if self.settings.kafka_bootstrap is None and self._kafka(state).stop():
            say("stopped Kafka")
        state.pids.pop("kafka", None)
        state.pids.pop("postgres", None)
        state.save(self.home)

    def status(self) -> dict[str, Any]:
        report: dict[str, Any] = {
            "kafka_bootstrap": None, "database_url": None, "ingress_url": None,
            "config": str(self.settings.config_path), "healthy": False, "parts": {},
            "endpoints": {},
        }
        parts: dict[str, bool] = {}
        try:
            servers = resolve_servers(self.settings)
        except Exception:  # noqa: BLE001 - status reports what it can
            servers = None
        if servers is not None:
            report["kafka_bootstrap"] = servers.kafka_bootstrap
            report["database_url"] = servers.database_url
            host, _, port = servers.kafka_bootstrap.split(",")[0].rpartition(":")
            parts["kafka"] = port_open(host, int(port))
            parts["postgres"] = _pg_ok(servers.database_url)
        else:
            parts["kafka"] = parts["postgres"] = False
        if self.settings.config_path.exists():
            config = load_config(self.settings.config_path, self.settings.env)
            url = config.ingress.url
            report["ingress_url"] = url
            if config.ingress.admin_token:
                report["ui_url"] = f"{url}/ui"
            parts["ingress"] = _http_ok(f"http://{config.ingress.host}:{config.ingress.port}/readyz")
            report["endpoints"] = {
                name: {"scheme": ep.scheme, "url": f"{url}/webhooks/{name}",
                       "secrets": list(ep.secrets)}
                for name, ep in config.endpoints.items()
            }
            if config.integrations:
                state = StackState.load(self.home)
                sim_port = _simulators_port(config) or state.simulators_port
                parts["simulators"] = _http_ok(f"http://127.0.0.1:{sim_port}/_sim/health")
                parts["workers"] = alive(state.pids.get("workers"))
                report["simulators_url"] = f"http://127.0.0.1:{sim_port}"
                report["integrations"] = {
                    name: {"kind": i.kind, "base_url": i.base_url}
                    for name, i in config.integrations.items()}
            parts["projections"] = alive(StackState.load(self.home).pids.get("projections"))
        else:
            parts["ingress"] = False
        report["parts"] = parts
        report["healthy"] = all(parts.values())
        return report


def _simulators_port(config: HubConfig) -> int | None:
    """The simulators' port, read off the first integration URL that points at them."""
    from urllib.parse import urlparse

    for integration in config.integrations.values():
        parsed = urlparse(integration.base_url)
        if parsed.hostname == "127.0.0.1" and parsed.port:
            return parsed.port
    return None


def _http_ok(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 - local URL
            return bool(resp.status == 200)
    except OSError:
        return False


def _pg_ok(url: str) -> bool:
    from urllib.parse import urlparse

    parsed = urlparse(url)
    return port_open(parsed.hostname or "127.0.0.1", parsed.port or 5432)
