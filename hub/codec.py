"""Events to and from Avro single-object encoding: `C3 01`, 8-byte fingerprint, Avro binary body.

`encode` and `validate` raise EncodeError naming the field path that is wrong; `decode`
raises DecodeError naming topic, partition, offset and fingerprint. No other exception
type leaves this module for bad input.
"""
from __future__ import annotations

import copy
import io
import uuid
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, cast

import fastavro
from fastavro import schemaless_reader, schemaless_writer

from hub.envelope import Event
from hub.errors import HubError
from hub.schemastore import SchemaInfo, SchemaStore

__all__ = ["MARKER", "DecodeError", "EncodeError", "decode", "encode", "validate"]

MARKER = b"\xc3\x01"
_HEADER_LEN = len(MARKER) + 8


class EncodeError(HubError):
    """An event or its data does not fit its schema; `path` names the field (data.amount_minor)."""

    def __init__(self, message: str, path: str = "") -> None:
        super().__init__(message)
        self.path = path


class DecodeError(HubError):
    """A Kafka value is not a hub event this schema folder can read (bad marker, unknown
    fingerprint, short or undecodable body). Carries where it came from."""

    def __init__(
        self,
        reason: str,
        *,
        topic: str | None,
        partition: int | None,
        offset: int | None,
        fingerprint: str | None,
    ) -> None:
        where = f"topic={topic} partition={partition} offset={offset}"
        super().__init__(f"cannot decode {where} fingerprint={fingerprint or '-'}: {reason}")
        self.reason = reason
        self.topic = topic
        self.partition = partition
        self.offset = offset
        self.fingerprint = fingerprint


# -- validation: a check function per schema node, compiled once, naming the path on failure --

_Check = Callable[[Any], None]
_INT_RANGE = {"int": 1 << 31, "long": 1 << 63}
_PYTHON_TYPES: dict[str, tuple[type[Any], ...]] = {
    "null": (type(None),), "boolean": (bool,), "float": (int, float), "double": (int, float),
    "bytes": (bytes, bytearray), "string": (str,),
}


class _Invalid(Exception):
    """Internal: raised by a check; each enclosing record/array/map prepends its step."""

    def __init__(self, problem: str, steps: list[str] | None = None) -> None:
        super().__init__(problem)
        self.problem = problem
        self.steps = steps if steps is not None else []

    def path(self, prefix: str) -> str:
        out = prefix
        for step in reversed(self.steps):
            out += step if step.startswith("[") or not out else "." + step
        return out


def _show(v: Any) -> str:
    if v is None:
        return "null"
    r = repr(v)
    return f"{type(v).__name__} {r if len(r) <= 60 else r[:57] + '...'}"


def _expected(what: str, v: Any) -> _Invalid:
    return _Invalid(f"expected {what}, got {_show(v)}")


def _primitive(t: str, logical: str | None) -> _Check:
    if t == "long" and logical in ("timestamp-micros", "timestamp-millis"):
        unit = "microseconds" if logical == "timestamp-micros" else "milliseconds"
        what = f"timestamp (aware datetime or int {unit} since the epoch)"

        def check_ts(v: Any) -> None:
            if isinstance(v, datetime):
                if v.utcoffset() is None:
                    raise _Invalid(f"expected timezone-aware datetime, got naive {_show(v)}")
            elif not isinstance(v, int) or isinstance(v, bool) or not -(1 << 63) <= v < 1 << 63:
                raise _expected(what, v)
        return check_ts
    if t == "string" and logical == "uuid":
        def check_uuid(v: Any) -> None:
            if isinstance(v, uuid.UUID):
                return
            try:
                ok = len(v) == 36 and bool(uuid.UUID(v))  # the 8-4-4-4-12 form only
            except (TypeError, ValueError, AttributeError):
                ok = False
            if not ok:
                raise _expected("UUID string (8-4-4-4-12 hex)", v)
        return check_uuid
    if t in _INT_RANGE:
        bound = _INT_RANGE[t]

        def check_int(v: Any) -> None:
            if not isinstance(v, int) or isinstance(v, bool):
                raise _expected(t, v)
            if not -bound <= v < bound:
                raise _Invalid(f"expected {t}, got {v} (out of range)")
        return check_int
    allowed = _PYTHON_TYPES[t]

    def check_primitive(v: Any) -> None:
        if not isinstance(v, allowed) or (isinstance(v, bool) and t in ("float", "double")):
            raise _expected(t, v)
    return check_primitive


