"""`hub demo`: signed webhooks and published events through the running local stack,
then what landed where. Run after `hub dev up` (`make run` does both)."""
from __future__ import annotations

import asyncio
import json
import time
import urllib.parse
from datetime import UTC, datetime
from typing import Any

import aiohttp

from hub import codec
from hub.admin import list_topics, watermarks
from hub.apikeys import ApiKeyStore
from hub.config import HubConfig, Settings, load_config
from hub.db import connect
from hub.devstack.state import resolve_servers
from hub.ids import uuid7
from hub.schemastore import SchemaStore
from hub.signatures import sign

__all__ = ["run_demo"]


def _deliveries(run: str) -> dict[str, tuple[bytes, str]]:
    """One realistic delivery per demo endpoint: (body, content type)."""
    invoice = f"ORD-{run}"
    stripe = {"id": f"evt_{run}", "object": "event", "type": "payment_intent.succeeded",
              "created": int(time.time()),
              "data": {"object": {"id": f"pi_{run}", "object": "payment_intent", "amount": 4200,
                                  "amount_received": 4200, "currency": "eur", "status": "succeeded",
                                  "metadata": {"invoice_id": invoice}}}}
    shopify = {"id": int(run, 16) % 10**9, "name": f"#{run}", "total_price": "19.90",
               "currency": "EUR", "financial_status": "paid"}
    std = {"type": "payment.succeeded", "timestamp": "2026-11-22T00:00:00Z",
           "data": {"provider": "acme-pay", "payment_id": f"ap_{run}", "invoice_id": invoice,
                    "amount_minor": 100, "currency": "EUR", "occurred_at": "2026-11-22T00:00:00Z"}}
    # An inbound SMS (a reply): kept raw. Delivery statuses of hub's own sends come from
    # the SMS provider's callbacks in the provider flow below.
    twilio = urllib.parse.urlencode({"MessageSid": f"SM{run}", "From": "+15550100100",
                                     "To": "+15550001111", "Body": "STOP", "AccountSid": "AC0"})
    return {
        "stripe": (json.dumps(stripe).encode(), "application/json"),
        "github": (json.dumps({"zen": "Keep it logically awesome.", "hook_id": 1}).encode(),
                   "application/json"),
        "standard-webhooks": (json.dumps(std).encode(), "application/json"),
        "twilio": (twilio.encode(), "application/x-www-form-urlencoded"),
        "shopify": (json.dumps(shopify).encode(), "application/json"),
        "slack": (json.dumps({"type": "event_callback", "event_id": f"Ev{run}",
                              "event": {"type": "app_mention", "text": "hi"}}).encode(),
                  "application/json"),
    }


def _extra_headers(endpoint: str, run: str) -> dict[str, str]:
    if endpoint == "github":
        return {"X-GitHub-Event": "ping", "X-GitHub-Delivery": f"gh-{run}"}
    if endpoint == "shopify":
        return {"X-Shopify-Topic": "orders/paid", "X-Shopify-Webhook-Id": f"shp-{run}"}
    return {}


