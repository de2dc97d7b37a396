"""The secret scan: is any configured secret in any output? Reusable by tests.

    secrets = secrets_of(load_config(path), api_keys=[key])
    leaks = scan_files(log_files, secrets) + scan_records(records, secrets)

A secret is looked for as it is and as base64 at each of the three byte alignments (a
Basic-auth header or an encoded body carries it that way). Findings never print the
secret: the context shows it as `<secret:NAME>`.
"""
from __future__ import annotations

import base64
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from hub.config import HubConfig
from hub.logreader import LogRecord, open_reader, plan, read

__all__ = ["Leak", "log_files", "read_all_records", "scan_bytes", "scan_database", "scan_files",
           "scan_records", "scan_text", "secrets_of"]

# Credentials that identify an account rather than prove it (they appear in API paths).
_IDENTIFIERS = frozenset({"account_sid"})
_MIN_LENGTH = 12  # shorter "secrets" would match by chance; the config must not have them


@dataclass(frozen=True)
class Leak:
    secret: str  # the secret's name, e.g. endpoints.stripe.secrets[0]
    where: str  # file:line, topic[partition]@offset header x, ...
    context: str  # the text around it, the secret itself masked

    def __str__(self) -> str:
        return f"{self.secret} in {self.where}: {self.context}"


def secrets_of(config: HubConfig, *, api_keys: Sequence[str] = ()) -> dict[str, str]:
    """Name ⇒ value of every secret `config` holds (webhook secrets, provider credentials
    other than account identifiers, the admin token) and of `api_keys` (each whole, and
    its secret part after `hubk_<id>_`)."""
    found: dict[str, str] = {}
    for name, endpoint in config.endpoints.items():
        for i, value in enumerate(endpoint.secrets):
            found[f"endpoints.{name}.secrets[{i}]"] = value
    for name, integration in config.integrations.items():
        for key, value in integration.credentials.items():
            if key not in _IDENTIFIERS:
                found[f"integrations.{name}.credentials.{key}"] = value
    if config.ingress.admin_token:
        found["ingress.admin_token"] = config.ingress.admin_token
    for i, key in enumerate(api_keys):
        found[f"api_key[{i}]"] = key
        # `hubk_<12 characters>_<secret>`; the secret itself may hold underscores.
        if key.startswith("hubk_") and key.count("_") >= 2:
            found[f"api_key[{i}].secret"] = key.split("_", 2)[2]
    short = sorted(n for n, v in found.items() if len(v) < _MIN_LENGTH)
    if short:
        raise ValueError(f"secrets too short to scan for without false alarms: {short}")
    return found


def _needles(value: str) -> list[bytes]:
    raw = value.encode()
    out = [raw]
    for shift in range(3):
        encoded = base64.b64encode(b"\0" * shift + raw)
        # Only the characters made of the secret's bits alone (not the padding's).
        first, last = -(-8 * shift // 6), 8 * (shift + len(raw)) // 6
        out.append(encoded[first:last])
    return out


def scan_bytes(where: str, data: bytes, secrets: Mapping[str, str]) -> list[Leak]:
    """Every secret in `data`, once per secret."""
    leaks = []
    for name, value in secrets.items():
        for needle in _needles(value):
            at = data.find(needle)
            if at >= 0:
                line = data.count(b"\n", 0, at) + 1
                around = data[max(0, at - 60): at + len(needle) + 60]
                text = around.replace(needle, f"<secret:{name}>".encode())
                leaks.append(Leak(name, f"{where}:{line}" if b"\n" in data else where,
                                  text.decode("utf-8", "replace").replace("\n", " ")))
                break
    return leaks


def scan_text(where: str, text: str, secrets: Mapping[str, str]) -> list[Leak]:
    return scan_bytes(where, text.encode("utf-8", "replace"), secrets)


def scan_files(paths: Iterable[Path], secrets: Mapping[str, str]) -> list[Leak]:
    leaks = []
    for path in paths:
        leaks += scan_bytes(str(path), path.read_bytes(), secrets)
    return leaks


def scan_records(records: Iterable[LogRecord], secrets: Mapping[str, str]) -> list[Leak]:
    """Key, value and every header of each record."""
    leaks = []
    for r in records:
        where = f"{r.topic}[{r.partition}]@{r.offset}"
        for part, data in (("key", r.key), ("value", r.value)):
            if data:
                leaks += scan_bytes(f"{where} {part}", data, secrets)
        for name, value in r.headers:
            leaks += scan_bytes(f"{where} header {name}", value, secrets)
    return leaks


async def scan_database(conn: Any, secrets: Mapping[str, str], schema: str = "hub") -> list[Leak]:
    """Every row of every table of `schema`, as text (outcomes, attempts, dead letters...)."""
    leaks = []
    tables = [r["tablename"] for r in await conn.fetch(
        "SELECT tablename FROM pg_tables WHERE schemaname = $1 ORDER BY 1", schema)]
    for table in tables:
        rows = await conn.fetch(f'SELECT t::text AS row FROM "{schema}"."{table}" t')
        text = "\n".join(r["row"] for r in rows)
        leaks += scan_text(f"table {schema}.{table}", text, secrets)
    return leaks


def log_files(root: Path) -> list[Path]:
    """Every *.log file under `root`, except Kafka's segment files (also named *.log, under
    a `data` folder: their records are scanned by reading the topics)."""
    return sorted(p for p in root.rglob("*.log")
                  if p.is_file() and "data" not in p.relative_to(root).parts)


def read_all_records(bootstrap: str, prefix: str = "") -> list[LogRecord]:
    """Every record of every `<prefix>hub.*` topic, from the log start to its end now."""
    consumer = open_reader(bootstrap)
    try:
        names = sorted(t for t in consumer.list_topics(timeout=10).topics
                       if t.startswith(f"{prefix}hub."))
        return [r for t in names for r in read(consumer, plan(consumer, t))]
    finally:
        consumer.close()
