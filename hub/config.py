"""Configuration, read once and frozen: environment (`HUB_*`) and the config file.

The environment says where things are (state folder, servers, config path); the
config file says what hub does (endpoints, secrets, integrations, routes). Nothing
else in hub reads `os.environ`.
"""
from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hub.errors import ConfigError

if TYPE_CHECKING:
    from hub.routing import IntegrationConfig

__all__ = [
    "EndpointConfig",
    "HubConfig",
    "IngressConfig",
    "Settings",
    "load_config",
    "resolve_secret",
]

_DEFAULT_STATE_DIR = ".hub"


@dataclass(frozen=True)
class Settings:
    """Where things are. Built from the environment by `Settings.from_env()`."""

    state_dir: Path
    config_path: Path
    kafka_bootstrap: str | None
    database_url: str | None
    db_schema: str = "hub"
    topic_prefix: str = ""
    log_level: str = "INFO"
    log_format: str = "json"
    trace_exporter: str = "none"
    db_roles: bool = False
    env: Mapping[str, str] = field(default_factory=dict, repr=False, compare=False)

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Settings:
        env = dict(os.environ if environ is None else environ)
        state_dir = Path(env.get("HUB_STATE_DIR") or _DEFAULT_STATE_DIR).resolve()
        if "HUB_CONFIG" in env:
            config_path = Path(env["HUB_CONFIG"])
            if not env["HUB_CONFIG"].strip():
                raise ConfigError("HUB_CONFIG is set but empty; give the path of a hub.toml")
        elif Path("hub.toml").exists():
            config_path = Path("hub.toml")
        else:
            config_path = state_dir / "hub.toml"
        level = env.get("HUB_LOG_LEVEL", "INFO").upper()
        if level not in {"DEBUG", "INFO", "WARNING", "ERROR"}:
            raise ConfigError(f"HUB_LOG_LEVEL={level}: use one of DEBUG, INFO, WARNING, ERROR")
        fmt = env.get("HUB_LOG_FORMAT", "json")
        if fmt not in {"json", "text"}:
            raise ConfigError(f"HUB_LOG_FORMAT={fmt}: use json or text")
        bootstrap = env.get("HUB_KAFKA_BOOTSTRAP") or None
        if bootstrap is not None and not re.fullmatch(r"[\w.\-]+:\d+(,[\w.\-]+:\d+)*", bootstrap):
            raise ConfigError(
                f"HUB_KAFKA_BOOTSTRAP={bootstrap}: expected host:port[,host:port...]"
            )
        db = env.get("HUB_DATABASE_URL") or None
        if db is not None and not db.startswith(("postgresql://", "postgres://")):
            raise ConfigError(f"HUB_DATABASE_URL: expected a postgresql:// URL, got {db[:20]!r}...")
        tracing = env.get("HUB_TRACE_EXPORTER") or (
            "otlp" if env.get("OTEL_EXPORTER_OTLP_ENDPOINT") else "none")
        if tracing not in {"otlp", "console", "none"}:
            raise ConfigError(f"HUB_TRACE_EXPORTER={tracing}: use otlp, console or none")
        roles = env.get("HUB_DB_ROLES", "off")
        if roles not in {"on", "off"}:
            raise ConfigError(f"HUB_DB_ROLES={roles}: use on (each process takes its own"
                              " least-privilege role) or off")
        schema = env.get("HUB_DB_SCHEMA") or "hub"
        if not re.fullmatch(r"[a-z_][a-z0-9_]{0,62}", schema):
            raise ConfigError(f"HUB_DB_SCHEMA={schema}: use lowercase letters, digits and _")
        prefix = env.get("HUB_TOPIC_PREFIX", "")
        if prefix and not re.fullmatch(r"[A-Za-z0-9._\-]{1,100}", prefix):
            raise ConfigError(f"HUB_TOPIC_PREFIX={prefix}: use letters, digits, '.', '_', '-'")
        return cls(
            state_dir=state_dir,
            config_path=config_path.resolve(),
            kafka_bootstrap=bootstrap,
            database_url=db,
            db_schema=schema,
            topic_prefix=prefix,
            log_level=level,
            log_format=fmt,
            trace_exporter=tracing,
            db_roles=roles == "on",
            env=env,
        )

    def db_role(self, role: str) -> str | None:
        """The role a process of this kind acts as: `role` with HUB_DB_ROLES=on, else None."""
        return role if self.db_roles else None

    @property
    def external_servers(self) -> bool:
        """True when the environment names the servers, so no local one is started."""
        return self.kafka_bootstrap is not None or self.database_url is not None


