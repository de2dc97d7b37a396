"""Dead letters read back, redrive targets and headers, the audit event; progress; times."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from hub import codec
from hub.dlq import first_retry_topic, parse, redrive_headers, redriven_event
from hub.logreader import LogRecord
from hub.progress import Progress, clock_text
from hub.redelivery import Origin, failure_headers
from hub.schemastore import SchemaStore
from hub.times import parse_time, rfc3339
from hub.topics import Topics
from tests.examples import example_event

pytestmark = pytest.mark.unit

T = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
TOPICS = Topics("x.")


def dead(event_headers: list[tuple[str, bytes]], offset: int = 7) -> LogRecord:
    headers = failure_headers(event_headers + [("hub_retry_stage", b"1h")],
                              origin=Origin("x.hub.payments", 2, 40), group="x.hub.payments",
                              error_class="TransientError", error_message="503 from provider",
                              attempts=6, first_failure=T - timedelta(hours=1), last_failure=T)
    return LogRecord("x.hub.dlq.payments", 0, offset, 1_700_000_000_000, b"inv_1001", b"v",
                     tuple(headers))


def test_parse_reads_the_worker_headers() -> None:
    event = example_event("payment.intent_requested")
    dl = parse(dead(event.headers()), TOPICS)
    assert (dl.name, dl.group, dl.origin, dl.attempts) == (
        "payments", "x.hub.payments", Origin("x.hub.payments", 2, 40), 6)
    assert (dl.error_class, dl.error_message, dl.first_failure, dl.failed_at) == (
        "TransientError", "503 from provider", T - timedelta(hours=1), T)
    assert (dl.event_id, dl.event_type, dl.ref) == (
        event.id, "payment.intent_requested", "x.hub.dlq.payments:0:7")
    assert dl.matches(group="payments") and dl.matches(group="x.hub.payments")
    assert not dl.matches(group="sms")
    assert dl.matches(type_="payment.*") and not dl.matches(type_="sms.*")
    assert dl.matches(since=T) and not dl.matches(since=T + timedelta(seconds=1))


def test_a_bare_record_parses_with_defaults() -> None:
    dl = parse(LogRecord("x.hub.dlq.sms", 1, 3, 1_700_000_000_000, None, b"?", ()), TOPICS)
    assert (dl.group, dl.origin, dl.attempts, dl.event_id, dl.error_class) == (
        "x.hub.sms", Origin("x.hub.dlq.sms", 1, 3), 0, None, None)
    assert dl.failed_at == datetime(2023, 11, 14, 22, 13, 20, tzinfo=UTC)
    assert not dl.matches(type_="*")


def test_first_retry_topic_is_the_shortest_delay_of_that_integration() -> None:
    existing = {"x.hub.retry.payments.5m", "x.hub.retry.payments.30s", "x.hub.retry.payments.1h",
                "x.hub.retry.payments-eu.1s", "x.hub.retry.payments.bad", "hub.retry.payments.1s"}
    assert first_retry_topic(existing, TOPICS, "payments") == "x.hub.retry.payments.30s"
    assert first_retry_topic(existing, TOPICS, "sms") is None


def test_redrive_headers_keep_the_event_and_origin_and_drop_the_last_failure() -> None:
    event = example_event("payment.intent_requested")
    dl = parse(dead(event.headers()), TOPICS)
    to_retry = redrive_headers(dl, to_retry=True, at=T, by="ada")
    assert to_retry[:len(event.headers())] == event.headers()
    assert to_retry[len(event.headers()):] == [
        ("hub_original_topic", b"x.hub.payments"), ("hub_original_partition", b"2"),
        ("hub_original_offset", b"40"), ("hub_group", b"x.hub.payments"), ("hub_attempts", b"6"),
        ("hub_first_failure", b"2026-03-01T11:00:00.000Z"),
        ("hub_redriven_from", b"x.hub.dlq.payments:0:7"),
        ("hub_redriven_at", b"2026-03-01T12:00:00.000Z"), ("hub_redriven_by", b"ada")]
    to_original = redrive_headers(dl, to_retry=False, at=T, by="ada")
    assert to_original == event.headers() + to_retry[-3:]


def test_the_audit_event_is_deterministic_and_encodes() -> None:
    event = example_event("payment.intent_requested")
    dl = parse(dead(event.headers()), TOPICS)
    audit = redriven_event(dl, event, target=("x.hub.retry.payments.30s", 1, 9), by="ada",
                           reason=None, at=T)
    again = redriven_event(dl, event, target=("x.hub.retry.payments.30s", 1, 9), by="ada",
                           reason=None, at=T)
    assert audit == again
    assert (audit.type, audit.subject, audit.causation_id, audit.correlation_id) == (
        "dlq.redriven", "inv_1001", event.id, event.correlation_id)
    assert TOPICS.for_type(audit.type) == "x.hub.outcomes"
    store = SchemaStore.load()
    assert codec.decode(store, codec.encode(store, audit)).data == audit.data


def test_progress_line() -> None:
    now = [100.0]
    p = Progress("replay t", [(0, 10, 20), (1, 0, 10)], clock=lambda: now[0])
    for offset in range(10, 15):
        p.advance(0, offset, written=offset % 2 == 0)
    now[0] = 102.5
    assert p.line(width=10) == (
        "replay t [##--------]  25.0%  5/20  2 rec/s  p0 15/20 p1 0/10  ETA 0:08")
    assert (p.done, p.written, p.total) == (5, 3, 20)
    for offset in range(15, 20):
        p.advance(0, offset, written=True)
    for offset in range(10):
        p.advance(1, offset, written=True)
    assert p.line(width=4).endswith("[####] 100.0%  20/20  8 rec/s  p0 20/20 p1 10/10  done in 0:02")
    assert (clock_text(3725), clock_text(59.6)) == ("1:02:05", "1:00")


def test_parse_time_forms() -> None:
    assert parse_time("2h", T) == T - timedelta(hours=2)
    assert parse_time("90s", T) == T - timedelta(seconds=90)
    assert parse_time("2026-01-02", T) == datetime(2026, 1, 2, tzinfo=UTC)
    assert parse_time("2026-01-02T03:04:05+02:00", T) == datetime(2026, 1, 2, 1, 4, 5, tzinfo=UTC)
    assert rfc3339(parse_time("2026-01-02T03:04:05.5Z", T)) == "2026-01-02T03:04:05.500Z"
    with pytest.raises(ValueError, match="expected an RFC 3339 time"):
        parse_time("yesterday", T)
