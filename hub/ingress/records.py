"""What the ingress keeps in PostgreSQL: webhook deliveries and publish idempotency."""
from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from hub.db import DatabaseUnavailable
from hub.ingress.batching import Batcher

__all__ = ["IngressRecords", "PublishRecord", "WebhookRecord"]


@dataclass(frozen=True, slots=True)
class WebhookRecord:
    event_id: str
    endpoint: str
    provider: str
    provider_event_id: str
    provider_event_type: str | None
    payload_sha256: str
    mapped: bool
    mapped_types: tuple[str, ...]
    topic: str
    partition: int
    offset: int
    received_at: datetime
    processed_at: datetime


@dataclass(frozen=True, slots=True)
class PublishRecord:
    request_sha256: str
    event_ids: tuple[str, ...]
    event_time: datetime
    response: dict[str, Any] | None
    status_code: int | None


_DB_ERRORS = (OSError, asyncpg.PostgresError, asyncpg.InterfaceError, TimeoutError)

# One row per distinct delivery key of a batch, `n` deliveries each: a key twice in one batch
# counts twice (an UPDATE joined to the same row twice would count it once).
_SEEN = (
    "UPDATE webhook_events AS w SET deliveries = w.deliveries + k.n, last_delivery_at = now()"
    " FROM unnest($1::text[], $2::text[], $3::int[]) AS k(provider, provider_event_id, n)"
    " WHERE w.provider = k.provider AND w.provider_event_id = k.provider_event_id"
    " RETURNING w.provider, w.provider_event_id, w.event_id"
)
_INSERT = (
    "INSERT INTO webhook_events (event_id, endpoint, provider, provider_event_id,"
    " provider_event_type, payload_sha256, mapped, mapped_types, topic,"
    " kafka_partition, kafka_offset, received_at, processed_at, last_delivery_at)"
    " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13)"
    " ON CONFLICT (provider, provider_event_id) DO UPDATE"
    " SET deliveries = webhook_events.deliveries + 1, last_delivery_at = now()"
)

_Key = tuple[str, str]