@dataclass(frozen=True)
class EndpointConfig:
    """One webhook endpoint: `POST /webhooks/{name}`."""

    name: str
    scheme: str
    provider: str
    secrets: tuple[str, ...] = field(repr=False)
    tolerance_s: int = 300
    normalizer: str | None = None

    def __post_init__(self) -> None:
        if not self.secrets:
            raise ConfigError(f"endpoints.{self.name}: no secrets configured")


@dataclass(frozen=True)
class IngressConfig:
    host: str = "127.0.0.1"
    port: int = 8080
    public_url: str | None = None
    max_body_bytes: int = 1024 * 1024
    ack_timeout_s: float = 5.0
    retry_after_s: int = 5
    request_timeout_s: float = 15.0
    max_header_bytes: int = 8190
    max_headers: int = 100
    rate_limit_per_s: float = 500.0
    rate_limit_burst: int = 1000
    admin_token: str | None = field(default=None, repr=False)
    # Seconds between refreshes of lag, dead letters, drift and provider health (the
    # operator page and the /metrics gauges); only with an admin token.
    ops_refresh_s: float = 15.0

    @property
    def url(self) -> str:
        return self.public_url or f"http://{self.host}:{self.port}"


@dataclass(frozen=True)
class HubConfig:
    """What hub does: parsed from the config file (`hub.toml`)."""

    path: Path | None
    ingress: IngressConfig
    endpoints: Mapping[str, EndpointConfig]
    partitions: int = 3
    replication_factor: int = 1
    session_timeout_ms: int = 10000  # consumers: how long a dead worker keeps its partitions
    commit_interval_ms: int = 1000  # consumers: auto commit of stored offsets
    integrations: Mapping[str, IntegrationConfig] = field(default_factory=dict)
    routes: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    raw: Mapping[str, Any] = field(default_factory=dict, repr=False, compare=False)

    def routed_types(self, integration: str) -> frozenset[str]:
        """Event types `[routes]` sends to `integration`."""
        return frozenset(t for t, names in self.routes.items() if integration in names)


def resolve_secret(value: str, where: str, env: Mapping[str, str]) -> str:
    """`env:NAME` ⇒ the variable's value; anything else is the secret itself."""
    if value.startswith("env:"):
        name = value[4:]
        if not name:
            raise ConfigError(f"{where}: 'env:' needs a variable name, e.g. env:STRIPE_SECRET")
        if not env.get(name):
            raise ConfigError(f"{where}: environment variable {name} is not set or empty")
        return env[name]
    if not value:
        raise ConfigError(f"{where}: empty secret")
    return value


def load_config(
    path: Path, env: Mapping[str, str] | None = None, known_types: Collection[str] | None = None
) -> HubConfig:
    """Parse and validate the config file; raises ConfigError naming the key and line."""
    environ = dict(os.environ if env is None else env)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError(
            f"config file {path} not found; set HUB_CONFIG, or run `hub dev up` to write one"
        ) from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return parse_config(raw, environ, path=path, text=text, known_types=known_types)


_TOP_KEYS = {"ingress", "kafka", "endpoints", "integrations", "routes", "projections", "api"}


