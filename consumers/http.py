"""One HTTP exchange with a provider; driver errors come out as classified ProviderErrors.

Vendor-neutral: the adapters pass their own headers, auth and body shape, and read their
own error bodies from the `Answer`.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import aiohttp
import orjson

from consumers.errors import ProviderError, TransientError, classify_exception

__all__ = ["Answer", "exchange", "unexpected"]


@dataclass(frozen=True)
class Answer:
    """A provider's answer: status, headers, and the body as JSON (or text when it is not)."""

    status: int
    headers: Mapping[str, str]
    body: Any

    @property
    def ok(self) -> bool:
        return 200 <= self.status < 300


async def exchange(
    session: aiohttp.ClientSession,
    method: str,
    url: str,
    *,
    limit: aiohttp.ClientTimeout,
    request: Mapping[str, Any],
    headers: Mapping[str, str] | None = None,
    json_body: Any = None,
    form: Mapping[str, str] | None = None,
    query: Mapping[str, str] | None = None,
) -> Answer:
    """Send one request within `limit`. `request` is what the error carries (never headers or credentials).

    Raises the ProviderError `classify_exception` gives for a timeout or connection failure.
    """
    sent_headers = dict(headers or {})
    data: Any = None
    if json_body is not None:
        data = orjson.dumps(json_body)
        sent_headers["Content-Type"] = "application/json"
    elif form is not None:
        data = dict(form)
    try:
        async with session.request(method, url, data=data, params=query, headers=sent_headers,
                                   timeout=limit) as resp:
            raw = await resp.read()
            return Answer(resp.status, dict(resp.headers), _body(raw))
    except ProviderError:
        raise
    except Exception as exc:
        error = classify_exception(exc, request=request)
        if error is None:
            raise
        raise error from None


def unexpected(answer: Answer, request: Mapping[str, Any]) -> TransientError:
    """A 2xx whose body is not the JSON object the adapter expects: worth a retry."""
    return TransientError(f"provider answered {answer.status} without the expected JSON object",
                          status=answer.status, request=request, response=answer.body)


def _body(raw: bytes) -> Any:
    if not raw:
        return None
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError:
        return raw[:2000].decode("utf-8", "replace")