def _record(s: dict[str, Any], names: dict[str, _Check]) -> _Check:
    fields = []
    for f in s["fields"]:
        hint = "; money is an integer count of minor units" if f["name"].endswith("_minor") else ""
        required = "default" not in f and not (isinstance(f["type"], list) and "null" in f["type"])
        fields.append((f["name"], required, _compile(f["type"], names), hint))
    known = frozenset(f["name"] for f in s["fields"])
    short = s["name"].rpartition(".")[2]

    def check_record(v: Any) -> None:
        if not isinstance(v, dict):
            raise _expected(f"record {short}", v)
        for name, required, check, hint in fields:
            if name in v:
                try:
                    check(v[name])
                except _Invalid as exc:
                    if hint and not exc.steps:
                        exc.problem += hint
                    exc.steps.append(name)
                    raise
            elif required:
                raise _Invalid("missing required field", [name])
        if not v.keys() <= known:
            extra = sorted(str(k) for k in v.keys() - known)[0]
            raise _Invalid(f"unknown field; {short} has {', '.join(sorted(known))}", [extra])
    return check_record


def _union(branches: list[Any], names: dict[str, _Check]) -> _Check:
    non_null = [b for b in branches if b != "null"]
    checks = [_compile(b, names) for b in non_null]
    nullable = len(non_null) < len(branches)
    if len(checks) == 1:
        only = checks[0]

        def check_optional(v: Any) -> None:
            if v is None and nullable:
                return
            try:
                only(v)
            except _Invalid as exc:
                if nullable and not exc.steps:
                    exc.problem = exc.problem.replace(", got", " or null, got", 1)
                raise
        return check_optional
    what = " or ".join(b if isinstance(b, str) else str(b.get("name", b["type"])) for b in branches)

    def check_union(v: Any) -> None:
        if v is None and nullable:
            return
        for check in checks:
            try:
                check(v)
                return
            except _Invalid:
                continue
        raise _expected(what, v)
    return check_union


def _compile_schema(s: Any, names: dict[str, _Check] | None = None) -> _Check:
    """A function raising _Invalid when a Python value does not fit fastavro-parsed schema `s`."""
    return _compile(s, {} if names is None else names)


def _compile(s: Any, names: dict[str, _Check]) -> _Check:
    if isinstance(s, list):
        return _union(s, names)
    if isinstance(s, str):
        if s in _PRIMITIVE_TYPES:
            return _primitive(s, None)
        return lambda v: names[s](v)  # a named type defined earlier (or recursively)
    t = s["type"]
    if t in _PRIMITIVE_TYPES:
        return _primitive(t, s.get("logicalType"))
    if t == "record" or t == "error":
        check = _record(s, names)
    elif t == "enum":
        symbols = frozenset(s["symbols"])
        what = f"one of {', '.join(s['symbols'])}"

        def check(v: Any) -> None:
            if not isinstance(v, str) or v not in symbols:
                raise _expected(what, v)
    elif t == "fixed":
        size = s["size"]

        def check(v: Any) -> None:
            if not isinstance(v, bytes | bytearray) or len(v) != size:
                raise _expected(f"{size} bytes", v)
    elif t == "array":
        item = _compile(s["items"], names)

        def check(v: Any) -> None:
            if not isinstance(v, list | tuple):
                raise _expected("array", v)
            for i, x in enumerate(v):
                try:
                    item(x)
                except _Invalid as exc:
                    exc.steps.append(f"[{i}]")
                    raise
    elif t == "map":
        value = _compile(s["values"], names)

        def check(v: Any) -> None:
            if not isinstance(v, dict):
                raise _expected("map", v)
            for k, x in v.items():
                if not isinstance(k, str):
                    raise _Invalid(f"map keys must be strings, got {_show(k)}")
                try:
                    value(x)
                except _Invalid as exc:
                    exc.steps.append(f"[{k!r}]")
                    raise
    else:
        return _compile(t, names)
    if "name" in s:
        names[s["name"]] = check
    return check


_PRIMITIVE_TYPES = frozenset(
    {"null", "boolean", "int", "long", "float", "double", "bytes", "string"}
)


# -- encode / decode --


@dataclass(frozen=True, slots=True)
class _Compiled:
    info: SchemaInfo
    header: bytes
    check: _Check
    check_data: _Check
    read_schema: dict[str, Any]  # same binary layout; `id` read as plain str (no UUID round trip)


# Validators compiled once per schema of a store; dropped with the store.
_cache: weakref.WeakKeyDictionary[SchemaStore, dict[bytes, _Compiled]] = weakref.WeakKeyDictionary()


def _compiled(store: SchemaStore, info: SchemaInfo) -> _Compiled:
    per_store = _cache.get(store)
    if per_store is None:
        per_store = _cache.setdefault(store, {})
    c = per_store.get(info.fingerprint)
    if c is None:
        check = _compile_schema(info.parsed)
        data_schema = info.parsed["fields"][-1]["type"]
        read_schema = copy.deepcopy(info.raw)
        read_schema["fields"][0]["type"] = "string"
        c = _Compiled(
            info, MARKER + info.fingerprint, check, _compile_schema(data_schema),
            cast(dict[str, Any], fastavro.parse_schema(read_schema, named_schemas={})),
        )
        per_store[info.fingerprint] = c
    return c