def parse_config(
    raw: Mapping[str, Any],
    env: Mapping[str, str],
    *,
    path: Path | None = None,
    text: str = "",
    known_types: Collection[str] | None = None,
) -> HubConfig:
    """Validate a parsed config file. `known_types` defaults to the types in schemas/."""
    from hub.routing import parse_routing

    where = _Locator(path, text)
    for key in raw:
        if key not in _TOP_KEYS:
            raise ConfigError(f"{where(key)}: unknown section [{key}]; known: {sorted(_TOP_KEYS)}")
    ingress = _parse_ingress(_table(raw, "ingress", where), where, env)
    kafka = _table(raw, "kafka", where)
    endpoints: dict[str, EndpointConfig] = {}
    for name, spec in _table(raw, "endpoints", where).items():
        endpoints[name] = _parse_endpoint(name, spec, env, where)
    routes_raw = _table(raw, "routes", where)
    if known_types is None:
        known_types = _schema_types() if routes_raw else ()
    integrations, routes = parse_routing(
        _table(raw, "integrations", where), routes_raw, env, where, known_types)
    return HubConfig(
        path=path,
        ingress=ingress,
        endpoints=endpoints,
        partitions=_int(kafka, "partitions", 3, where, "kafka"),
        replication_factor=_int(kafka, "replication_factor", 1, where, "kafka"),
        session_timeout_ms=_int(kafka, "session_timeout_ms", 10000, where, "kafka"),
        commit_interval_ms=_int(kafka, "commit_interval_ms", 1000, where, "kafka"),
        integrations=integrations,
        routes=routes,
        raw=raw,
    )


def _schema_types() -> list[str]:
    from hub.schemastore import SchemaStore

    return SchemaStore.load().types()


class _Locator:
    """Finds the line of a dotted key (`endpoints.twilio.secrets`) in the config text."""

    def __init__(self, path: Path | None, text: str) -> None:
        self.path = path
        self.lines = text.splitlines()

    def line_of(self, key: str) -> int | None:
        parts = [p.strip('"') for p in key.split(".")]
        table: list[str] = []
        for number, line in enumerate(self.lines, start=1):
            stripped = line.strip()
            header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", stripped)
            if header:
                table = [p.strip().strip('"') for p in header.group(1).split(".")]
                if table == parts:
                    return number
                continue
            assign = re.match(r'^"?([^"=\s]+)"?\s*=', stripped)
            if assign and table + [assign.group(1)] == parts:
                return number
        return None

    def assignment_of(self, section: list[str], name: str) -> int | None:
        """The line assigning `name` inside table `section` or its sub-tables, inline
        tables included (`credentials = { api_key = ... }`, `"payment.succeeded" = [...]`)."""
        assign = re.compile(rf'(^|[\s{{,])"?{re.escape(name)}"?\s*=')
        inside = False
        for number, line in enumerate(self.lines, start=1):
            header = re.match(r"^\[+\s*([^\]]+?)\s*\]+", line.strip())
            if header:
                table = [p.strip().strip('"') for p in header.group(1).split(".")]
                inside = table[: len(section)] == section
                continue
            if inside and assign.search(line):
                return number
        return None

    def __call__(self, key: str, literal: str | None = None) -> str:
        """`path:line: key`; with `literal`, the line assigning that name within the
        table of `key` (first two parts for integrations, first part otherwise)."""
        name = str(self.path) if self.path else "config"
        number = None
        if literal is not None:
            parts = key.split(".")
            section = parts[:2] if parts[0] == "integrations" else parts[:1]
            number = self.assignment_of(section, literal.strip('"'))
        number = number or self.line_of(key)
        return f"{name}:{number}: {key}" if number else f"{name}: {key}"


def _table(raw: Mapping[str, Any], key: str, where: _Locator) -> dict[str, Any]:
    value = raw.get(key, {})
    if not isinstance(value, dict):
        raise ConfigError(f"{where(key)}: expected a table, got {type(value).__name__}")
    return value


def _int(table: Mapping[str, Any], key: str, default: int, where: _Locator, section: str) -> int:
    value = table.get(key, default)
    if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
        raise ConfigError(f"{where(f'{section}.{key}')}: expected a positive integer, got {value!r}")
    return value


def _positive_number(table: Mapping[str, Any], key: str, default: float, where: _Locator) -> float:
    value = table.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value <= 0:
        raise ConfigError(f"{where('ingress.' + key)}: expected a number > 0, got {value!r}")
    return float(value)


