"""Webhook signature schemes: `verify` what a provider sent, `sign` what a simulator sends.

Pure rules, standard library only. Six schemes, one small verifier and one signer each,
picked from a dispatch table by name: Standard Webhooks, Stripe, GitHub, Twilio,
Shopify and Slack. Error messages name the header and the problem, never a secret or
an expected signature.
"""
from __future__ import annotations

import base64
import hashlib
import hmac
import string
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from secrets import token_urlsafe
from urllib.parse import parse_qs, parse_qsl, urlsplit, urlunsplit

from hub.errors import HubError

__all__ = ["SCHEMES", "SignatureError", "sign", "twilio_json_url", "verify"]

_MAX_HEADER_CHARS = 8192  # far above any real signature header; bounds the work on garbage
_MAX_TIMESTAMP_DIGITS = 12  # Unix seconds until the year 33658; longer is garbage
_SHA256_SIZE = 32
_SHA1_SIZE = 20
_DEFAULT_PORTS = {"https": 443, "http": 80}


class SignatureError(HubError):
    """Raised by `verify` when a delivery is not authentic.

    `reason` is a short snake_case code for metrics and responses: `missing_header`,
    `malformed_header`, `timestamp_out_of_tolerance`, `no_matching_signature`,
    `body_hash_mismatch`, `missing_url` or `malformed_url`. The message names the
    header and what is wrong; it never holds a secret or an expected signature.
    """

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


@dataclass(frozen=True)
class _Delivery:
    """What arrived: headers keyed by lowercase name, raw body, the URL called, the clock."""

    headers: Mapping[str, str]
    body: bytes
    url: str | None
    now: float
    tolerance: int


@dataclass(frozen=True)
class _Outgoing:
    """What a signer signs: raw body, target URL, Unix timestamp and message id."""

    body: bytes
    url: str | None
    timestamp: int
    msg_id: str


def _standard_key(secret: str) -> bytes:
    try:
        return base64.b64decode(secret.removeprefix("whsec_"), validate=True)
    except ValueError:
        raise ValueError(
            "standard-webhooks secret is not base64 after its optional whsec_ prefix; "
            "copy it again from the sender's settings"
        ) from None


@dataclass(frozen=True)
class _Scheme:
    verify: Callable[[_Delivery, Sequence[bytes]], None]
    sign: Callable[[bytes, _Outgoing], dict[str, str]]
    key: Callable[[str], bytes] = str.encode  # how a configured secret becomes an HMAC key


# --- shared checks ---------------------------------------------------------------------
def _header(delivery: _Delivery, name: str) -> str:
    """The stripped value of header `name`; SignatureError if it is absent, empty or huge."""
    value = delivery.headers.get(name.lower(), "").strip()
    if not value:
        raise SignatureError("missing_header", f"{name} header is missing or empty")
    if len(value) > _MAX_HEADER_CHARS:
        raise SignatureError("malformed_header", f"{name} header is over {_MAX_HEADER_CHARS} chars")
    return value


def _check_timestamp(delivery: _Delivery, name: str, value: str) -> None:
    """Pass if `value` is Unix seconds within the tolerance of now, in either direction."""
    if not (value.isascii() and value.isdigit() and len(value) <= _MAX_TIMESTAMP_DIGITS):
        raise SignatureError("malformed_header", f"{name} is not a Unix time in seconds")
    skew = delivery.now - int(value)
    if abs(skew) > delivery.tolerance:
        when = "in the past" if skew > 0 else "in the future"
        raise SignatureError(
            "timestamp_out_of_tolerance",
            f"{name} {value} is {abs(skew):.0f} s {when}, beyond the {delivery.tolerance} s "
            "tolerance: a replayed delivery, or a clock that is off",
        )


def _to_bytes(name: str, value: str) -> bytes:
    """Header text back to the bytes that were signed (undoing surrogateescape decoding)."""
    try:
        return value.encode("utf-8", "surrogateescape")
    except UnicodeEncodeError:
        raise SignatureError("malformed_header", f"{name} header is not valid UTF-8") from None


def _from_hex(text: str, size: int = _SHA256_SIZE) -> bytes | None:
    """The digest spelled by `text` in hex, or None if it is not exactly `size` bytes of hex."""
    if len(text) != 2 * size or not all(char in string.hexdigits for char in text):
        return None
    return bytes.fromhex(text)


