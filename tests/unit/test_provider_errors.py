from __future__ import annotations

import aiohttp
import pytest

from consumers.errors import (
    PermanentError,
    ProviderError,
    RateLimited,
    TransientError,
    classify_exception,
    classify_http,
    parse_retry_after,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("status", "kind", "retriable"), [
    (500, TransientError, True), (502, TransientError, True), (503, TransientError, True),
    (504, TransientError, True), (408, TransientError, True), (409, TransientError, True),
    (429, RateLimited, True), (400, PermanentError, False), (401, PermanentError, False),
    (402, PermanentError, False), (404, PermanentError, False), (422, PermanentError, False),
    (501, PermanentError, False),
])
def test_http_status_classes(status: int, kind: type[ProviderError], retriable: bool) -> None:
    error = classify_http(status, {}, None)
    assert type(error) is kind
    assert error is not None and error.retriable is retriable and error.status == status


def test_success_is_not_an_error() -> None:
    assert classify_http(200, {}, {"id": "pi_1"}) is None
    assert classify_http(302, {}, None) is None


def test_rate_limit_carries_retry_after_and_the_reason() -> None:
    error = classify_http(429, {"retry-after": "3"}, {"error": {"message": "slow"}},
                          reason="Too many requests (rate_limit)", request={"amount": 1})
    assert isinstance(error, RateLimited)
    assert (error.retry_after, error.reason) == (3.0, "Too many requests (rate_limit)")
    assert str(error) == "provider answered 429: Too many requests (rate_limit)"
    assert error.request == {"amount": 1}
    assert error.counts_against_provider is False


def test_generic_reason_when_the_adapter_gives_none() -> None:
    error = classify_http(400, {}, {"error": {"message": "Invalid currency: XXX."}})
    assert error is not None and error.reason == "Invalid currency: XXX."
    assert str(classify_http(418, {}, None)) == "provider answered 418: HTTP 418"


def test_breaker_counts_transient_and_credential_errors_only() -> None:
    assert TransientError("x").counts_against_provider is True
    assert PermanentError("x", status=422).counts_against_provider is False
    assert PermanentError("x", status=401).counts_against_provider is True


def test_retry_after_as_seconds_or_http_date() -> None:
    assert parse_retry_after("120") == 120.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:10 GMT", now=1445412480.0) == 10.0
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412490.0) == 0.0
    assert parse_retry_after("soon") is None
    assert parse_retry_after("") is None
    assert parse_retry_after(None) is None


def test_driver_errors_become_transient_and_bugs_stay_bugs() -> None:
    timeout = classify_exception(TimeoutError())
    assert isinstance(timeout, TransientError) and timeout.reason == "timeout"
    assert isinstance(classify_exception(aiohttp.ServerDisconnectedError()), TransientError)
    assert isinstance(classify_exception(aiohttp.ClientConnectionError("refused")), TransientError)
    assert isinstance(classify_exception(ValueError("not json")), TransientError)
    permanent = PermanentError("x", status=400)
    assert classify_exception(permanent) is permanent
    assert classify_exception(KeyError("amount")) is None
