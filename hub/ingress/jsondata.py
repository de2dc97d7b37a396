"""JSON `data` from the publish API into Avro-ready values, naming the field that is wrong."""
from __future__ import annotations

import base64
import binascii
from datetime import UTC, datetime
from typing import Any

from hub.errors import HubError

__all__ = ["JsonDataError", "from_json"]


class JsonDataError(HubError):
    def __init__(self, path: str, message: str) -> None:
        super().__init__(f"{path}: {message}")
        self.path = path


def from_json(parsed_schema: dict[str, Any], data: Any) -> dict[str, Any]:
    """Convert `data` for the `data` field of a parsed envelope schema; JsonDataError if wrong."""
    named = parsed_schema.get("__named_schemas", {})
    field = next(f for f in parsed_schema["fields"] if f["name"] == "data")
    result = _convert(field["type"], data, "data", named)
    assert isinstance(result, dict)
    return result


def _describe(value: Any) -> str:
    text = repr(value)
    return f"{type(value).__name__} {text[:40]}{'…' if len(text) > 40 else ''}"


def _convert(schema: Any, value: Any, path: str, named: dict[str, Any]) -> Any:
    if isinstance(schema, list):
        return _union(schema, value, path, named)
    if isinstance(schema, str):
        if schema in named:
            return _convert(named[schema], value, path, named)
        return _primitive(schema, None, value, path)
    kind = schema["type"]
    if kind == "record":
        return _record(schema, value, path, named)
    if kind == "array":
        if not isinstance(value, list):
            raise JsonDataError(path, f"expected an array, got {_describe(value)}")
        return [_convert(schema["items"], v, f"{path}[{i}]", named) for i, v in enumerate(value)]
    if kind == "map":
        if not isinstance(value, dict):
            raise JsonDataError(path, f"expected an object, got {_describe(value)}")
        return {k: _convert(schema["values"], v, f"{path}.{k}", named) for k, v in value.items()}
    if kind == "enum":
        if value not in schema["symbols"]:
            raise JsonDataError(path, f"expected one of {schema['symbols']}, got {_describe(value)}")
        return value
    if isinstance(kind, str) and kind in named:
        return _convert(named[kind], value, path, named)
    return _primitive(kind, schema.get("logicalType"), value, path)


def _record(schema: dict[str, Any], value: Any, path: str, named: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise JsonDataError(path, f"expected an object, got {_describe(value)}")
    fields = {f["name"]: f for f in schema["fields"]}
    for key in value:
        if key not in fields:
            raise JsonDataError(f"{path}.{key}", f"unknown field; expected {sorted(fields)}")
    out: dict[str, Any] = {}
    for name, f in fields.items():
        if name in value:
            out[name] = _convert(f["type"], value[name], f"{path}.{name}", named)
        elif "default" in f:
            out[name] = f["default"]
        else:
            raise JsonDataError(f"{path}.{name}", "required field is missing")
    return out


def _union(branches: list[Any], value: Any, path: str, named: dict[str, Any]) -> Any:
    if value is None:
        if "null" in branches:
            return None
        raise JsonDataError(path, "must not be null")
    errors = []
    for branch in branches:
        if branch == "null":
            continue
        try:
            return _convert(branch, value, path, named)
        except JsonDataError as exc:
            errors.append(str(exc).split(": ", 1)[1])
    raise JsonDataError(path, "; ".join(errors) or f"unexpected {_describe(value)}")


def _primitive(kind: str, logical: str | None, value: Any, path: str) -> Any:
    if kind in ("int", "long"):
        if logical in ("timestamp-micros", "timestamp-millis") and isinstance(value, str):
            return _timestamp(value, path)
        if isinstance(value, bool) or not isinstance(value, int):
            what = "an integer count of minor units" if path.endswith("_minor") else "an integer"
            raise JsonDataError(path, f"expected {what}, got {_describe(value)}")
        return value
    if kind == "string":
        if not isinstance(value, str):
            raise JsonDataError(path, f"expected a string, got {_describe(value)}")
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            raise JsonDataError(path, f"expected true or false, got {_describe(value)}")
        return value
    if kind in ("float", "double"):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise JsonDataError(path, f"expected a number, got {_describe(value)}")
        return float(value)
    if kind == "bytes":
        if not isinstance(value, str):
            raise JsonDataError(path, f"expected base64 text, got {_describe(value)}")
        try:
            return base64.b64decode(value, validate=True)
        except (binascii.Error, ValueError):
            raise JsonDataError(path, "expected base64 text") from None
    if kind == "null":
        if value is not None:
            raise JsonDataError(path, f"expected null, got {_describe(value)}")
        return None
    raise JsonDataError(path, f"unsupported schema type {kind}")


def _timestamp(value: str, path: str) -> datetime:
    try:
        t = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise JsonDataError(path, f"expected an RFC 3339 time, got {value[:40]!r}") from None
    if t.tzinfo is None:
        raise JsonDataError(path, f"time {value!r} needs a UTC offset, e.g. 2026-01-31T12:00:00Z")
    return t.astimezone(UTC)