def _from_base64(text: str, size: int = _SHA256_SIZE) -> bytes | None:
    """The digest spelled by `text` in base64, or None if it is not `size` bytes of base64."""
    try:
        raw = base64.b64decode(text, validate=True)
    except ValueError:
        return None
    return raw if len(raw) == size else None


def _entries(name: str, value: str, item_sep: str | None, kv_sep: str) -> list[tuple[str, str]]:
    """`value` split into (key, value) pairs, e.g. `t=1,v1=ab` or `v1,abc v1,def`."""
    pairs = []
    for item in value.split(item_sep):
        key, sep, rest = item.strip().partition(kv_sep)
        if not sep:
            if key:  # empty items come from doubled or trailing separators: harmless
                raise SignatureError("malformed_header", f"{name} has an entry without {kv_sep!r}")
            continue
        pairs.append((key, rest))
    return pairs


def _require_match(name: str, keys: Sequence[bytes], messages: Sequence[bytes],
                   candidates: Sequence[bytes], digest: str = "sha256") -> None:
    """Pass if a candidate equals the HMAC of a message under a key, else SignatureError."""
    for key in keys:
        for message in messages:
            expected = _digest(key, message, digest)
            if any(hmac.compare_digest(expected, candidate) for candidate in candidates):
                return
    raise SignatureError(
        "no_matching_signature",
        f"{name}: no signature matches any of the {len(keys)} configured secret(s); "
        "check that the secret is current and the body is passed on unmodified",
    )


def _digest(key: bytes, message: bytes, algorithm: str = "sha256") -> bytes:
    return hmac.new(key, message, algorithm).digest()


def _b64(raw: bytes) -> str:
    return base64.b64encode(raw).decode()


# --- Standard Webhooks -----------------------------------------------------------------
def _verify_standard(delivery: _Delivery, keys: Sequence[bytes]) -> None:
    msg_id = _header(delivery, "webhook-id")
    timestamp = _header(delivery, "webhook-timestamp")
    entries = _entries("webhook-signature", _header(delivery, "webhook-signature"), None, ",")
    _check_timestamp(delivery, "webhook-timestamp", timestamp)
    signed = _to_bytes("webhook-id", msg_id) + f".{timestamp}.".encode() + delivery.body
    candidates = [raw for version, sig in entries if version == "v1" and (raw := _from_base64(sig))]
    _require_match("webhook-signature", keys, [signed], candidates)


def _sign_standard(key: bytes, out: _Outgoing) -> dict[str, str]:
    signed = f"{out.msg_id}.{out.timestamp}.".encode() + out.body
    return {
        "webhook-id": out.msg_id,
        "webhook-timestamp": str(out.timestamp),
        "webhook-signature": "v1," + _b64(_digest(key, signed)),
    }


# --- Stripe ----------------------------------------------------------------------------
def _verify_stripe(delivery: _Delivery, keys: Sequence[bytes]) -> None:
    entries = _entries("Stripe-Signature", _header(delivery, "Stripe-Signature"), ",", "=")
    stamps = [value for key, value in entries if key == "t"]
    if len(stamps) != 1:
        raise SignatureError("malformed_header", "Stripe-Signature needs exactly one t= entry")
    _check_timestamp(delivery, "Stripe-Signature t", stamps[0])
    candidates = [raw for key, value in entries if key == "v1" and (raw := _from_hex(value))]
    signed = stamps[0].encode() + b"." + delivery.body
    _require_match("Stripe-Signature", keys, [signed], candidates)


def _sign_stripe(key: bytes, out: _Outgoing) -> dict[str, str]:
    signed = f"{out.timestamp}.".encode() + out.body
    return {"Stripe-Signature": f"t={out.timestamp},v1={_digest(key, signed).hex()}"}


# --- GitHub ----------------------------------------------------------------------------
def _verify_github(delivery: _Delivery, keys: Sequence[bytes]) -> None:
    algorithm, _, hex_sig = _header(delivery, "X-Hub-Signature-256").partition("=")
    raw = _from_hex(hex_sig) if algorithm == "sha256" else None
    if raw is None:
        raise SignatureError("malformed_header", "X-Hub-Signature-256 is not sha256=<64 hex>")
    _require_match("X-Hub-Signature-256", keys, [delivery.body], [raw])


def _sign_github(key: bytes, out: _Outgoing) -> dict[str, str]:
    return {"X-Hub-Signature-256": "sha256=" + _digest(key, out.body).hex()}


