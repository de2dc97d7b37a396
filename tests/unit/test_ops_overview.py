"""The operator page's JSON and the lag gauges from a monitor snapshot; the settings and
guards around them. No broker, no database."""
from __future__ import annotations

import argparse
import tomllib
from datetime import UTC, datetime
from pathlib import Path

import pytest

from hub.config import HubConfig, parse_config
from hub.dlq import DeadLetter
from hub.dlqreader import DeadLetterTopic
from hub.errors import ConfigError
from hub.lagreport import GroupReport, PartitionReport
from hub.logreader import LogRecord
from hub.metrics import gauge_source
from hub.metrics_endpoint import port_number
from hub.provider_health import ProviderHealth
from hub.redelivery import Origin
from hub.ui.gauges import lag_by_topic
from hub.ui.monitor import Snapshot
from hub.ui.overview import overview

pytestmark = pytest.mark.unit

AT = datetime(2026, 3, 14, 9, 26, 53, tzinfo=UTC)


def part(topic: str, partition: int, lag: int, seconds: float | None, status: str) -> PartitionReport:
    return PartitionReport(topic, partition, 10, 10 + lag, lag, seconds, status,  # type: ignore[arg-type]
                           "caught up" if status == "OK" else "offset 10 unchanged", 3)


REPORTS = (
    GroupReport("hub.payments", "Stable", "STALL", (
        part("hub.payments", 0, 3, 12.5, "STALL"), part("hub.payments", 1, 0, 0.0, "OK"),
        part("hub.retry.payments.30s", 0, 2, None, "WARN"))),
    GroupReport("hub.sms", "Unknown", "ERR", (), "cannot read committed offsets: timed out"),
)


def test_lag_per_group_and_topic() -> None:
    assert lag_by_topic(REPORTS) == [
        {"group": "hub.payments", "topic": "hub.payments", "lag": 3, "lag_seconds": 12.5,
         "status": "STALL"},
        {"group": "hub.payments", "topic": "hub.retry.payments.30s", "lag": 2, "lag_seconds": None,
         "status": "WARN"},
        {"group": "hub.sms", "topic": "", "lag": 0, "lag_seconds": None, "status": "ERR"},
    ]


def dead_letter() -> DeadLetter:
    record = LogRecord("hub.dlq.payments", 0, 4, 1_700_000_000_000, b"inv_1", b"x", ())
    return DeadLetter(record=record, name="payments", group="hub.payments",
                      origin=Origin("hub.payments", 1, 9), error_class="PermanentError",
                      error_message="<b>bad</b>", attempts=4, first_failure=AT, last_failure=AT,
                      event_id="e-1", event_type="payment.intent_requested")


def test_overview_of_a_snapshot() -> None:
    health = ProviderHealth("payments", "hub.payments", "stripe", "open", "6 of 10 failed", AT,
                            events=4, succeeded=3, dead_lettered=1, p50_s=2.5, p99_s=3.97)
    snap = Snapshot(at=AT, lag=REPORTS,
                    dead_letters=(DeadLetterTopic("hub.dlq.payments", "payments", "hub.payments", 7,
                                                  (dead_letter(),)),),
                    redriven={"hub.dlq.payments": 2}, redriven_refs=frozenset({"hub.dlq.payments:0:4"}),
                    drift={"unpaid": 2, "matched": 5}, health=(health,),
                    errors={"providers": "UndefinedTableError: provider_health"})
    doc = overview(snap, refresh_s=15.0, stale_s=3.04)
    assert doc["refreshed_at"] == "2026-03-14T09:26:53.000Z"
    assert (doc["refresh_s"], doc["stale_s"], doc["errors"]) == (
        15.0, 3.0, {"providers": "UndefinedTableError: provider_health"})
    assert doc["groups"][0] == {
        "group": "hub.payments", "state": "Stable", "status": "STALL", "lag": 5, "lag_seconds": 12.5,
        "error": None,
        "topics": [{"topic": "hub.payments", "lag": 3, "lag_seconds": 12.5, "status": "STALL"},
                   {"topic": "hub.retry.payments.30s", "lag": 2, "lag_seconds": None, "status": "WARN"}],
        "reasons": ["hub.payments[0] STALL: offset 10 unchanged",
                    "hub.retry.payments.30s[0] WARN: offset 10 unchanged"]}
    assert doc["groups"][1]["topics"] == [] and doc["groups"][1]["error"].startswith("cannot read")
    assert doc["dead_letters"] == [{
        "topic": "hub.dlq.payments", "integration": "payments", "group": "hub.payments", "total": 7,
        "redriven": 2, "newest": [{
            "ref": "hub.dlq.payments:0:4", "event_id": "e-1", "event_type": "payment.intent_requested",
            "failed_at": "2026-03-14T09:26:53.000Z", "error_class": "PermanentError",
            "error_message": "<b>bad</b>", "attempts": 4, "redriven": True}]}]
    assert doc["providers"] == [{
        "integration": "payments", "group": "hub.payments", "provider": "stripe", "state": "open",
        "state_reason": "6 of 10 failed", "state_since": "2026-03-14T09:26:53.000Z", "events": 4,
        "succeeded": 3, "dead_lettered": 1, "success_rate": 0.75, "p50_s": 2.5, "p99_s": 3.97}]
    assert doc["drift"] == {"statuses": [{"status": "unpaid", "count": 2},
                                         {"status": "matched", "count": 5}],
                            "items": 7, "drifting": 2}


def test_no_reconciliation_view_means_no_drift_figures() -> None:
    assert overview(Snapshot(), refresh_s=1.0, stale_s=0.0)["drift"] is None


def test_gauges_must_be_catalogued() -> None:
    with pytest.raises(ValueError, match="gauge 'hub.nope' with unit '1' is not in hub.metrics.GAUGES"):
        gauge_source("hub.nope", "d", "1", list)
    with pytest.raises(ValueError, match="unit 's' is not in"):
        gauge_source("hub.consumer.lag", "d", "s", list)


def config(ingress: str) -> HubConfig:
    text = f"[ingress]\n{ingress}\n"
    return parse_config(tomllib.loads(text), {}, path=Path("hub.toml"), text=text)


def test_refresh_interval_is_configurable_and_checked() -> None:
    assert config("").ingress.ops_refresh_s == 15.0
    assert config("ops_refresh_s = 2").ingress.ops_refresh_s == 2.0
    with pytest.raises(ConfigError, match=r"hub.toml:2: ingress.ops_refresh_s: expected a number > 0"):
        config("ops_refresh_s = 0")


def test_metrics_port_must_be_a_port() -> None:
    assert port_number("9464") == 9464
    for bad in ("0", "70000", "http"):
        with pytest.raises(argparse.ArgumentTypeError, match=f"'{bad}' is not a TCP port"):
            port_number(bad)