def _parse_ingress(table: Mapping[str, Any], where: _Locator, env: Mapping[str, str]) -> IngressConfig:
    known = {"host", "port", "public_url", "max_body_bytes", "ack_timeout_s", "retry_after_s",
             "request_timeout_s", "max_header_bytes", "max_headers", "rate_limit_per_s",
             "rate_limit_burst", "admin_token", "ops_refresh_s"}
    for key in table:
        if key not in known:
            raise ConfigError(f"{where('ingress.' + key)}: unknown key; known: {sorted(known)}")
    admin = table.get("admin_token")
    if admin is not None and not isinstance(admin, str):
        raise ConfigError(f"{where('ingress.admin_token')}: expected a string (or env:NAME)")
    return IngressConfig(
        host=str(table.get("host", "127.0.0.1")),
        port=_int(table, "port", 8080, where, "ingress"),
        public_url=table.get("public_url"),
        max_body_bytes=_int(table, "max_body_bytes", 1024 * 1024, where, "ingress"),
        ack_timeout_s=_positive_number(table, "ack_timeout_s", 5.0, where),
        retry_after_s=_int(table, "retry_after_s", 5, where, "ingress"),
        request_timeout_s=_positive_number(table, "request_timeout_s", 15.0, where),
        max_header_bytes=_int(table, "max_header_bytes", 8190, where, "ingress"),
        max_headers=_int(table, "max_headers", 100, where, "ingress"),
        rate_limit_per_s=_positive_number(table, "rate_limit_per_s", 500.0, where),
        rate_limit_burst=_int(table, "rate_limit_burst", 1000, where, "ingress"),
        admin_token=resolve_secret(admin, where("ingress.admin_token"), env) if admin else None,
        ops_refresh_s=_positive_number(table, "ops_refresh_s", 15.0, where),
    )


def _parse_endpoint(
    name: str, spec: Any, env: Mapping[str, str], where: _Locator
) -> EndpointConfig:
    from hub.signatures import SCHEMES  # the scheme list lives with the verifiers

    key = f"endpoints.{name}"
    if not isinstance(spec, dict):
        raise ConfigError(f"{where(key)}: expected a table")
    if not re.fullmatch(r"[a-z0-9][a-z0-9_\-]{0,62}", name):
        raise ConfigError(f"{where(key)}: endpoint names are lowercase letters, digits, - and _")
    known = {"scheme", "provider", "secrets", "tolerance_s", "normalizer"}
    for k in spec:
        if k not in known:
            raise ConfigError(f"{where(key + '.' + k)}: unknown key; known: {sorted(known)}")
    scheme = spec.get("scheme")
    if scheme not in SCHEMES:
        raise ConfigError(f"{where(key + '.scheme')}: unknown scheme {scheme!r}; known: {SCHEMES}")
    secrets = spec.get("secrets")
    if isinstance(secrets, str):
        secrets = [secrets]
    if not isinstance(secrets, list) or not secrets or not all(isinstance(s, str) for s in secrets):
        raise ConfigError(f"{where(key + '.secrets')}: expected a non-empty list of strings")
    resolved = tuple(resolve_secret(s, where(key + ".secrets"), env) for s in secrets)
    tolerance = spec.get("tolerance_s", 300)
    if not isinstance(tolerance, int) or tolerance <= 0:
        raise ConfigError(f"{where(key + '.tolerance_s')}: expected seconds > 0")
    provider = str(spec.get("provider", name))
    normalizer = spec.get("normalizer", provider)
    from hub.normalizers import NORMALIZERS

    if normalizer not in NORMALIZERS:
        raise ConfigError(
            f"{where(key + '.normalizer')}: no normalizer {normalizer!r}; known: {NORMALIZERS}"
            " (use normalizer = \"generic\" to keep deliveries raw)"
        )
    return EndpointConfig(
        name=name,
        scheme=scheme,
        provider=provider,
        secrets=resolved,
        tolerance_s=tolerance,
        normalizer=normalizer,
    )