# --- Twilio ----------------------------------------------------------------------------
def twilio_json_url(url: str, body: bytes) -> str:
    """`url` with the `bodySHA256` query parameter Twilio adds for a non-form (JSON) body."""
    parts = urlsplit(url)
    param = "bodySHA256=" + hashlib.sha256(body).hexdigest()
    return urlunsplit(parts._replace(query=f"{parts.query}&{param}" if parts.query else param))


def _twilio_parts(url: str, body: bytes) -> tuple[bytes, str | None]:
    """(signed suffix after the URL, bodySHA256 from the URL or None); ValueError if malformed.

    A URL with bodySHA256 means a JSON body: the URL alone is signed. Otherwise the body
    is form parameters, appended as name+value sorted by name then value.
    """
    hashes = parse_qs(urlsplit(url).query, keep_blank_values=True).get("bodySHA256")
    if hashes is not None:
        if len(hashes) != 1:
            raise ValueError("several bodySHA256 parameters")
        return b"", hashes[0]
    pairs = parse_qsl(body.decode("utf-8", "replace"), keep_blank_values=True)
    return "".join(name + value for name, value in sorted(pairs)).encode(), None


def _twilio_url_variants(url: str) -> list[str]:
    """`url` as given, without its port, and with its port (the scheme's default if none).

    Twilio's helper libraries accept a signature over any of these, because what Twilio
    signs depends on how the webhook URL was configured.
    """
    parts = urlsplit(url)
    port = parts.port  # ValueError if not a number
    userinfo, at, hostport = parts.netloc.rpartition("@")
    host = hostport.rsplit(":", 1)[0] if port is not None or hostport.endswith(":") else hostport
    variants = [url, urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}"))]
    explicit = port if port is not None else _DEFAULT_PORTS.get(parts.scheme.lower())
    if explicit is not None:
        variants.append(urlunsplit(parts._replace(netloc=f"{userinfo}{at}{host}:{explicit}")))
    return list(dict.fromkeys(variants))


def _verify_twilio(delivery: _Delivery, keys: Sequence[bytes]) -> None:
    if delivery.url is None:
        raise SignatureError("missing_url", "twilio signs the URL it called; pass url=")
    raw = _from_base64(_header(delivery, "X-Twilio-Signature"), _SHA1_SIZE)
    if raw is None:
        raise SignatureError("malformed_header", "X-Twilio-Signature is not base64 SHA-1")
    try:
        suffix, body_hash = _twilio_parts(delivery.url, delivery.body)
        variants = _twilio_url_variants(delivery.url)
        messages = [url.encode("utf-8", "surrogateescape") + suffix for url in variants]
    except ValueError:  # the URL is echoed nowhere: it may hold basic-auth credentials
        raise SignatureError("malformed_url", "twilio: the url given is not a valid URL") from None
    _require_match("X-Twilio-Signature", keys, messages, [raw], "sha1")
    if body_hash is None:
        return
    actual = hashlib.sha256(delivery.body).hexdigest().encode()
    if not hmac.compare_digest(actual, body_hash.lower().encode("utf-8", "replace")):
        raise SignatureError("body_hash_mismatch", "twilio: the body's SHA-256 is not the "
                             "bodySHA256 in the signed URL; the body changed after signing")


def _sign_twilio(key: bytes, out: _Outgoing) -> dict[str, str]:
    if out.url is None:
        raise ValueError("twilio signing needs url=, the full URL the request is sent to")
    suffix, body_hash = _twilio_parts(out.url, out.body)
    if body_hash is not None and body_hash != hashlib.sha256(out.body).hexdigest():
        raise ValueError("the url's bodySHA256 is not this body's; build it with twilio_json_url")
    return {"X-Twilio-Signature": _b64(_digest(key, out.url.encode() + suffix, "sha1"))}


# --- Shopify ---------------------------------------------------------------------------
def _verify_shopify(delivery: _Delivery, keys: Sequence[bytes]) -> None:
    raw = _from_base64(_header(delivery, "X-Shopify-Hmac-Sha256"))
    if raw is None:
        raise SignatureError("malformed_header", "X-Shopify-Hmac-Sha256 is not base64 SHA-256")
    _require_match("X-Shopify-Hmac-Sha256", keys, [delivery.body], [raw])


def _sign_shopify(key: bytes, out: _Outgoing) -> dict[str, str]:
    return {"X-Shopify-Hmac-Sha256": _b64(_digest(key, out.body))}


