"""Traces and metrics of the ingress: one trace from the request through the Kafka write,
carried in the event; Prometheus text on /metrics behind the admin token."""
from __future__ import annotations

import json

import aiohttp
import pytest

from hub.signatures import sign
from hub.telemetry import configure_metrics
from tests.stack import SECRETS, read_topic, run_ingress

pytestmark = pytest.mark.integration


async def test_webhook_trace_spans_request_and_kafka_write(servers, topic_prefix, db_schema,
                                                          tmp_path, span_exporter) -> None:
    span_exporter.clear()
    body = json.dumps({"id": "evt_traced", "type": "payment_intent.succeeded", "created": 1,
                       "data": {"object": {"id": "pi_t", "amount": 100, "currency": "usd",
                                           "metadata": {"invoice_id": "INV-T"}}}}).encode()
    caller = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        async with aiohttp.ClientSession() as s, s.post(
                f"{ing.url}/webhooks/stripe", data=body,
                headers={**sign("stripe", secret=SECRETS["stripe"], body=body),
                         "traceparent": caller}) as r:
            assert r.status == 202
    spans = {s.name: s for s in span_exporter.get_finished_spans()}
    server = spans["POST /webhooks/{endpoint}"]
    produce = spans[f"{topic_prefix}hub.webhooks publish"]
    assert format(server.context.trace_id, "032x") == "0af7651916cd43dd8448eb211c80319c"
    assert produce.context.trace_id == server.context.trace_id
    assert produce.parent.span_id == server.context.span_id
    assert server.attributes["http.response.status_code"] == 202
    [raw] = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks", expect=1)
    [pay] = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.payments", expect=1)
    for event in (raw.event, pay.event):
        assert event.traceparent is not None
        assert event.traceparent.split("-")[1] == "0af7651916cd43dd8448eb211c80319c"
    assert raw.headers["ce_traceparent"] == raw.event.traceparent.encode()


async def test_metrics_endpoint_counts_requests_and_signature_failures(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    configure_metrics()
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress='admin_token = "ops-token"') as ing:
        async with aiohttp.ClientSession() as s:
            async with s.post(f"{ing.url}/webhooks/github", data=b"{}",
                              headers={"X-Hub-Signature-256": "sha256=00"}) as r:
                assert r.status == 401
            async with s.get(f"{ing.url}/metrics",
                             headers={"Authorization": "Bearer ops-token"}) as r:
                text = await r.text()
                assert r.status == 200
    lines = text.splitlines()
    assert any(line.startswith("hub_ingress_requests_total{") and 'endpoint="github"' in line
               and 'status="401"' in line for line in lines), text[:3000]
    assert any(line.startswith("hub_ingress_signature_failures_total{")
               and 'provider="github"' in line and 'reason="malformed_header"' in line
               for line in lines), text[:3000]
