"""Ingress limits: per-client rate, header size, request time, admin token, secret rotation."""
from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest

from hub.ingress.reload import reload_endpoints
from hub.signatures import sign
from tests.stack import SECRETS, config_text, read_topic, run_ingress

pytestmark = pytest.mark.integration


def body(n: int) -> bytes:
    return json.dumps({"id": f"evt_h{n}", "type": "customer.created", "created": 1,
                       "data": {"object": {}}}).encode()


async def post(url: str, data: bytes, headers: dict[str, str]) -> tuple[int, dict[str, str], bytes]:
    async with aiohttp.ClientSession() as s, s.post(url, data=data, headers=headers) as r:
        return r.status, dict(r.headers), await r.read()


async def test_per_client_rate_limit_answers_429_with_retry_after(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress="rate_limit_per_s = 0.5\nrate_limit_burst = 2") as ing:
        answers = []
        for n in range(3):
            b = body(n)
            answers.append(await post(f"{ing.url}/webhooks/stripe", b,
                                      sign("stripe", secret=SECRETS["stripe"], body=b)))
    assert [a[0] for a in answers] == [202, 202, 429]
    # Tokens refill at 0.5/s while the first two requests run: one token is 1 or 2 s away.
    assert answers[2][1]["Retry-After"] in ("1", "2")
    assert json.loads(answers[2][2]) == {"error": "too many requests; slow down"}
    records = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks")
    assert len(records) == 2


async def raw_status(port: int, request: bytes) -> bytes:
    """The status line the server answers to `request`, sent whole over a plain socket."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    try:
        writer.write(request)
        await writer.drain()
        return await asyncio.wait_for(reader.readline(), timeout=10)
    finally:
        writer.close()


async def test_oversized_headers_are_refused_before_any_handler(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress="max_header_bytes = 1024\nmax_headers = 20") as ing:
        port = int(ing.url.rsplit(":", 1)[1])
        b = body(1)
        signed = "".join(f"{k}: {v}\r\n" for k, v in
                         sign("stripe", secret=SECRETS["stripe"], body=b).items())
        head = f"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: {len(b)}\r\n{signed}"
        huge = await raw_status(port, (head + f"X-Pad: {'a' * 4096}\r\n\r\n").encode() + b)
        many = await raw_status(port, (head + "".join(f"X-H{i}: v\r\n" for i in range(40))
                                       + "\r\n").encode() + b)
        fine = await raw_status(port, (head + "\r\n").encode() + b)
    # aiohttp answers a request it cannot parse with an HTTP/1.0 400 and closes.
    assert huge.split()[1] == b"400"
    assert many.split()[1] == b"400"
    assert fine.split()[:2] == [b"HTTP/1.1", b"202"]
    records = read_topic(servers.kafka_bootstrap, f"{topic_prefix}hub.webhooks")
    assert [r.event.data["provider_event_id"] for r in records] == ["evt_h1"]


async def test_a_stalled_upload_gets_408(servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress="request_timeout_s = 1.0") as ing:
        port = int(ing.url.rsplit(":", 1)[1])
        reader, writer = await asyncio.open_connection("127.0.0.1", port)
        writer.write(b"POST /webhooks/stripe HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{")
        await writer.drain()
        status_line = await asyncio.wait_for(reader.readline(), timeout=10)
        writer.close()
        await writer.wait_closed()
    assert status_line.startswith(b"HTTP/1.1 408")


async def test_admin_paths_need_the_admin_token(servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path / "off", servers, topic_prefix, db_schema) as ing:
        off = await post(f"{ing.url}/admin/anything", b"", {})
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress='admin_token = "s3cret-admin"') as ing:
        async with aiohttp.ClientSession() as s:
            async with s.get(f"{ing.url}/metrics") as r:
                without = (r.status, await r.json())
            async with s.get(f"{ing.url}/metrics", headers={"Authorization": "Bearer nope"}) as r:
                wrong = r.status
    assert off[0] == 404
    assert json.loads(off[2]) == {"error": "admin endpoints are off: set [ingress] admin_token"}
    assert without == (401, {"error": "admin token required"})
    assert wrong == 401


async def test_webhook_secret_rotates_without_restart(servers, topic_prefix, db_schema,
                                                      tmp_path) -> None:
    (tmp_path).mkdir(exist_ok=True)
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema) as ing:
        port = int(ing.url.rsplit(":", 1)[1])
        new = dict(SECRETS, stripe="whsec_rotated_secret_value")
        ing.config_path.write_text(config_text(port, secrets=new, ack_timeout_s=5.0))
        assert reload_endpoints(ing.config_path, ing.deps, {})
        b1, b2 = body(10), body(11)
        old = await post(f"{ing.url}/webhooks/stripe", b1, sign("stripe", secret=SECRETS["stripe"], body=b1))
        rotated = await post(f"{ing.url}/webhooks/stripe", b2,
                             sign("stripe", secret="whsec_rotated_secret_value", body=b2))
        # A broken file is refused and the running secrets stay.
        ing.config_path.write_text("[endpoints.stripe]\nscheme = 'nope'\n")
        assert not reload_endpoints(ing.config_path, ing.deps, {})
        b3 = body(12)
        still = await post(f"{ing.url}/webhooks/stripe", b3,
                           sign("stripe", secret="whsec_rotated_secret_value", body=b3))
    assert (old[0], rotated[0], still[0]) == (401, 202, 202)
