"""Redaction of request and response bodies before they are stored or hashed.

A value is replaced by "[redacted]" when its key names a secret or card data
(authorization, api_key, secret, token, password, card, cvc, cvv, number, ...), and
inside any string, a run of 13-19 digits (spaces or dashes allowed between them)
that passes the Luhn check is replaced. Keys are kept; structure is kept.
"""
from __future__ import annotations

import re
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

__all__ = ["REDACTED", "is_sensitive_key", "luhn_valid", "redact"]

REDACTED = "[redacted]"

_WORDS = frozenset({
    "authorization", "auth", "secret", "token", "password", "passwd", "pwd", "card",
    "cvc", "cvv", "cvc2", "pan", "apikey", "credential", "credentials", "signature",
})
_WHOLE = frozenset({"number", "api_key", "x_api_key", "account_number", "iban"})
_SPLIT = re.compile(r"[^a-z0-9]+")
_DIGITS = re.compile(r"(?<!\d)\d(?:[ -]?\d){12,18}(?!\d)")


@lru_cache(maxsize=4096)  # the same few dozen keys, in every request and response
def is_sensitive_key(key: str) -> bool:
    """True for keys naming secrets or card data: `Authorization`, `client_secret`,
    `card[number]`, `cvc`, `api_key`, `number`, `access-token`..."""
    lowered = key.lower()
    words = [w for w in _SPLIT.split(lowered) if w]
    if "_".join(words) in _WHOLE:
        return True
    return any(w in _WORDS for w in words)


def luhn_valid(digits: str) -> bool:
    """The Luhn checksum of a string of digits."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2 == 1:
            d = d * 2 - 9 if d > 4 else d * 2
        total += d
    return total % 10 == 0


def _scrub(text: str) -> str:
    if len(text) < 13:  # too short to hold a card number: most values
        return text

    def replace(match: re.Match[str]) -> str:
        digits = re.sub(r"[ -]", "", match.group(0))
        return REDACTED if 13 <= len(digits) <= 19 and luhn_valid(digits) else match.group(0)

    return _DIGITS.sub(replace, text)


def redact(value: Any) -> Any:
    """A copy of `value` (JSON-like: dicts, lists, strings, numbers) with secrets and
    card-like numbers replaced by "[redacted]"."""
    if isinstance(value, str):
        return _scrub(value)
    if value is None or isinstance(value, int | float):  # before the slower ABC check
        return value
    if isinstance(value, dict | Mapping):
        return {k: REDACTED if isinstance(k, str) and is_sensitive_key(k) and v is not None
                else redact(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v) for v in value]
    return value
