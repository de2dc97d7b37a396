"""deploy/prometheus/hub-alerts.yml: every alert has a runbook that exists, and every
metric an expression reads is one hub exports, under the name the OpenTelemetry
Prometheus exporter gives it (found by exporting every instrument and gauge of
hub/metrics.py through a private exporter, not written down here)."""
from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml
from opentelemetry.exporter.prometheus import PrometheusMetricReader
from opentelemetry.metrics import CallbackOptions, Counter, Histogram, Observation
from opentelemetry.sdk.metrics import MeterProvider
from prometheus_client import CollectorRegistry

from hub.metrics import GAUGES, Instruments
from projections.reconciliation_rules import STATUSES

pytestmark = pytest.mark.unit

ROOT = Path(__file__).resolve().parents[2]
RULES = ROOT / "deploy" / "prometheus" / "hub-alerts.yml"
# PromQL words that are not metric names.
KEYWORDS = {"and", "or", "unless", "by", "without", "on", "ignoring", "group_left",
            "group_right", "bool", "offset"}


def exported_names() -> set[str]:
    """Every sample name hub's instruments and gauges produce in Prometheus text."""
    registry = CollectorRegistry()
    provider = MeterProvider(metric_readers=[PrometheusMetricReader(registry=registry)])
    meter = provider.get_meter("hub")
    for instrument in vars(Instruments(meter)).values():
        if isinstance(instrument, Counter):
            instrument.add(1)
        elif isinstance(instrument, Histogram):
            instrument.record(1.0)
        else:
            raise AssertionError(f"no sample recorded for {instrument!r}")

    def one(_options: CallbackOptions) -> list[Observation]:
        return [Observation(1.0)]

    for name, (unit, description) in GAUGES.items():
        meter.create_observable_gauge(name, callbacks=[one], unit=unit, description=description)
    try:
        return {s.name for family in registry.collect() for s in family.samples}
    finally:
        provider.shutdown()


def rules() -> list[dict[str, Any]]:
    doc = yaml.safe_load(RULES.read_text())
    return [rule for group in doc["groups"] for rule in group["rules"]]


def metric_names(expr: str) -> set[str]:
    """Names of the series an expression selects (strings, label matchers, grouping
    clauses, durations and function calls removed)."""
    expr = re.sub(r'"(?:[^"\\]|\\.)*"', '""', expr)
    expr = re.sub(r"\{[^}]*\}", "", expr)
    expr = re.sub(r"\b(by|without|on|ignoring|group_left|group_right)\s*\([^)]*\)", " ", expr)
    expr = re.sub(r"\[[^\]]*\]", "", expr)
    expr = re.sub(r"\b[a-z_]+\s*\(", "(", expr)
    expr = re.sub(r"(?<![A-Za-z0-9_:])\d[\d.]*(?:e[+-]?\d+)?[smhdwy]*", " ", expr)  # numbers, 5m
    return set(re.findall(r"[A-Za-z_:][A-Za-z0-9_:]*", expr)) - KEYWORDS


def test_the_exporter_names_hubs_metrics_as_the_rules_expect() -> None:
    names = exported_names()
    assert {"hub_provider_calls_total", "hub_consumer_dead_letters_total",
            "hub_consumer_lag_age_seconds", "hub_provider_circuit_state"} <= names


def test_every_alert_has_a_runbook_that_exists_and_names_it() -> None:
    alerts = [r for r in rules() if "alert" in r]
    assert len(alerts) >= 10
    assert len({a["alert"] for a in alerts}) == len(alerts)
    for alert in alerts:
        url = alert["annotations"]["runbook_url"]
        assert url == f"docs/runbooks/{alert['alert']}.md"
        page = (ROOT / url).read_text()
        assert page.startswith(f"# {alert['alert']}\n")
        for section in ("## What it means", "## Confirm", "## Resolve"):
            assert section in page, (url, section)
        assert alert["labels"]["severity"] in {"warning", "critical"}
        assert alert["annotations"]["summary"]


def test_every_metric_in_an_expression_is_exported_or_recorded() -> None:
    exported = exported_names()
    recorded = {r["record"] for r in rules() if "record" in r}
    assert all(r.startswith("hub:") for r in recorded)
    for rule in rules():
        unknown = metric_names(rule["expr"]) - exported - recorded
        assert not unknown, (rule.get("alert") or rule.get("record"), sorted(unknown))


def test_reconciliation_statuses_in_the_rules_exist() -> None:
    for rule in rules():
        for found in re.findall(r'hub_reconciliation_items\{status=~?"([^"]+)"', rule["expr"]):
            assert set(found.split("|")) <= set(STATUSES), rule["alert"]


def test_runbooks_only_suggest_hub_commands_that_exist() -> None:
    from hub.cli import build_parser

    parser = build_parser()
    commands = set(parser._subparsers._group_actions[0].choices)  # type: ignore[union-attr]
    for page in (ROOT / "docs" / "runbooks").glob("*.md"):
        for command in re.findall(r"`hub ([a-z]+)", page.read_text()):
            assert command in commands, (page.name, command)


def test_the_metric_name_filter_keeps_only_series() -> None:
    expr = ('sum by (provider) (rate(hub_a_total{outcome!~"x|y"}[10m])) > on (p) group_left () '
            'hub:b and label_replace(vector(0.05), "p", "s", "", "") unless hub_c offset 5m')
    assert metric_names(expr) == {"hub_a_total", "hub:b", "hub_c"}