async def run_demo() -> int:
    settings = Settings.from_env()
    config = load_config(settings.config_path, settings.env)
    servers = resolve_servers(settings)
    base = config.ingress.url
    run = uuid7().replace("-", "")[-8:]
    started = datetime.now(UTC)
    print(f"demo run {run}: sending to {base}\n")
    print(f"{'ENDPOINT':<19}{'HTTP':<6}{'RAW EVENT ID':<38}DOMAIN EVENTS")
    async with aiohttp.ClientSession() as http:
        for name, (body, ctype) in _deliveries(run).items():
            endpoint = config.endpoints.get(name)
            if endpoint is None:
                continue
            url = f"{base}/webhooks/{name}"
            headers = {**sign(endpoint.scheme, secret=endpoint.secrets[0], body=body, url=url),
                       "Content-Type": ctype, **_extra_headers(name, run)}
            async with http.post(url, data=body, headers=headers) as r:
                answer = await r.json()
            domain = ", ".join(e["type"] for e in answer.get("events", [])) or "(kept raw)"
            print(f"{name:<19}{r.status:<6}{answer.get('event_id', answer.get('error', '')):<38}{domain}")
        # The same Stripe delivery again: a provider retry is recognised, one event id.
        body, ctype = _deliveries(run)["stripe"]
        stripe = config.endpoints["stripe"]
        async with http.post(f"{base}/webhooks/stripe", data=body, headers={
                **sign("stripe", secret=stripe.secrets[0], body=body), "Content-Type": ctype}) as r:
            again = await r.json()
        print(f"{'stripe (again)':<19}{r.status:<6}{again.get('event_id', ''):<38}{again.get('status')}")

        conn = await connect(servers.database_url, settings.db_schema)
        try:
            key, _ = await ApiKeyStore(conn).create(f"demo-{run}", ["invoice.*", "sms.*", "email.*",
                                                                      "payment.*"])
        finally:
            await conn.close()
        published = [
            {"type": "invoice.issued", "subject": f"INV-{run}", "data": {
                "invoice_id": f"INV-{run}", "customer_id": "CUS-1", "amount_minor": 4200,
                "currency": "EUR", "issued_at": "2026-11-22T00:00:00Z", "due_at": None,
                "lines": [{"description": "Demo plan", "quantity": 1, "unit_amount_minor": 4200}]}},
        ]
        print(f"\n{'PUBLISHED':<19}{'HTTP':<6}{'EVENT ID':<38}TOPIC[PARTITION]@OFFSET")
        for item in published:
            async with http.post(f"{base}/events", json=item, headers={
                    "Authorization": f"Bearer {key}", "Idempotency-Key": f"{item['type']}:{run}"}) as r:
                a = await r.json()
            print(f"{item['type']:<19}{r.status:<6}{a.get('event_id', a.get('error', '')):<38}"
                  f"{a.get('topic')}[{a.get('partition')}]@{a.get('offset')}")

    print("\nwhat landed where:")
    for t in await asyncio.to_thread(list_topics, servers.kafka_bootstrap):
        if t.name.startswith(f"{settings.topic_prefix}hub."):
            print(f"  {t.name:<24} {t.messages:>7} records")
    conn = await connect(servers.database_url, settings.db_schema)
    try:
        rows = await conn.fetch(
            "SELECT endpoint, provider_event_id, mapped, deliveries FROM webhook_events"
            " WHERE received_at >= $1 ORDER BY received_at", started)
    finally:
        await conn.close()
    print(f"\nwebhook_events rows of this run ({len(rows)}):")
    for row in rows:
        print(f"  {row['endpoint']:<19} {row['provider_event_id']:<30} mapped={row['mapped']!s:<6}"
              f" deliveries={row['deliveries']}")
    _show_last(servers.kafka_bootstrap, f"{settings.topic_prefix}hub.payments")
    if config.integrations:
        return await _provider_flow(config, key, run)
    return 0


def _sim_base(config: HubConfig) -> str:
    first = next(iter(config.integrations.values())).base_url
    return first.rsplit("/", 1)[0]


