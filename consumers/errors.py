"""What can go wrong when a worker calls a provider: one hierarchy, one choke point.

    HubError
    └── ProviderError           any failed provider call; `retriable`, `retry_after`,
        │                       `status`, `reason`, plus the (unredacted) request and
        │                       response bodies when there were any
        ├── TransientError      5xx, 408, 409 (a request with the same idempotency key is
        │   │                   still running), timeouts, connection errors, unreadable
        │   │                   answers: worth retrying
        │   └── RateLimited     429; `retry_after` from the Retry-After header
        ├── PermanentError      other 4xx (validation, auth, idempotency-key mismatch):
        │                       retrying cannot help; carries the provider's reason
        └── CircuitOpen         raised before any call while the provider's circuit is
                                open; `retry_after` is the time until a probe is allowed

`classify_http` turns an HTTP answer and `classify_exception` an aiohttp or asyncio
error into one of these. Adapters raise nothing else for provider trouble.
"""
from __future__ import annotations

import email.utils
import time
from collections.abc import Mapping
from typing import Any

from hub.errors import HubError

__all__ = [
    "CircuitOpen",
    "PermanentError",
    "ProviderError",
    "RateLimited",
    "TransientError",
    "classify_exception",
    "classify_http",
    "parse_retry_after",
]


class ProviderError(HubError):
    """A provider call failed. Messages never contain credentials."""

    retriable: bool = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        reason: str | None = None,
        retry_after: float | None = None,
        request: Mapping[str, Any] | None = None,
        response: Any = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason or message
        self.retry_after = retry_after
        self.request = request
        self.response = response

    @property
    def counts_against_provider(self) -> bool:
        """Whether the circuit breaker counts this as the provider being unhealthy."""
        return self.retriable


class TransientError(ProviderError):
    """5xx, 408, 409, timeouts, connection errors, unreadable answers."""

    retriable = True


class RateLimited(TransientError):
    """429 Too Many Requests; `retry_after` seconds from the provider's Retry-After."""

    @property
    def counts_against_provider(self) -> bool:
        return False  # the provider is healthy, just busy: Retry-After handles it


class PermanentError(ProviderError):
    """A 4xx that retrying cannot fix; `reason` is the provider's explanation."""

    @property
    def counts_against_provider(self) -> bool:
        return self.status in (401, 403)  # bad credentials: every call will fail


class CircuitOpen(ProviderError):
    """The provider's circuit is open; nothing was sent. Wait `retry_after` seconds."""

    retriable = True

    @property
    def counts_against_provider(self) -> bool:
        return False


_TRANSIENT_4XX = frozenset({408, 409, 425})
_PERMANENT_5XX = frozenset({501, 505})


def parse_retry_after(value: str | None, now: float | None = None) -> float | None:
    """Seconds to wait from a Retry-After value (delta-seconds or HTTP-date), or None."""
    if value is None or not value.strip():
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    current = time.time() if now is None else now
    return max(0.0, when.timestamp() - current)


def classify_http(
    status: int,
    headers: Mapping[str, str],
    body: Any,
    *,
    reason: str | None = None,
    request: Mapping[str, Any] | None = None,
) -> ProviderError | None:
    """None for 1xx-3xx; otherwise the error an HTTP answer means.

    `reason` is the provider's message, extracted by the adapter (else a generic one).
    """
    if status < 400:
        return None
    retry_after = parse_retry_after(_get(headers, "Retry-After"))
    why = reason or _generic_reason(body) or f"HTTP {status}"
    message = f"provider answered {status}: {why}"
    kw: dict[str, Any] = {"status": status, "reason": why, "retry_after": retry_after,
                          "request": request, "response": body}
    if status == 429:
        return RateLimited(message, **kw)
    if status in _TRANSIENT_4XX or (status >= 500 and status not in _PERMANENT_5XX):
        return TransientError(message, **kw)
    return PermanentError(message, **kw)


def classify_exception(
    exc: BaseException, *, request: Mapping[str, Any] | None = None
) -> ProviderError | None:
    """The ProviderError an exception raised while calling a provider means, or None when
    it is not about the provider (a bug: let it propagate)."""
    import aiohttp  # the choke point for driver errors; the pure rules never import it

    if isinstance(exc, ProviderError):
        return exc
    if isinstance(exc, TimeoutError | aiohttp.ServerTimeoutError):
        return TransientError("provider did not answer in time", reason="timeout",
                              request=request)
    if isinstance(exc, aiohttp.ContentTypeError | ValueError):
        return TransientError(f"provider answer unreadable: {exc}", reason="unreadable answer",
                              request=request)
    if isinstance(exc, aiohttp.ClientResponseError):
        found = classify_http(exc.status, exc.headers or {}, None, reason=exc.message,
                              request=request)
        if found is not None:
            return found
    if isinstance(exc, aiohttp.ClientError):
        return TransientError(f"connection to provider failed: {type(exc).__name__}: {exc}",
                              reason="connection", request=request)
    return None


def _get(headers: Mapping[str, str], name: str) -> str | None:
    value = headers.get(name)
    if value is not None:
        return value
    lower = name.lower()
    for key, v in headers.items():
        if key.lower() == lower:
            return v
    return None


def _generic_reason(body: Any) -> str | None:
    if isinstance(body, Mapping):
        for key in ("message", "error_description", "detail", "error", "Message"):
            value = body.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, Mapping):
                nested = _generic_reason(value)
                if nested:
                    return nested
    if isinstance(body, str) and body:
        return body[:200]
    return None
