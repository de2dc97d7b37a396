"""Cleaning one legacy CSV value: ids, names, currencies, amounts, dates, e-mail, phone.

Every function returns the clean value or raises `Invalid` with a reason a person can
act on (it names the value). Pure: no I/O.
"""
from __future__ import annotations

import re
import unicodedata
from datetime import UTC, datetime

from hub.normalizers.money import to_minor_units

__all__ = ["Invalid", "amount_minor", "country", "currency", "email", "identifier", "name",
           "phone", "timestamp"]


class Invalid(ValueError):
    """A value cannot be cleaned; the message is the reject reason."""


_SPACES = re.compile(r"\s+")
_SYMBOLS = {"€": "EUR", "$": "USD", "US$": "USD", "£": "GBP", "¥": "JPY", "₹": "INR"}
_US_THOUSANDS = re.compile(r"\d{1,3}(,\d{3})+(\.\d+)?")
_EU_THOUSANDS = re.compile(r"\d{1,3}(\.\d{3})+,\d+")
_DECIMAL_COMMA = re.compile(r"\d+,\d{1,2}")
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}")
_ISO_DAY = re.compile(r"(\d{4})[-/](\d{1,2})[-/](\d{1,2})")
_DOTTED_DAY = re.compile(r"(\d{1,2})\.(\d{1,2})\.(\d{4})")
_SLASHED_DAY = re.compile(r"\d{1,2}/\d{1,2}/\d{2,4}")


def _text(value: str | None) -> str:
    """Trimmed, Unicode NFC, runs of whitespace (NBSP included) as one space."""
    return _SPACES.sub(" ", unicodedata.normalize("NFC", value or "")).strip()


def identifier(value: str | None, what: str) -> str:
    text = _text(value)
    if not text:
        raise Invalid(f"{what} is empty")
    if len(text) > 200 or any(unicodedata.category(c) == "Cc" for c in text):
        raise Invalid(f"{what} {text[:40]!r} is not a usable id (control characters or over 200)")
    return text


def name(value: str | None, what: str = "name") -> str:
    text = _text(value)
    if not text:
        raise Invalid(f"{what} is empty")
    return text


def currency(value: str | None) -> str:
    """`usd`, ` EUR `, `€` ⇒ the upper-case ISO 4217 code."""
    text = _text(value)
    code = _SYMBOLS.get(text, text.upper())
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise Invalid(f"currency {text!r} is not a 3-letter ISO 4217 code like EUR")
    return code


def amount_minor(value: str | None, code: str) -> int:
    """`1,234.50`, `1.234,50`, `12,50`, `€12.50`, `EUR 12.5` ⇒ minor units of `code`.
    A comma before exactly three digits groups thousands (`1,234` is 1234); a comma
    before one or two is a decimal comma. Negative amounts and more decimals than
    `code` has are refused."""
    raw = _text(value)
    text = raw.replace(" ", "")
    for symbol in sorted(_SYMBOLS, key=len, reverse=True):
        if text.startswith(symbol) or text.endswith(symbol):
            text = text.removeprefix(symbol).removesuffix(symbol)
    text = text.removeprefix(code).removesuffix(code)
    if not text:
        raise Invalid("amount is empty")
    if text.startswith("-") or (text.startswith("(") and text.endswith(")")):
        raise Invalid(f"amount {raw!r} is negative")
    if _US_THOUSANDS.fullmatch(text):
        text = text.replace(",", "")
    elif _EU_THOUSANDS.fullmatch(text):
        text = text.replace(".", "").replace(",", ".")
    elif _DECIMAL_COMMA.fullmatch(text):
        text = text.replace(",", ".")
    try:
        return to_minor_units(text, code)
    except ValueError as exc:
        raise Invalid(str(exc).replace(repr(text), repr(raw))) from None


def timestamp(value: str | None, what: str) -> datetime:
    """`2024-03-01`, `2024/03/01`, `01.03.2024` (midnight UTC) or ISO 8601 with an offset.
    An impossible day (2023-02-29), a year before 1900, a time without offset or an
    ambiguous `03/01/2024` is refused."""
    text = _text(value)
    if not text:
        raise Invalid(f"{what} is empty")
    if _SLASHED_DAY.fullmatch(text):
        raise Invalid(f"{what} {text!r} is ambiguous (day/month or month/day?); use YYYY-MM-DD")
    day = _ISO_DAY.fullmatch(text)
    dotted = _DOTTED_DAY.fullmatch(text)
    try:
        if day:
            y, m, d = (int(x) for x in day.groups())
            when = datetime(y, m, d, tzinfo=UTC)
        elif dotted:
            d, m, y = (int(x) for x in dotted.groups())
            when = datetime(y, m, d, tzinfo=UTC)
        else:
            when = datetime.fromisoformat(text.replace("Z", "+00:00"))
            if when.tzinfo is None:
                raise Invalid(f"{what} {text!r} has a time but no UTC offset; add Z or +01:00")
            when = when.astimezone(UTC)
    except ValueError as exc:
        if isinstance(exc, Invalid):
            raise
        raise Invalid(f"{what} {text!r} is not a real date ({exc})") from None
    if when.year < 1900:
        raise Invalid(f"{what} {text!r} is before 1900")
    return when


def email(value: str | None) -> str | None:
    text = _text(value)
    if not text:
        return None
    if not _EMAIL.fullmatch(text):
        raise Invalid(f"email {text!r} is not an e-mail address")
    local, _, domain = text.rpartition("@")
    return f"{local}@{domain.lower()}"


def phone(value: str | None) -> str | None:
    """`+1 (555) 123-4567`, `0044 20 7946 0958` ⇒ E.164; a number without country code
    is refused (it cannot be told which country it belongs to)."""
    text = _text(value)
    if not text:
        return None
    digits = re.sub(r"[\s().\-/]", "", text)
    if digits.startswith("00"):
        digits = "+" + digits[2:]
    if not digits.startswith("+"):
        raise Invalid(f"phone {text!r} has no country code; write it as +<country><number>")
    if not re.fullmatch(r"\+[1-9]\d{6,14}", digits):
        raise Invalid(f"phone {text!r} is not a phone number (E.164: + and 7 to 15 digits)")
    return digits


def country(value: str | None) -> str | None:
    text = _text(value).upper()
    if not text:
        return None
    if not re.fullmatch(r"[A-Z]{2}", text):
        raise Invalid(f"country {text!r} is not a 2-letter ISO 3166 code like DE")
    return text
