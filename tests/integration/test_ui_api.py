"""The operator page's HTTP surface on a real ingress: sign-in and cookie, the token on
every admin path, the CSRF guards on the one action, errors that say what to run."""
from __future__ import annotations

import aiohttp
import pytest

from tests.stack import run_ingress

pytestmark = pytest.mark.integration

TOKEN = "ui-api-token-51d0"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


async def test_sign_in_cookie_and_guards(servers, topic_prefix, db_schema, tmp_path) -> None:
    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress=f'admin_token = "{TOKEN}"\nops_refresh_s = 1') as ing, \
            aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as s:  # 127.0.0.1
        async with s.get(f"{ing.url}/ui", allow_redirects=False) as r:
            assert (r.status, r.headers["Location"]) == (303, "/ui/login")
        async with s.get(f"{ing.url}/ui/static/ui.js", allow_redirects=False) as r:
            assert r.status == 303
        async with s.get(f"{ing.url}/admin/api/overview") as r:
            assert (r.status, await r.json()) == (401, {"error": "admin token required"})
        async with s.get(f"{ing.url}/ui/login") as r:
            assert r.status == 200 and r.content_type == "text/html"
            assert r.headers["Content-Security-Policy"].startswith("default-src 'none'; script-src 'self'")
        async with s.post(f"{ing.url}/ui/login", data={"token": "nope"}) as r:
            assert r.status == 401 and '<p id="error">' in await r.text()
        async with s.post(f"{ing.url}/ui/login", data={"token": TOKEN}, allow_redirects=False) as r:
            assert (r.status, r.headers["Location"]) == (303, "/ui")
            cookie = r.headers["Set-Cookie"]
        assert cookie.startswith(f"hub_admin={TOKEN};") and "HttpOnly" in cookie
        assert "SameSite=Strict" in cookie and "Path=/" in cookie
        async with s.get(f"{ing.url}/ui") as r:  # the session now carries the cookie
            assert r.status == 200 and '<script src="/ui/static/ui.js" defer>' in await r.text()
        async with s.get(f"{ing.url}/ui/static/ui.js") as r:
            assert (r.status, r.content_type) == (200, "text/javascript")
        async with s.get(f"{ing.url}/ui/static/index.html") as r:
            assert r.status == 404

    async with run_ingress(tmp_path / "b", servers, topic_prefix, db_schema,
                           ingress=f'admin_token = "{TOKEN}"') as ing, \
            aiohttp.ClientSession(headers=BEARER) as s:
        async with s.get(f"{ing.url}/admin/api/overview") as r:
            overview = await r.json()
        assert r.status == 200
        assert sorted(overview) == ["dead_letters", "drift", "errors", "groups", "providers",
                                    "refresh_s", "refreshed_at", "stale_s"]
        assert (overview["refresh_s"], overview["drift"]) == (15.0, None)  # no view yet

        redrive = f"{ing.url}/admin/api/dlq/redrive"
        body = {"group": "payments", "dry_run": True}
        async with s.post(redrive, json=body, headers={"Origin": "http://evil.example"}) as r:
            assert (r.status, await r.json()) == (403, {"error": "send JSON from the operator page"})
        async with s.post(redrive, data="group=payments") as r:
            assert r.status == 403
        async with s.post(redrive, json={"group": "payments"}) as r:
            assert (r.status, (await r.json())["error"]) == (
                400, 'expected {"group": "<group or integration>", "dry_run": true|false}')
        async with s.post(redrive, json=body, headers={"Origin": ing.url}) as r:
            assert (r.status, await r.json()) == (409, {
                "error": f"no dead-letter topic for group 'payments' (looked for "
                         f"{topic_prefix}hub.dlq.payments)"})
        async with s.get(f"{ing.url}/admin/api/story") as r:
            assert r.status == 400
        async with s.get(f"{ing.url}/admin/api/story", params={"subject": "INV-1"}) as r:
            assert (r.status, await r.json()) == (409, {
                "error": "no audit view yet; run `hub project audit` (or "
                         "`hub projections rebuild audit`)"})