# --- Slack -----------------------------------------------------------------------------
def _verify_slack(delivery: _Delivery, keys: Sequence[bytes]) -> None:
    timestamp = _header(delivery, "X-Slack-Request-Timestamp")
    version, _, hex_sig = _header(delivery, "X-Slack-Signature").partition("=")
    raw = _from_hex(hex_sig) if version == "v0" else None
    if raw is None:
        raise SignatureError("malformed_header", "X-Slack-Signature is not v0=<64 hex digits>")
    _check_timestamp(delivery, "X-Slack-Request-Timestamp", timestamp)
    signed = f"v0:{timestamp}:".encode() + delivery.body
    _require_match("X-Slack-Signature", keys, [signed], [raw])


def _sign_slack(key: bytes, out: _Outgoing) -> dict[str, str]:
    signed = f"v0:{out.timestamp}:".encode() + out.body
    return {
        "X-Slack-Request-Timestamp": str(out.timestamp),
        "X-Slack-Signature": "v0=" + _digest(key, signed).hex(),
    }


# --- entry points ----------------------------------------------------------------------
_SCHEMES: dict[str, _Scheme] = {
    "standard-webhooks": _Scheme(_verify_standard, _sign_standard, _standard_key),
    "stripe": _Scheme(_verify_stripe, _sign_stripe),  # the whsec_ secret is used as is
    "github": _Scheme(_verify_github, _sign_github),
    "twilio": _Scheme(_verify_twilio, _sign_twilio),
    "shopify": _Scheme(_verify_shopify, _sign_shopify),
    "slack": _Scheme(_verify_slack, _sign_slack),
}
SCHEMES: tuple[str, ...] = tuple(_SCHEMES)


def _scheme(name: str) -> _Scheme:
    try:
        return _SCHEMES[name]
    except KeyError:
        raise ValueError(f"unknown signature scheme {name!r}; use one of {SCHEMES}") from None


def _keys(name: str, scheme: _Scheme, secrets: Sequence[str]) -> list[bytes]:
    """HMAC keys for `secrets`; ValueError (naming no secret) if they are misconfigured."""
    if isinstance(secrets, str):
        raise ValueError(f"{name}: secrets must be a list of strings, not one string")
    if not secrets:
        raise ValueError(f"{name}: no secret configured, so no delivery can be verified")
    keys = [scheme.key(secret) for secret in secrets]
    if not all(keys):
        raise ValueError(f"{name}: a configured secret is empty")
    return keys


def verify(
    scheme: str,
    *,
    secrets: Sequence[str],
    headers: Mapping[str, str],
    body: bytes,
    url: str | None = None,
    now: float | None = None,
    tolerance: int = 300,
) -> None:
    """Return if the delivery is authentic under `scheme` and any one of `secrets`.

    `headers` may use any case; `body` is the raw bytes received; `url` is the full
    URL the provider called (twilio only); `now` (default: the clock) and `tolerance`
    are seconds, and timestamps further than `tolerance` from `now` either way fail.
    Raises SignatureError, with `.reason`, when the delivery is not authentic, and
    ValueError for a configuration mistake: an unknown scheme, no secrets, an empty or
    undecodable secret, a negative tolerance.
    """
    chosen = _scheme(scheme)
    keys = _keys(scheme, chosen, secrets)
    if tolerance < 0:
        raise ValueError(f"{scheme}: tolerance must be 0 or more seconds, not {tolerance}")
    lowered = {name.lower(): value for name, value in headers.items()}
    clock = time.time() if now is None else now
    chosen.verify(_Delivery(lowered, body, url, clock, tolerance), keys)


def sign(
    scheme: str,
    *,
    secret: str,
    body: bytes,
    url: str | None = None,
    timestamp: int | None = None,
    msg_id: str | None = None,
) -> dict[str, str]:
    """The signature headers a real provider would send with `body`.

    `timestamp` (Unix seconds) defaults to now and `msg_id` (standard-webhooks) to a
    random `msg_...` id. twilio needs `url`: a form body is signed as parameters; for
    a JSON body pass `twilio_json_url(url, body)`. Raises ValueError for an unknown
    scheme, an empty or undecodable secret, or a twilio call without a usable url.
    """
    chosen = _scheme(scheme)
    [key] = _keys(scheme, chosen, [secret])
    when = int(time.time()) if timestamp is None else timestamp
    message_id = "msg_" + token_urlsafe(18) if msg_id is None else msg_id
    return chosen.sign(key, _Outgoing(body, url, when, message_id))
