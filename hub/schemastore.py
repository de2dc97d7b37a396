"""The `schemas/` folder loaded: one Avro schema per event type and version, found by fingerprint.

A schema file is `<type>.v<N>.avsc` holding a record named `hub.events.<CamelType>V<N>`
whose fields are the envelope followed by `data`. Its fingerprint is the 8-byte
little-endian CRC-64-AVRO of its Parsing Canonical Form, as in Avro single-object encoding.
"""
from __future__ import annotations

import json
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, cast

import fastavro

from hub.errors import ConfigError

__all__ = [
    "DEFAULT_DIR",
    "ENVELOPE_FIELDS",
    "NAMESPACE",
    "SchemaInfo",
    "SchemaStore",
    "canonical_form",
    "crc64_avro",
    "record_name",
]

DEFAULT_DIR = Path(__file__).resolve().parent.parent / "schemas"
NAMESPACE = "hub.events"
# Field order of every schema's top-level record; `data` holds the type's own fields.
ENVELOPE_FIELDS = (
    "id", "source", "type", "specversion", "time", "subject", "schema_version",
    "correlation_id", "causation_id", "payload_sha256", "traceparent", "data",
)

_FILE_RE = re.compile(
    r"(?P<type>[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+)\.v(?P<version>[1-9][0-9]*)\.avsc"
)
_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_CRC_EMPTY = 0xC15D213AA4D7A795


def _crc_table() -> tuple[int, ...]:
    table = []
    for i in range(256):
        fp = i
        for _ in range(8):
            fp = (fp >> 1) ^ (_CRC_EMPTY & -(fp & 1))
        table.append(fp)
    return tuple(table)


_CRC_TABLE = _crc_table()


def crc64_avro(data: bytes) -> bytes:
    """CRC-64-AVRO (Rabin) fingerprint of `data`, as 8 little-endian bytes."""
    fp = _CRC_EMPTY
    for byte in data:
        fp = (fp >> 8) ^ _CRC_TABLE[(fp ^ byte) & 0xFF]
    return fp.to_bytes(8, "little")


def record_name(type_: str, version: int) -> str:
    """`payment.succeeded`, 2 -> `PaymentSucceededV2` (the unqualified record name)."""
    parts = type_.replace("_", ".").split(".")
    return "".join(p[:1].upper() + p[1:] for p in parts) + f"V{version}"


def canonical_form(schema: Any) -> str:
    """Avro Parsing Canonical Form of a schema given as parsed JSON (Avro spec, same name)."""
    return _pcf(schema, None, set())


def _fullname(name: str, namespace: str | None) -> str:
    return name if "." in name or not namespace else f"{namespace}.{name}"


def _pcf(s: Any, ns: str | None, seen: set[str]) -> str:
    if isinstance(s, list):
        return "[" + ",".join(_pcf(b, ns, seen) for b in s) + "]"
    if isinstance(s, str):
        return json.dumps(s if s in _PRIMITIVES else _fullname(s, ns), ensure_ascii=False)
    t = s["type"]
    if t in _PRIMITIVES:
        return json.dumps(t)
    if t == "array":
        return '{"type":"array","items":' + _pcf(s["items"], ns, seen) + "}"
    if t == "map":
        return '{"type":"map","values":' + _pcf(s["values"], ns, seen) + "}"
    if t not in ("record", "error", "enum", "fixed"):
        return _pcf(t, ns, seen)  # {"type": "some.Named"} or {"type": {...}}
    name = _fullname(s["name"], s.get("namespace", ns))
    if name in seen:
        return json.dumps(name, ensure_ascii=False)
    seen.add(name)
    inner_ns = name.rpartition(".")[0] or None
    head = '{"name":' + json.dumps(name, ensure_ascii=False)
    if t == "enum":
        symbols = json.dumps(s["symbols"], separators=(",", ":"))
        return head + ',"type":"enum","symbols":' + symbols + "}"
    if t == "fixed":
        return head + ',"type":"fixed","size":' + str(int(s["size"])) + "}"
    fields = ",".join(
        '{"name":' + json.dumps(f["name"], ensure_ascii=False)
        + ',"type":' + _pcf(f["type"], inner_ns, seen) + "}"
        for f in s["fields"]
    )
    return head + ',"type":"record","fields":[' + fields + "]}"