def _schema(store: SchemaStore, type_: str, version: int) -> SchemaInfo:
    info = store.find(type_, version)
    if info is not None:
        return info
    versions = store.versions(type_)
    if not versions:
        known = ", ".join(store.types())
        raise EncodeError(f"type: unknown event type {type_!r}; known types: {known}", "type")
    known = ", ".join(str(v) for v in versions)
    raise EncodeError(
        f"schema_version: {type_} has no version {version!r}; known versions: {known}",
        "schema_version",
    )


def _run(check: _Check, value: Any, prefix: str = "") -> None:
    try:
        check(value)
    except _Invalid as exc:
        path = exc.path(prefix)
        raise EncodeError(f"{path}: {exc.problem}" if path else exc.problem, path) from None


def validate(store: SchemaStore, type_: str, version: int, data: Any) -> None:
    """_Check `data` against the `data` record of `type_` v`version`.

    Raises EncodeError naming the path (`data.amount_minor`) of the first field that does not fit.
    """
    c = _compiled(store, _schema(store, type_, version))
    _run(c.check_data, data, "data")


def encode(store: SchemaStore, event: Event, *, validate: bool = True) -> bytes:
    """The event as single-object encoded bytes, written with the schema of (type, schema_version).

    Raises EncodeError (naming the field path) if the event does not match that schema.
    `validate=False` skips that field-by-field check, for events hub builds itself from
    typed values (outcomes): a mismatch then still raises EncodeError, without the path.
    """
    c = _compiled(store, _schema(store, event.type, event.schema_version))
    record = {
        "id": event.id,
        "source": event.source,
        "type": event.type,
        "specversion": event.specversion,
        "time": event.time,
        "subject": event.subject,
        "schema_version": event.schema_version,
        "correlation_id": event.correlation_id,
        "causation_id": event.causation_id,
        "payload_sha256": event.payload_sha256,
        "traceparent": event.traceparent,
        "data": event.data,
    }
    if validate:
        _run(c.check, record)
    buf = io.BytesIO()
    buf.write(c.header)
    try:
        schemaless_writer(buf, c.info.parsed, record)
    except Exception as exc:  # the check above should make this unreachable; keep one error type
        raise EncodeError(f"cannot encode {event.type} v{event.schema_version}: {exc}") from exc
    return buf.getvalue()


def decode(
    store: SchemaStore,
    value: bytes,
    *,
    topic: str | None = None,
    partition: int | None = None,
    offset: int | None = None,
    reader_version: int | None = None,
) -> Event:
    """The event in `value`, read with its writer schema (found by fingerprint).

    With `reader_version`, the data is resolved to that version of the same type (Avro
    schema resolution) and the event's `schema_version` is `reader_version`.
    Raises DecodeError for anything that is not a decodable hub event.
    """
    def fail(reason: str, fp: str | None) -> DecodeError:
        return DecodeError(reason, topic=topic, partition=partition, offset=offset, fingerprint=fp)

    if not isinstance(value, bytes | bytearray | memoryview):
        raise fail(f"value is {type(value).__name__}, not bytes", None)
    if len(value) < _HEADER_LEN:
        raise fail(f"value is {len(value)} bytes, shorter than the {_HEADER_LEN}-byte header", None)
    if value[:2] != MARKER:
        start = bytes(value[:2]).hex()
        raise fail(f"value starts with {start}, not c301 (Avro single-object encoding)", None)
    fp = bytes(value[2:_HEADER_LEN])
    info = store.by_fingerprint(fp)
    if info is None:
        raise fail(f"unknown writer schema fingerprint, not in {store.folder}; "
                   "is this schemas/ folder older than the producer's?", fp.hex())
    reader: SchemaInfo | None = None
    if reader_version is not None and reader_version != info.version:
        reader = store.find(info.type, reader_version)
        if reader is None:
            missing = f"{info.type} v{reader_version}"
            raise fail(f"no reader schema {missing} in {store.folder}", fp.hex())
    writer = _compiled(store, info).read_schema
    fo = io.BytesIO(value)
    fo.seek(_HEADER_LEN)
    try:
        rec: Any = schemaless_reader(fo, writer, reader.parsed if reader else None)
        if fo.tell() != len(value):
            raise ValueError(f"{len(value) - fo.tell()} bytes left over after the body")
        return Event(
            id=str(rec["id"]),
            source=rec["source"],
            type=rec["type"],
            time=rec["time"],
            schema_version=reader.version if reader else rec["schema_version"],
            correlation_id=rec["correlation_id"],
            payload_sha256=rec["payload_sha256"],
            data=rec["data"],
            subject=rec["subject"],
            causation_id=rec["causation_id"],
            traceparent=rec["traceparent"],
            specversion=rec["specversion"],
        )
    except Exception as exc:  # the one choke point for fastavro's, struct's and our own errors
        schema = info.path.name + (f" read as v{reader.version}" if reader else "")
        reason = f"body does not decode with {schema}: {type(exc).__name__}: {exc}"
        raise fail(reason, fp.hex()) from exc
