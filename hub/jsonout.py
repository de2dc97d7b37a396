"""JSON as hub's commands print and write it: bytes in base64, times in RFC 3339 (`Z`)."""
from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import orjson

from hub.times import rfc3339

__all__ = ["dumps", "json_default"]


def json_default(value: Any) -> Any:
    """bytes as base64, datetimes as RFC 3339; TypeError for anything else."""
    if isinstance(value, bytes | bytearray | memoryview):
        return base64.b64encode(bytes(value)).decode()
    if isinstance(value, datetime):
        return rfc3339(value)
    raise TypeError(f"not JSON serialisable: {type(value).__name__}")


def dumps(value: Any, *, indent: bool = False) -> str:
    """One JSON document; datetimes (orjson's own encoding) end in `Z` when in UTC."""
    option = orjson.OPT_UTC_Z | (orjson.OPT_INDENT_2 if indent else 0)
    return orjson.dumps(value, default=json_default, option=option).decode()