@dataclass(frozen=True)
class SchemaInfo:
    """One schema file. `fingerprint` is the 8 bytes that follow `C3 01` in an encoded value."""

    type: str
    version: int
    name: str  # full name, e.g. hub.events.PaymentSucceededV1
    canonical: str
    fingerprint: bytes
    path: Path
    raw: dict[str, Any] = field(compare=False, repr=False)
    parsed: dict[str, Any] = field(compare=False, repr=False)

    @property
    def fingerprint_hex(self) -> str:
        return self.fingerprint.hex()


class SchemaStore:
    """Every schema of a folder, by (type, version) and by fingerprint. Immutable once loaded."""

    def __init__(self, infos: list[SchemaInfo], folder: Path) -> None:
        self.folder = folder
        self._by_key: dict[tuple[str, int], SchemaInfo] = {}
        self._by_fp: dict[bytes, SchemaInfo] = {}
        for info in sorted(infos, key=lambda i: (i.type, i.version)):
            other = self._by_fp.get(info.fingerprint)
            if other is not None:
                raise ConfigError(
                    f"{info.path}: same fingerprint {info.fingerprint_hex} as {other.path.name}; "
                    "two versions must differ in what they encode"
                )
            self._by_key[(info.type, info.version)] = info
            self._by_fp[info.fingerprint] = info

    @classmethod
    def load(cls, folder: Path | None = None) -> SchemaStore:
        """Read every `*.avsc` in `folder` (default: the repo's `schemas/`).

        Raises ConfigError naming the file when it is not JSON, not a valid Avro schema,
        badly named, or does not have the envelope fields.
        """
        folder = DEFAULT_DIR if folder is None else folder
        if not folder.is_dir():
            raise ConfigError(f"{folder}: schema folder not found")
        return cls([_load_file(p) for p in sorted(folder.glob("*.avsc"))], folder)

    def get(self, type_: str, version: int) -> SchemaInfo:
        """The schema of `type_` version `version`; KeyError if there is none."""
        try:
            return self._by_key[(type_, version)]
        except KeyError:
            raise KeyError(f"no schema {type_} v{version} in {self.folder}") from None

    def find(self, type_: str, version: int) -> SchemaInfo | None:
        return self._by_key.get((type_, version))

    def latest(self, type_: str) -> SchemaInfo:
        versions = self.versions(type_)
        if not versions:
            raise KeyError(f"no schema for type {type_} in {self.folder}")
        return self._by_key[(type_, versions[-1])]

    def by_fingerprint(self, fp: bytes) -> SchemaInfo | None:
        return self._by_fp.get(fp)

    def types(self) -> list[str]:
        return sorted({t for t, _ in self._by_key})

    def versions(self, type_: str) -> list[int]:
        return sorted(v for t, v in self._by_key if t == type_)

    def __iter__(self) -> Iterator[SchemaInfo]:
        return iter(self._by_key.values())

    def __len__(self) -> int:
        return len(self._by_key)


def _load_file(path: Path) -> SchemaInfo:
    m = _FILE_RE.fullmatch(path.name)
    if m is None:
        raise ConfigError(
            f"{path}: file name must be <type>.v<N>.avsc, e.g. payment.succeeded.v1.avsc"
        )
    type_, version = m["type"], int(m["version"])
    try:
        raw = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ConfigError(f"{path}: not a readable JSON file: {exc}") from exc
    if not isinstance(raw, dict) or raw.get("type") != "record":
        raise ConfigError(f"{path}: top level must be an Avro record")
    try:
        parsed: dict[str, Any] = cast(dict[str, Any], fastavro.parse_schema(raw, named_schemas={}))
    except Exception as exc:  # fastavro raises several types for a bad schema
        raise ConfigError(f"{path}: invalid Avro schema: {exc}") from exc
    expected = f"{NAMESPACE}.{record_name(type_, version)}"
    if parsed["name"] != expected:
        raise ConfigError(f"{path}: record is named {parsed['name']}, file name says {expected}")
    names = tuple(f["name"] for f in raw["fields"])
    if names != ENVELOPE_FIELDS:
        want, got = ", ".join(ENVELOPE_FIELDS), ", ".join(names)
        raise ConfigError(f"{path}: fields must be {want} in that order, got {got}")
    canonical = canonical_form(raw)
    return SchemaInfo(
        type=type_,
        version=version,
        name=expected,
        canonical=canonical,
        fingerprint=crc64_avro(canonical.encode()),
        path=path,
        raw=raw,
        parsed=parsed,
    )