class IngressRecords:
    """The ingress's tables. Database failures surface as DatabaseUnavailable.

    Webhook lookups and inserts of concurrent requests share one statement per batch
    (`batching.Batcher`); each caller still gets its own answer, with the same meaning as
    one statement of its own.
    """

    def __init__(self, pool: Any, *, timeout_s: float | None = None, max_batch: int = 256,
                 max_in_flight: int = 2) -> None:
        self._pool = pool
        self._timeout = timeout_s
        self._seen: Batcher[_Key, str | None] = Batcher(
            self._seen_batch, max_batch=max_batch, max_in_flight=max_in_flight)
        self._inserts: Batcher[WebhookRecord, None] = Batcher(
            self._insert_batch, max_batch=max_batch, max_in_flight=max_in_flight)

    async def seen_webhook(self, provider: str, provider_event_id: str) -> str | None:
        """The event id of an earlier delivery of this provider event, counting this one."""
        return await self._seen.submit((provider, provider_event_id))

    async def record_webhook(self, rec: WebhookRecord) -> None:
        """Keep a delivery the broker acknowledged; a redelivery counts one more delivery."""
        await self._inserts.submit(rec)

    async def drain(self) -> None:
        """Wait for every submitted lookup and insert to finish (before the pool closes)."""
        await self._seen.drain()
        await self._inserts.drain()

    async def _seen_batch(self, keys: Sequence[_Key]) -> list[str | None | BaseException]:
        counts = Counter(keys)
        try:
            found = await self._seen_rows(sorted(counts.items()))
        except _DB_ERRORS as exc:
            if not _per_item_may_help(exc, len(counts)):
                return [_unavailable("webhook_events lookup", exc) for _ in keys]
            # One bad key (or a deadlock) must not fail its neighbours: each on its own.
            found, failed = {}, {}
            for key, n in sorted(counts.items()):
                try:
                    found.update(await self._seen_rows([(key, n)]))
                except _DB_ERRORS as one:
                    failed[key] = one
            return [_unavailable("webhook_events lookup", failed[k]) if k in failed
                    else found.get(k) for k in keys]
        return [found.get(k) for k in keys]

    async def _seen_rows(self, counted: list[tuple[_Key, int]]) -> dict[_Key, str]:
        rows = await self._pool.fetch(
            _SEEN, [k[0] for k, _ in counted], [k[1] for k, _ in counted],
            [n for _, n in counted], timeout=self._timeout)
        return {(r["provider"], r["provider_event_id"]): str(r["event_id"]) for r in rows}

    async def _insert_batch(self, recs: Sequence[WebhookRecord]) -> list[None | BaseException]:
        # Key order: two batches lock shared rows in the same order (no deadlock between them).
        order = sorted(range(len(recs)), key=lambda i: (recs[i].provider, recs[i].provider_event_id))
        try:
            await self._pool.executemany(_INSERT, [_insert_args(recs[i]) for i in order],
                                         timeout=self._timeout)
        except _DB_ERRORS as exc:
            if not _per_item_may_help(exc, len(recs)):
                return [_unavailable("webhook_events insert", exc) for _ in recs]
            # executemany is atomic: nothing of the batch was written; now each on its own.
            answers: list[None | BaseException] = [None] * len(recs)
            for i in order:
                try:
                    await self._pool.execute(_INSERT, *_insert_args(recs[i]), timeout=self._timeout)
                except _DB_ERRORS as one:
                    answers[i] = _unavailable("webhook_events insert", one)
            return answers
        return [None] * len(recs)

    async def reserve_publish(
        self, key_id: str, idem_key: str, request_sha256: str, event_ids: Sequence[str],
        event_time: datetime,
    ) -> PublishRecord | None:
        """Reserve an Idempotency-Key; None if reserved now, else the earlier record."""
        try:
            async with self._pool.acquire() as conn:
                inserted = await conn.fetchval(
                    "INSERT INTO publish_requests (key_id, idempotency_key, request_sha256,"
                    " event_ids, event_time) VALUES ($1,$2,$3,$4,$5)"
                    " ON CONFLICT DO NOTHING RETURNING true",
                    key_id, idem_key, request_sha256, list(event_ids), event_time,
                )
                if inserted:
                    return None
                row = await conn.fetchrow(
                    "SELECT request_sha256, event_ids, event_time, response, status_code"
                    " FROM publish_requests WHERE key_id = $1 AND idempotency_key = $2",
                    key_id, idem_key,
                )
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(f"publish_requests reserve failed: {exc}") from None
        return PublishRecord(
            request_sha256=row["request_sha256"],
            event_ids=tuple(str(e) for e in row["event_ids"]),
            event_time=row["event_time"],
            response=orjson.loads(row["response"]) if row["response"] else None,
            status_code=row["status_code"],
        )

    async def complete_publish(
        self, key_id: str, idem_key: str, status_code: int, response: dict[str, Any]
    ) -> None:
        try:
            await self._pool.execute(
                "UPDATE publish_requests SET response = $3, status_code = $4, completed_at = now()"
                " WHERE key_id = $1 AND idempotency_key = $2",
                key_id, idem_key, orjson.dumps(response).decode(), status_code,
            )
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(f"publish_requests update failed: {exc}") from None


def _insert_args(rec: WebhookRecord) -> tuple[Any, ...]:
    return (rec.event_id, rec.endpoint, rec.provider, rec.provider_event_id,
            rec.provider_event_type, rec.payload_sha256, rec.mapped, list(rec.mapped_types),
            rec.topic, rec.partition, rec.offset, rec.received_at, rec.processed_at)


def _per_item_may_help(exc: BaseException, items: int) -> bool:
    """A statement error (bad value, deadlock) may be one item's; a lost server is everyone's."""
    return (items > 1 and isinstance(exc, asyncpg.PostgresError)
            and not isinstance(exc, asyncpg.PostgresConnectionError))


def _unavailable(what: str, exc: BaseException) -> DatabaseUnavailable:
    return DatabaseUnavailable(f"{what} failed: {exc}")
