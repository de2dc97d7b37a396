"""Request parameters: parsing, validation and the error a provider answers with."""
from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, Literal
from urllib.parse import parse_qsl

import orjson

__all__ = [
    "KNOWN_CURRENCIES",
    "ApiError",
    "ErrorKind",
    "parse_body",
    "require_amount",
    "require_currency",
    "require_str",
]

# The ISO-4217 codes the simulators accept; anything else is "unknown currency".
KNOWN_CURRENCIES = frozenset(
    "aud brl cad chf cny czk dkk eur gbp hkd huf inr jpy krw mxn nok nzd pln sek sgd usd zar"
    .split()
)

ErrorKind = Literal[
    "invalid_request",
    "authentication",
    "not_found",
    "idempotency",
    "conflict",
    "rate_limit",
    "server",
    "timeout",
    "rejected",
    "card",
]


class ApiError(Exception):
    """An error answer. Each simulator renders it in its provider's error shape.

    code: the provider's error code (a string for Stripe-like APIs, a number for
    Twilio/Postmark-like ones); param: the offending parameter, if any.
    """

    def __init__(
        self,
        status: int,
        kind: ErrorKind,
        message: str,
        *,
        code: str | int | None = None,
        param: str | None = None,
        extra: Mapping[str, Any] | None = None,
        retry_after_s: int | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.kind = kind
        self.message = message
        self.code = code
        self.param = param
        self.extra = dict(extra or {})
        self.retry_after_s = retry_after_s


def parse_body(raw: bytes, content_type: str) -> dict[str, Any]:
    """JSON object or form body as a dict; form keys like `metadata[k]` become nested.

    Raises ApiError(400) for a body that is neither.
    """
    if not raw:
        return {}
    if content_type == "application/x-www-form-urlencoded":
        return _nest(parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True))
    try:
        parsed = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise ApiError(400, "invalid_request", f"body is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise ApiError(400, "invalid_request", "body must be a JSON object")
    return parsed


_BRACKETED = re.compile(r"^([^\[\]]+)\[([^\[\]]*)\]$")


def _nest(pairs: list[tuple[str, str]]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in pairs:
        match = _BRACKETED.match(key)
        if match is None:
            out[key] = value
            continue
        outer, inner = match.groups()
        slot = out.setdefault(outer, {})
        if isinstance(slot, dict):
            slot[inner] = value
    return out


def require_str(params: Mapping[str, Any], name: str) -> str:
    value = params.get(name)
    if value is None or value == "":
        raise ApiError(400, "invalid_request", f"Missing required param: {name}.",
                       code="parameter_missing", param=name)
    if not isinstance(value, str):
        raise ApiError(400, "invalid_request", f"Invalid string: {name}={value!r}.",
                       code="parameter_invalid_string", param=name)
    return value


def require_amount(params: Mapping[str, Any], name: str, *, optional: bool = False) -> int:
    """A positive integer count of minor units (digit strings from forms accepted).

    Returns 0 when optional and absent.
    """
    value = params.get(name)
    if value is None or value == "":
        if optional:
            return 0
        raise ApiError(400, "invalid_request", f"Missing required param: {name}.",
                       code="parameter_missing", param=name)
    if isinstance(value, str) and value.isdigit():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ApiError(400, "invalid_request",
                       f"Invalid integer: {name}={value!r}; amounts are integer minor units.",
                       code="parameter_invalid_integer", param=name)
    if value <= 0:
        raise ApiError(400, "invalid_request",
                       f"Invalid {name}={value}: must be greater than 0.",
                       code="amount_too_small", param=name)
    return value


def require_currency(params: Mapping[str, Any], name: str = "currency") -> str:
    """A known ISO-4217 code, returned lower-case."""
    value = require_str(params, name)
    if value.lower() not in KNOWN_CURRENCIES:
        raise ApiError(400, "invalid_request", f"Invalid currency: {value}.",
                       code="invalid_currency", param=name)
    return value.lower()
