"""Sending the workload like providers and upstream services do: every request again, with
the same body (and Idempotency-Key), until it is answered 2xx; 4xx other than 429 is final.
What was acknowledged is kept: the set every invariant is checked against."""
from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import aiohttp
import orjson

from chaos.workload import Request
from hub.signatures import sign

__all__ = ["Ack", "Sender"]


@dataclass(frozen=True)
class Ack:
    """A request answered 2xx: its answer and how many sends it took."""

    request: Request
    status: int
    answer: dict[str, Any]
    attempts: int


@dataclass
class Sender:
    base_url: str
    api_key: str
    stripe_secret: str
    seed: int
    acks: list[Ack] = field(default_factory=list)
    rejected: list[tuple[Request, int, str]] = field(default_factory=list)
    abandoned: list[Request] = field(default_factory=list)
    answers: Counter[str] = field(default_factory=Counter)  # "503", "timeout", "connect" ...
    errors: list[str] = field(default_factory=list)  # every non-2xx text seen, for the leak scan
    give_up_at: float = float("inf")
    _rng: random.Random = field(init=False)

    def __post_init__(self) -> None:
        self._rng = random.Random(f"{self.seed}:client")

    async def run(self, requests: list[Request], started: float, give_up_at: float) -> None:
        """Send each request at its time (relative to `started`, monotonic) until acknowledged,
        or until `give_up_at` (read on every retry: `extend` moves it)."""
        self.give_up_at = give_up_at
        connector = aiohttp.TCPConnector(limit=64)
        async with aiohttp.ClientSession(connector=connector) as http:
            tasks: list[asyncio.Task[None]] = []
            for request in requests:
                delay = started + request.at - time.monotonic()
                if delay > 0:
                    await asyncio.sleep(delay)
                tasks.append(asyncio.create_task(self._deliver(http, request)))
            await asyncio.gather(*tasks)

    def extend(self, give_up_at: float) -> None:
        self.give_up_at = max(self.give_up_at, give_up_at)

    async def _deliver(self, http: aiohttp.ClientSession, request: Request) -> None:
        attempt = 0
        while time.monotonic() < self.give_up_at:
            attempt += 1
            wait = min(2.0, 0.2 * 2 ** min(attempt, 8)) * self._rng.random()
            try:
                async with http.post(self.base_url + request.path, data=request.body,
                                     headers=self._headers(request),
                                     timeout=aiohttp.ClientTimeout(total=10)) as resp:
                    text = await resp.text()
                    if 200 <= resp.status < 300:
                        self.answers["2xx"] += 1
                        self.acks.append(Ack(request, resp.status, orjson.loads(text), attempt))
                        return
                    self.answers[str(resp.status)] += 1
                    self.errors.append(f"{request.label}: {resp.status} {text}")
                    if resp.status != 429 and resp.status < 500:
                        self.rejected.append((request, resp.status, text))
                        return
                    retry_after = resp.headers.get("Retry-After", "")
                    if retry_after.isdigit():
                        wait = min(float(retry_after), 5.0)
            except TimeoutError as exc:
                self.answers["timeout"] += 1
                self.errors.append(f"{request.label}: timeout {exc}")
            except aiohttp.ClientError as exc:
                self.answers["connection error"] += 1
                self.errors.append(f"{request.label}: {type(exc).__name__}: {exc}")
            await asyncio.sleep(wait)
        self.abandoned.append(request)

    def _headers(self, request: Request) -> dict[str, str]:
        headers = {"Content-Type": "application/json"}
        if request.kind == "webhook":
            # Signed afresh per attempt, like Stripe: a new timestamp, the same body.
            headers.update(sign("stripe", secret=self.stripe_secret, body=request.body))
        else:
            headers["Authorization"] = f"Bearer {self.api_key}"
            if request.idempotency_key is not None:
                headers["Idempotency-Key"] = request.idempotency_key
        return headers
