"""Any Avro reader can decode hub's values with nothing but the `schemas/` folder and the spec.

This decoder shares no code with hub.schemastore: it has its own Parsing Canonical Form and
its own bit-by-bit CRC-64-AVRO, finds the writer schema by fingerprint and reads the body
with fastavro.
"""
from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import fastavro
import pytest

from hub import codec
from hub.schemastore import SchemaStore
from tests.examples import EXAMPLES, example_event

pytestmark = pytest.mark.unit

SCHEMAS = Path(__file__).resolve().parents[2] / "schemas"
_KEYS = ("name", "type", "fields", "symbols", "items", "values", "size")  # spec [ORDER]
_PRIMS = {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}


def _canon(s: Any, ns: str, seen: set[str]) -> Any:
    """The schema as JSON values in Parsing Canonical Form (PRIMITIVES, FULLNAMES, STRIP, ORDER)."""
    if isinstance(s, list):
        return [_canon(x, ns, seen) for x in s]
    if isinstance(s, str):
        return s if s in _PRIMS or "." in s or not ns else f"{ns}.{s}"
    if s["type"] in _PRIMS:
        return s["type"]
    if s["type"] in ("record", "enum", "fixed"):
        space = s.get("namespace", ns)
        name = s["name"] if "." in s["name"] or not space else f"{space}.{s['name']}"
        if name in seen:
            return name
        seen.add(name)
        ns = name.rsplit(".", 1)[0] if "." in name else ""
        s = {**s, "name": name}
    out: dict[str, Any] = {}
    for key in _KEYS:
        if key not in s:
            continue
        v = s[key]
        if key == "fields":
            v = [{"name": f["name"], "type": _canon(f["type"], ns, seen)} for f in v]
        elif key in ("items", "values"):
            v = _canon(v, ns, seen)
        out[key] = v
    return out


def _crc64(data: bytes) -> bytes:
    """CRC-64-AVRO one bit at a time (the spec gives a table version; same polynomial)."""
    poly = empty = 0xC15D213AA4D7A795
    fp = empty
    for byte in data:
        fp ^= byte
        for _ in range(8):
            fp = (fp >> 1) ^ (poly if fp & 1 else 0)
    return fp.to_bytes(8, "little")


def _fingerprint(schema: Any) -> bytes:
    canonical = json.dumps(_canon(schema, "", set()), separators=(",", ":"), ensure_ascii=False)
    return _crc64(canonical.encode())


def _independent_decode(value: bytes) -> dict[str, Any]:
    assert value[:2] == b"\xc3\x01"
    by_fp = {}
    for path in SCHEMAS.glob("*.avsc"):
        schema = json.loads(path.read_text())
        by_fp[_fingerprint(schema)] = schema
    schema = by_fp[value[2:10]]
    fo = io.BytesIO(value[10:])
    record = fastavro.schemaless_reader(fo, fastavro.parse_schema(schema, named_schemas={}), None)
    assert fo.read() == b""
    assert isinstance(record, dict)
    return record


def test_bitwise_crc_matches_a_spec_vector() -> None:
    assert _crc64(b'"null"') == (7195948357588979594).to_bytes(8, "little", signed=True)


def test_independent_fingerprints_match_the_store() -> None:
    store = SchemaStore.load(SCHEMAS)
    for info in store:
        assert _fingerprint(json.loads(info.path.read_text())) == info.fingerprint, info.path


@pytest.mark.parametrize("type_", sorted(EXAMPLES))
def test_hub_values_decode_without_hub(type_: str) -> None:
    store = SchemaStore.load(SCHEMAS)
    version = store.latest(type_).version
    event = example_event(type_, version)
    record = _independent_decode(codec.encode(store, event))
    assert str(record["id"]) == event.id
    assert record["type"] == type_
    assert record["time"] == event.time
    assert record["schema_version"] == version
    assert record["subject"] == event.subject
    assert record["correlation_id"] == event.correlation_id
    assert record["payload_sha256"] == event.payload_sha256
    assert record["traceparent"] == event.traceparent
    for key, value in event.data.items():
        assert record["data"][key] == value, key
