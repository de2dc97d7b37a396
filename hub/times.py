"""Times typed on the command line, and times printed: RFC 3339 in UTC.

`parse_time` reads `2026-03-14T09:26:53Z`, `2026-03-14` (midnight UTC), or an age such
as `90s`, `15m`, `2h`, `3d` (that long before `now`). Pure: `now` is passed in.
"""
from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

__all__ = ["from_ms", "parse_time", "rfc3339", "to_ms"]

_AGE = re.compile(r"^(\d+(?:\.\d+)?)(s|m|h|d)$")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


def parse_time(text: str, now: datetime) -> datetime:
    """An aware UTC datetime from RFC 3339, a date, or an age before `now`.

    Raises ValueError naming the value and the accepted forms.
    """
    value = text.strip()
    age = _AGE.match(value)
    if age:
        return now - timedelta(seconds=float(age.group(1)) * _UNIT[age.group(2)])
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise ValueError(
            f"{text!r}: expected an RFC 3339 time (2026-03-14T09:26:53Z), a date (2026-03-14) "
            "or an age (90s, 15m, 2h, 3d)"
        ) from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def rfc3339(t: datetime) -> str:
    """`2026-03-14T09:26:53.589Z`: UTC, milliseconds, `Z`."""
    if t.tzinfo is None:
        t = t.replace(tzinfo=UTC)
    return t.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def to_ms(t: datetime) -> int:
    """Milliseconds since the Unix epoch (Kafka record timestamps)."""
    return int(t.timestamp() * 1000)


def from_ms(ms: int) -> datetime:
    return datetime.fromtimestamp(ms / 1000, tz=UTC)
