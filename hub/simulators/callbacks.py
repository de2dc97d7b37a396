"""Signed callbacks (webhooks, status callbacks) sent in the background, like a provider.

Each delivery waits a small delay, then is POSTed; a non-2xx answer or a connection
error is retried with exponential backoff, a bounded number of times. Every attempt
is recorded in the call log with direction "out".
"""
from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import aiohttp

from hub.simulators.calllog import CallLog

__all__ = ["CallbackSender", "Delivery"]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Delivery:
    """One callback. `sign` is called per attempt with the body and returns the headers
    to add (so a retried Stripe webhook carries a fresh timestamp). `on_due` runs once,
    when the delivery's time has come, even when `url` is None (no receiver configured):
    the SMS simulator moves a message's status there."""

    url: str | None
    body: bytes
    content_type: str
    label: str
    logged: Any
    sign: Callable[[bytes], dict[str, str]]
    on_due: Callable[[], None] | None = None


class CallbackSender:
    def __init__(
        self, calls: CallLog, *, delay_s: float, attempts: int, backoff_s: float
    ) -> None:
        self._calls = calls
        self._delay_s = delay_s
        self._attempts = max(1, attempts)
        self._backoff_s = backoff_s
        self._session: aiohttp.ClientSession | None = None
        self._tasks: set[asyncio.Task[None]] = set()

    async def start(self) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        self._session = aiohttp.ClientSession(timeout=timeout)

    async def close(self) -> None:
        for task in list(self._tasks):
            task.cancel()
        if self._tasks:
            await asyncio.gather(*self._tasks, return_exceptions=True)
        if self._session is not None:
            await self._session.close()
            self._session = None

    def send(self, deliveries: Sequence[Delivery]) -> None:
        """Deliver in the background, in order: each one (with its retries) before the next."""
        task = asyncio.get_running_loop().create_task(self._run(list(deliveries)))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def cancel_all(self) -> None:
        """Drop every callback not yet delivered (a reset starts a fresh run)."""
        for task in list(self._tasks):
            task.cancel()

    @property
    def pending(self) -> int:
        return len(self._tasks)

    async def drain(self, timeout_s: float) -> bool:
        """Wait until every callback scheduled so far is done; False if time ran out."""
        if not self._tasks:
            return True
        _, pending = await asyncio.wait(set(self._tasks), timeout=timeout_s)
        return not pending

    async def _run(self, deliveries: list[Delivery]) -> None:
        try:
            for delivery in deliveries:
                await asyncio.sleep(self._delay_s)
                if delivery.on_due is not None:
                    delivery.on_due()
                if delivery.url is not None:
                    await self._deliver(delivery.url, delivery)
        except Exception:  # a background task has no caller to raise to
            log.exception("callback sequence %s failed", [d.label for d in deliveries])

    async def _deliver(self, url: str, delivery: Delivery) -> None:
        assert self._session is not None, "CallbackSender.start() was not called"
        for attempt in range(1, self._attempts + 1):
            headers = {"Content-Type": delivery.content_type, **delivery.sign(delivery.body)}
            status, error = 0, None
            try:
                async with self._session.post(url, data=delivery.body, headers=headers) as resp:
                    status = resp.status
                    await resp.read()
            except (aiohttp.ClientError, TimeoutError) as exc:
                error = f"{type(exc).__name__}: {exc}"
            extra = {"label": delivery.label} if error is None else {
                "label": delivery.label, "error": error}
            self._calls.record("out", "POST", _shown(url), status, body=delivery.logged,
                               attempt=attempt, extra=extra)
            if 200 <= status < 300:
                return
            if attempt < self._attempts:
                await asyncio.sleep(self._backoff_s * 2 ** (attempt - 1))
        log.warning("callback %s to %s given up after %d attempts",
                    delivery.label, _shown(url), self._attempts)


def _shown(url: str) -> str:
    """`url` without user:password, which must not reach logs."""
    parts = urlsplit(url)
    return urlunsplit(parts._replace(netloc=parts.netloc.rpartition("@")[2]))
