"""The operator page in Debian's headless Chromium, driven by Playwright, against a live
stack: the session's Kafka and PostgreSQL, an in-process ingress, and real data (a group
behind, a dead letter, reconciliation drift, an audit story, provider health)."""
from __future__ import annotations

import asyncio
import re
import shutil
from pathlib import Path

import aiohttp
import pytest

from hub.telemetry import configure_metrics
from hub.times import rfc3339
from hub.topics import Topics
from tests.e2e import ui_data
from tests.e2e.png import png_size_and_colours
from tests.stack import read_topic, run_ingress

pytestmark = pytest.mark.e2e

CHROMIUM = "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TOKEN = "ui-test-admin-token-7f3a9c"
SCREENSHOT = Path(__file__).parent / "artifacts" / "ui.png"


def _when(iso: str) -> str:
    return re.sub(r"\.\d+Z$", "Z", iso.replace("T", " "))


def _samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Prometheus text as {(metric, labels without OTel's scope labels): value}."""
    out = {}
    for m in re.finditer(r"^(\w+)\{(.*)\} (\S+)$", text, re.M):
        labels = frozenset((k, v) for k, v in re.findall(r'(\w+)="((?:[^"\\]|\\.)*)"', m[2])
                           if not k.startswith("otel_scope_"))
        out[(m[1], labels)] = float(m[3])
    return out


async def test_operator_page_shows_lag_dead_letters_drift_and_redrives(
        servers, topic_prefix, db_schema, tmp_path) -> None:
    from playwright.async_api import async_playwright, expect

    assert shutil.which(CHROMIUM), f"{CHROMIUM} is missing: run .ci/system-deps (apt-get install chromium)"
    topics = Topics(topic_prefix)
    group, payments = topics.group("payments"), topics.name("payments")
    dlq, retry = topics.dlq("payments"), topics.retry("payments", "30s")
    await ui_data.load(servers, topics, db_schema)
    configure_metrics()

    async with run_ingress(tmp_path, servers, topic_prefix, db_schema,
                           ingress=f'admin_token = "{TOKEN}"\nops_refresh_s = 1') as ing, \
            async_playwright() as pw:
        browser = await pw.chromium.launch_persistent_context(
            str(tmp_path / "chromium-profile"), executable_path=CHROMIUM, headless=True, args=ARGS,
            viewport={"width": 1400, "height": 1100})
        page = browser.pages[0] if browser.pages else await browser.new_page()
        expect.set_options(timeout=15_000)

        await page.goto(f"{ing.url}/ui")
        assert page.url == f"{ing.url}/ui/login"
        await page.fill("#token", "wrong")
        await page.click("button[type=submit]")
        await expect(page.locator("#error")).to_have_text("That token is not the admin token.")
        await page.fill("#token", TOKEN)
        await page.click("button[type=submit]")
        await page.wait_for_url(f"{ing.url}/ui")

        # Lag: three records behind, and no progress over two samples ⇒ STALL.
        lag_row = page.locator(f'#lag-rows tr[data-group="{group}"]')
        await expect(lag_row.locator("td").nth(4)).to_have_text("STALL")
        cells = await lag_row.locator("td").all_inner_texts()
        assert [cells[i] for i in (0, 1, 2, 4, 5)] == [group, payments, "3", "STALL", "Empty"]
        assert ui_data.BEHIND_S <= float(cells[3]) < ui_data.BEHIND_S + 60
        reasons = await page.locator("#lag-reasons li").all_inner_texts()
        assert re.fullmatch(rf"{re.escape(group)}: {re.escape(payments)}\[0\] STALL: offset \d+ unchanged "
                            r"over \d+ samples \(\d+ s\) while lag went 3 -> 3", reasons[0]), reasons

        # Dead letters: the group, its count, the newest with its reason (as text, not HTML).
        box = page.locator(f'.dlq-group[data-group="{group}"]')
        await expect(box.locator("p.count")).to_have_text("1 dead letter, 0 redriven")
        assert await box.locator("tbody tr td").all_inner_texts() == [
            _when(rfc3339(ui_data.DEAD_AT)), "payment.intent_requested", ui_data.DEAD_ID,
            f"PermanentError: {ui_data.DEAD_REASON}", "4", "no"]
        assert await page.locator("img").count() == 0
        assert await page.evaluate("window.__xss") is None

        # Reconciliation drift by status, and provider health.
        await expect(page.locator("#drift-summary")).to_have_text("5 items, 4 drifting")
        drift = [await r.locator("td").all_inner_texts()
                 for r in await page.locator("#drift-rows tr").all()]
        assert drift == [["orphan_payment", "1"], ["paid_not_posted", "1"], ["partially_paid", "1"],
                         ["unpaid", "1"], ["matched", "1"]]
        provider = await page.locator("#provider-rows tr td").all_inner_texts()
        assert provider[:7] == ["payments", "stripe", "open", "4", "75.0 %", "2.50 s", "3.97 s"]

        # Recent events of one subject; a subject with markup is shown as typed.
        await page.fill("#subject", "<script>window.__xss=2</script>")
        await page.click("#story-form button")
        await expect(page.locator("#story-summary")).to_have_text(
            "nothing in the audit log about <script>window.__xss=2</script>")
        assert await page.evaluate("window.__xss") is None
        await page.fill("#subject", "INV-UI-4")
        await page.click("#story-form button")
        await expect(page.locator("#story-summary")).to_have_text("3 entries about INV-UI-4")
        story = [await r.locator("td").all_inner_texts() for r in await page.locator("#story-rows tr").all()]
        assert [row[1:] for row in story] == [
            ["event", "invoice.issued", "invoice.issued by /services/billing 3000 EUR (minor units) "
             "invoice_id=INV-UI-4", "/services/billing"],
            ["event", "payment.succeeded", "payment.succeeded by stripe 3000 EUR (minor units) "
             "invoice_id=INV-UI-4 payment_id=pi_ui_4", "/providers/stripe"],
            ["outcome", "integration.outcome", "accounting post_payment for payment.succeeded "
             "attempt 1: succeeded ref xj_ui_4 3000 EUR (minor units)", "/workers/accounting"]]

        # Redrive: the dry run lists what would go where; confirming sends it once.
        await box.locator("button.redrive").click()
        await expect(page.locator("#redrive-summary")).to_have_text(
            "Dry run: would redrive 1; nothing was sent")
        assert await page.locator("#redrive-rows tr td").all_inner_texts() == [
            "would redrive", ui_data.DEAD_ID, "payment.intent_requested", f"{dlq}:0:0", retry]
        await expect(page.locator("#redrive-confirm")).to_have_text("Confirm redrive of 1 dead letter")
        SCREENSHOT.parent.mkdir(parents=True, exist_ok=True)
        await page.screenshot(path=str(SCREENSHOT), full_page=True)
        assert await asyncio.to_thread(read_topic, servers.kafka_bootstrap, retry) == []

        await page.click("#redrive-confirm")
        await expect(page.locator("#redrive-summary")).to_have_text("redriven 1")
        await expect(box.locator("p.count")).to_have_text("1 dead letter, 1 redriven")
        async with aiohttp.ClientSession() as s, s.get(
                f"{ing.url}/metrics", headers={"Authorization": f"Bearer {TOKEN}"}) as r:
            metrics = await r.text()
        await browser.close()

    [copy] = read_topic(servers.kafka_bootstrap, retry, expect=1)
    assert (copy.event.id, copy.headers["hub_redriven_from"]) == (ui_data.DEAD_ID, f"{dlq}:0:0".encode())
    assert copy.headers["hub_redriven_by"] == b"ui@127.0.0.1"
    samples = _samples(metrics)
    at = frozenset({("group", group), ("topic", payments)})
    assert (samples[("hub_consumer_lag", at)], samples[("hub_consumer_lag_status", at)]) == (3.0, 2.0)
    assert ui_data.BEHIND_S <= samples[("hub_consumer_lag_age_seconds", at)] < ui_data.BEHIND_S + 60
    assert 0 <= samples[("hub_monitor_staleness_seconds", frozenset())] < 5
    assert {dict(k[1])["status"]: v for k, v in samples.items()
            if k[0] == "hub_reconciliation_items" and v} == {
        "orphan_payment": 1.0, "paid_not_posted": 1.0, "partially_paid": 1.0, "unpaid": 1.0,
        "matched": 1.0}

    data = SCREENSHOT.read_bytes()
    width, height, colours = png_size_and_colours(data)
    assert len(data) > 40_000 and width == 1400 and height >= 1100
    assert colours > 50
