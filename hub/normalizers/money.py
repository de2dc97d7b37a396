"""Money as hub keeps it: an integer count of ISO 4217 minor units, never a float."""
from __future__ import annotations

import re

__all__ = ["MAX_MINOR_UNITS", "currency_code", "minor_exponent", "to_minor_units"]

# Avro `long`: every amount_minor must fit in a signed 64-bit integer.
MAX_MINOR_UNITS = 2**63 - 1

# ISO 4217 minor-unit exponents that are not 2; every other code has 2.
_EXPONENTS: dict[str, int] = {
    **dict.fromkeys(
        "BIF CLP DJF GNF ISK JPY KMF KRW PYG RWF UGX UYI VND VUV XAF XOF XPF".split(), 0
    ),
    **dict.fromkeys("BHD IQD JOD KWD LYD OMR TND".split(), 3),
    **dict.fromkeys("CLF UYW".split(), 4),
}
_CURRENCY = re.compile(r"[A-Za-z]{3}", re.ASCII)
_DECIMAL = re.compile(r"([0-9]+)(?:\.([0-9]+))?", re.ASCII)
_MAX_AMOUNT_CHARS = 40  # far above any real amount; bounds the work on garbage


def currency_code(value: object) -> str:
    """`value` as an upper-case 3-letter code; ValueError if it is not 3 ASCII letters."""
    if not isinstance(value, str) or not _CURRENCY.fullmatch(value):
        raise ValueError(f"currency {value!r} is not a 3-letter ISO 4217 code like 'EUR'")
    return value.upper()


def minor_exponent(currency: str) -> int:
    """Decimal places of `currency`'s minor unit: JPY 0, EUR 2, KWD 3."""
    return _EXPONENTS.get(currency_code(currency), 2)


def to_minor_units(amount: str | int, currency: str) -> int:
    """A major-unit amount ("199.00", or a whole number 199) as minor units of `currency`.

    Exact or nothing: "1.005" EUR raises, "1.50" EUR is 150, "100" JPY is 100,
    "1.250" KWD is 1250. Raises ValueError (the message names the amount and why) for a
    float, a negative, a value that is not a plain decimal ("1e3", " 1", "1,00"),
    more decimal places than the currency has, a result beyond a signed 64-bit integer,
    or a currency that is not 3 letters.
    """
    code = currency_code(currency)
    exponent = _EXPONENTS.get(code, 2)
    if isinstance(amount, bool) or not isinstance(amount, int | str):
        raise ValueError(
            f"amount {amount!r} must be a decimal string or an int, not "
            f"{type(amount).__name__} (floats are not exact)"
        )
    if isinstance(amount, int):
        if amount > MAX_MINOR_UNITS:  # checked first: repr of a huge int is itself an error
            raise ValueError(f"amount is too large for {code} (over 2**63-1 minor units)")
        if amount < 0:
            raise ValueError("amount is negative; amounts here are never below 0")
        whole, fraction = amount, ""
    else:
        if amount.startswith("-") and _DECIMAL.fullmatch(amount[1:]):
            raise ValueError(f"amount {amount!r} is negative; amounts here are never below 0")
        match = _DECIMAL.fullmatch(amount) if len(amount) <= _MAX_AMOUNT_CHARS else None
        if match is None:
            raise ValueError(f"amount {amount!r} is not a plain decimal number like '12.34'")
        whole, fraction = int(match.group(1)), match.group(2) or ""
    significant = fraction.rstrip("0")
    if len(significant) > exponent:
        raise ValueError(
            f"amount {amount!r} is not a whole number of {code} minor units "
            f"({code} has {exponent} decimal places)"
        )
    scale: int = 10**exponent
    minor = whole * scale + int(significant.ljust(exponent, "0") or "0")
    if minor > MAX_MINOR_UNITS:
        raise ValueError(f"amount {amount!r} {code} is too large (over 2**63-1 minor units)")
    return minor
