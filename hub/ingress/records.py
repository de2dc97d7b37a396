"""What the ingress keeps in PostgreSQL: webhook deliveries and publish idempotency."""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from hub.db import DatabaseUnavailable

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


class IngressRecords:
    """The ingress's tables. Database failures surface as DatabaseUnavailable."""

    def __init__(self, pool: Any) -> None:
        self._pool = pool

    async def seen_webhook(self, provider: str, provider_event_id: str) -> str | None:
        """The event id of an earlier delivery of this provider event, counting this one."""
        try:
            row = await self._pool.fetchrow(
                "UPDATE webhook_events SET deliveries = deliveries + 1, last_delivery_at = now()"
                " WHERE provider = $1 AND provider_event_id = $2 RETURNING event_id",
                provider, provider_event_id,
            )
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(f"webhook_events lookup failed: {exc}") from None
        return str(row["event_id"]) if row else None

    async def record_webhook(self, rec: WebhookRecord) -> None:
        try:
            await self._pool.execute(
                "INSERT INTO webhook_events (event_id, endpoint, provider, provider_event_id,"
                " provider_event_type, payload_sha256, mapped, mapped_types, topic,"
                " kafka_partition, kafka_offset, received_at, processed_at, last_delivery_at)"
                " VALUES ($1,$2,$3,$4,$5,$6,$7,$8,$9,$10,$11,$12,$13,$13)"
                " ON CONFLICT (provider, provider_event_id) DO UPDATE"
                " SET deliveries = webhook_events.deliveries + 1, last_delivery_at = now()",
                rec.event_id, rec.endpoint, rec.provider, rec.provider_event_id,
                rec.provider_event_type, rec.payload_sha256, rec.mapped, list(rec.mapped_types),
                rec.topic, rec.partition, rec.offset, rec.received_at, rec.processed_at,
            )
        except _DB_ERRORS as exc:
            raise DatabaseUnavailable(f"webhook_events insert failed: {exc}") from None

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