async def _provider_flow(config: HubConfig, key: str, run: str) -> int:
    """An invoice and its payment through the workers and the simulated providers, and the
    webhook the payment provider sends back; then each effect of this run, counted."""
    base = config.ingress.url
    invoice, phone, email = f"INV-{run}", f"+1555{int(run, 16) % 10**7:07d}", f"ada+{run}@example.com"
    flow = [
        {"type": "payment.intent_requested", "subject": invoice, "data": {
            "invoice_id": invoice, "amount_minor": 4200, "currency": "EUR", "customer_id": "CUS-1",
            "customer_email": email, "description": "Demo plan"}},
        {"type": "sms.requested", "subject": phone, "data": {
            "to": phone, "template": "payment_receipt", "params": {"invoice": invoice},
            "body": None}},
    ]
    print("\nprovider flow: payment intent and SMS requested for", invoice)
    async with aiohttp.ClientSession() as http:
        for item in flow:
            async with http.post(f"{base}/events", json=item, headers={
                    "Authorization": f"Bearer {key}", "Idempotency-Key": f"flow:{item['type']}:{run}"}) as r:
                answer = await r.json()
            print(f"  published {item['type']:<26} {r.status} {answer.get('event_id', answer)}")
        wanted = {("payments", "charge"), ("accounting", "invoice"), ("email", "email"), ("sms", "sms")}
        deadline = time.monotonic() + 60
        seen: dict[tuple[str, str], list[str]] = {}
        while time.monotonic() < deadline:
            seen = await _effects_of(http, _sim_base(config), (invoice, phone, email))
            if wanted <= set(seen) and ("accounting", "journal") in seen:
                break
            await asyncio.sleep(1.0)
    print(f"\n{'PROVIDER':<12}{'EFFECT':<12}{'COUNT':>6}  REFERENCES (this run)")
    for (sim, effect), refs in sorted(seen.items()):
        print(f"{sim:<12}{effect:<12}{len(refs):>6}  {', '.join(refs)}")
    missing = sorted(wanted - set(seen))
    doubled = sorted(k for k, refs in seen.items() if len(refs) > 1)
    if missing:
        print(f"\nnot done within 60 s: {missing} (see .hub/workers.log)")
    print(f"each effect once: {'yes' if not missing and not doubled else 'NO'}")
    await _show_views(invoice)
    return 1 if missing or doubled else 0


async def _show_views(invoice: str) -> None:
    """The invoice in the reconciliation view and its story in the audit view, once the
    projections have caught up with the posting."""
    from projections import reconciliation_report as report
    from projections.audit_store import render_story, story

    settings = Settings.from_env()
    conn = await connect(resolve_servers(settings).database_url, settings.db_schema)
    try:
        lines: list[report.Line] = []
        for _ in range(30):
            lines = [x for x in await report.read(conn, datetime.now(UTC))
                     if x.facts.subject == invoice]
            if lines and lines[0].status == "matched":
                break
            await asyncio.sleep(1.0)
        print("\nreconciliation (hub reconcile):")
        print(report.render_table(lines))
        print(f"\naudit story (hub audit show {invoice}):")
        print(render_story(invoice, await story(conn, invoice)))
    finally:
        await conn.close()


async def _effects_of(http: aiohttp.ClientSession, base: str,
                      marks: tuple[str, ...]) -> dict[tuple[str, str], list[str]]:
    found: dict[tuple[str, str], list[str]] = {}
    for sim in ("payments", "accounting", "email", "sms"):
        async with http.get(f"{base}/{sim}/_sim/effects") as r:
            effects = (await r.json())["effects"]
        for effect in effects:
            text = json.dumps(effect)
            if any(mark in text for mark in marks):
                found.setdefault((sim, effect["effect"]), []).append(str(effect.get("ref")))
    return found


def _show_last(bootstrap: str, topic: str) -> None:
    from confluent_kafka import Consumer, TopicPartition

    store = SchemaStore.load()
    c = Consumer({"bootstrap.servers": bootstrap, "group.id": "hub-demo", "enable.auto.commit": False})
    try:
        md = c.list_topics(topic, timeout=5)
        best: Any = None
        for p in md.topics[topic].partitions:
            _, high = watermarks(c, TopicPartition(topic, p), timeout=5)
            if high > 0:
                c.assign([TopicPartition(topic, p, high - 1)])
                msg = c.poll(5)
                if msg is None or msg.error():
                    continue
                if best is None or msg.timestamp()[1] > best.timestamp()[1]:
                    best = msg
        if best is not None:
            event = codec.decode(store, best.value(), topic=topic, partition=best.partition(),
                                 offset=best.offset())
            print(f"\nnewest record on {topic}, decoded from Avro:")
            print(json.dumps(event.envelope_dict(), indent=2, default=str))
    finally:
        c.close()
