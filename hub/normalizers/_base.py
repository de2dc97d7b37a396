"""What every normalizer shares: the result types, the delivery, and field readers that
turn a malformed body into an `Unmapped` reason instead of an exception."""
from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs

import orjson

from hub.normalizers.money import MAX_MINOR_UNITS, currency_code

__all__ = [
    "Delivery", "DomainEvent", "Normalized", "Unmapped", "currency", "epoch_seconds",
    "minor_units", "no_mapping", "object_at", "opt_text", "payment_subject", "provider_id",
    "result", "text", "timestamp",
]

_MAX_ID_CHARS = 256  # a provider id longer than this is garbage; the body hash is used instead
_MAX_FORM_FIELDS = 200
_MAX_EPOCH_S = 253_402_300_799  # 9999-12-31T23:59:59Z, datetime's last second
_JSON_KINDS = {dict: "an object", list: "an array", str: "a string", int: "a number",
               float: "a float", bool: "a boolean", type(None): "null"}


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """One hub domain event derived from a delivery; `data` holds exactly its Avro fields."""

    type: str
    subject: str | None
    data: dict[str, Any]


@dataclass(frozen=True, slots=True)
class Normalized:
    """What a delivery means. No events: keep it raw, marked unmapped for `unmapped_reason`."""

    provider_event_id: str
    provider_event_type: str | None
    events: tuple[DomainEvent, ...]
    unmapped_reason: str | None = None


class Unmapped(Exception):
    """Raised inside a normalizer when a delivery cannot be mapped; `reason` says why."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True, slots=True)
class Delivery:
    """A verified delivery: headers keyed by lower-case name, raw body, when it arrived."""

    headers: Mapping[str, str]
    body: bytes
    content_type: str | None
    received_at: datetime

    def header(self, *names: str) -> str | None:
        """The first of `names` (lower case) present with a usable value, stripped."""
        for name in names:
            value = self.headers.get(name, "").strip()
            if value and len(value) <= _MAX_ID_CHARS:
                return value
        return None

    @property
    def body_id(self) -> str:
        """Provider event id of last resort: the same bytes always give the same id."""
        return "sha256:" + hashlib.sha256(self.body).hexdigest()

    @property
    def is_form(self) -> bool:
        media = (self.content_type or "").split(";", 1)[0].strip().lower()
        return media == "application/x-www-form-urlencoded"

    def text(self) -> str:
        try:
            return self.body.decode("utf-8")
        except UnicodeDecodeError:
            raise Unmapped("body is not UTF-8") from None

    def json_object(self) -> dict[str, Any]:
        """The body as a JSON object; Unmapped for anything else (or nesting over 1024)."""
        text = self.text()
        try:
            value = orjson.loads(text)
        except orjson.JSONDecodeError as exc:
            raise Unmapped(f"body is not JSON ({exc})") from None
        if not isinstance(value, dict):
            raise Unmapped(f"body is JSON {_kind(value)}, not an object")
        return value

    def form(self) -> dict[str, str]:
        """The body as form fields, first value of each; Unmapped if it cannot be read."""
        try:
            fields = parse_qs(self.text(), keep_blank_values=True,
                              max_num_fields=_MAX_FORM_FIELDS)
        except ValueError:
            raise Unmapped(f"form body has more than {_MAX_FORM_FIELDS} fields") from None
        return {name: values[0] for name, values in fields.items()}


def result(event_id: str, event_type: str | None,
           mapper: Callable[[], tuple[DomainEvent, ...]]) -> Normalized:
    """Run `mapper`; an `Unmapped` it raises becomes a Normalized with that reason."""
    try:
        events = mapper()
    except Unmapped as exc:
        return Normalized(event_id, event_type, (), exc.reason)
    return Normalized(event_id, event_type, events)


def no_mapping(provider: str, event_id: str, event_type: str | None) -> Normalized:
    return Normalized(event_id, event_type, (), f"no domain mapping for {provider} deliveries")


def provider_id(value: object) -> str | None:
    """`value` if it can serve as a provider event id (a short non-empty string)."""
    if isinstance(value, str) and value.strip() and len(value) <= _MAX_ID_CHARS:
        return value
    return None


def object_at(obj: Mapping[str, Any], key: str, path: str) -> dict[str, Any]:
    value = obj.get(key)
    if not isinstance(value, dict):
        raise Unmapped(f"{path} is {_kind(value)}, expected an object")
    return value


def text(obj: Mapping[str, Any], key: str, path: str) -> str:
    """A required non-empty string."""
    value = opt_text(obj, key, path)
    if value is None:
        raise Unmapped(f"{path} is missing")
    return value


def opt_text(obj: Mapping[str, Any], key: str, path: str) -> str | None:
    """An optional string: absent, null and "" are None; any other type is Unmapped."""
    value = obj.get(key)
    if value is None or value == "":
        return None
    if not isinstance(value, str):
        raise Unmapped(f"{path} is {_kind(value)}, expected a string")
    return value


def minor_units(obj: Mapping[str, Any], key: str, path: str) -> int:
    """A required integer amount of minor units, 0 to 2**63-1 (a float is Unmapped)."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unmapped(f"{path} is {_kind(value)}, expected an integer of minor units")
    if not 0 <= value <= MAX_MINOR_UNITS:
        raise Unmapped(f"{path} is out of range (0 to 2**63-1 minor units)")
    return value


def currency(obj: Mapping[str, Any], key: str, path: str) -> str:
    try:
        return currency_code(obj.get(key))
    except ValueError as exc:
        raise Unmapped(f"{path}: {exc}") from None


def epoch_seconds(obj: Mapping[str, Any], key: str, path: str) -> datetime:
    """Unix seconds as an aware UTC datetime."""
    value = obj.get(key)
    if isinstance(value, bool) or not isinstance(value, int):
        raise Unmapped(f"{path} is {_kind(value)}, expected Unix seconds")
    if not 0 <= value <= _MAX_EPOCH_S:
        raise Unmapped(f"{path} is out of range for a timestamp")
    return datetime.fromtimestamp(value, UTC)


def timestamp(value: object, path: str) -> datetime:
    """An ISO 8601 / RFC 3339 string with a UTC offset, as an aware UTC datetime."""
    if not isinstance(value, str):
        raise Unmapped(f"{path} is {_kind(value)}, expected an RFC 3339 timestamp")
    try:
        parsed = datetime.fromisoformat(value)
        if parsed.tzinfo is None:
            raise ValueError("no UTC offset")
        return parsed.astimezone(UTC)
    except (ValueError, OverflowError):
        raise Unmapped(f"{path} {value[:40]!r} is not an RFC 3339 timestamp with offset") from None


def payment_subject(data: Mapping[str, Any]) -> str:
    """Key of a payment event: the invoice when known, else the provider's payment id."""
    return str(data["invoice_id"] or data["payment_id"])


def _kind(value: object) -> str:
    if value is None:
        return "missing or null"
    return _JSON_KINDS.get(type(value), type(value).__name__)
