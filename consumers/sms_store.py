"""The SMS integration's rows in `sms_messages`: reserve before a send, record after it,
and move a sent message's delivery status forward (never back)."""
from __future__ import annotations

from typing import Any

import orjson

from consumers.ports import Effect
from consumers.redact import redact
from hub.envelope import Event

__all__ = ["known_message", "mark_resend", "record_send", "reserve", "send_age", "update_status"]

# Delivery statuses in the order they happen; a late "sent" never overwrites "delivered".
_RANK = {"queued": 1, "sent": 2, "delivered": 3, "undelivered": 3, "failed": 3}


async def reserve(pool: Any, integration: str, event: Event, reference: str) -> bool:
    """Reserve the send of `event` before calling the provider (committed at once).

    True when this call made the reservation, i.e. no earlier attempt can have sent it;
    False when an earlier attempt reserved it (then ask the provider before sending). A
    dead-lettered row (a redrive) is reserved again, and reports False too.
    """
    d = event.data
    row = await pool.fetchrow(
        "INSERT INTO sms_messages (integration, event_id, to_number, template, payload,"
        " client_reference, status) VALUES ($1, $2, $3, $4, $5::jsonb, $6, 'reserved')"
        " ON CONFLICT (integration, event_id) DO UPDATE SET status = 'reserved', updated_at = now()"
        " WHERE sms_messages.status = 'dead_lettered' RETURNING (xmax = 0) AS fresh",
        integration, event.id, d["to"], d.get("template"),
        orjson.dumps(redact(dict(d))).decode(), reference)
    return bool(row is not None and row["fresh"])


async def send_age(pool: Any, integration: str, event_id: str) -> float | None:
    """Seconds since the latest send of `event_id` may have begun (its reservation or its
    latest `mark_resend`) while the send is still reserved; None when it is not."""
    value = await pool.fetchval(
        "SELECT EXTRACT(EPOCH FROM clock_timestamp() - updated_at) FROM sms_messages"
        " WHERE integration = $1 AND event_id = $2 AND status = 'reserved'", integration, event_id)
    return None if value is None else float(value)


async def mark_resend(pool: Any, integration: str, event_id: str) -> None:
    """Note that a send of the reserved `event_id` begins now (see `send_age`)."""
    await pool.execute(
        "UPDATE sms_messages SET updated_at = now() WHERE integration = $1 AND event_id = $2"
        " AND status = 'reserved'", integration, event_id)


async def record_send(conn: Any, integration: str, event: Event, reference: str,
                      effect: Effect) -> None:
    """The send's outcome (sent, or dead-lettered) on its reserved or dead-lettered row."""
    d = event.data
    response = effect.response if isinstance(effect.response, dict) else {}
    await conn.execute(
        "INSERT INTO sms_messages (integration, event_id, to_number, template, payload,"
        " client_reference, provider_message_id, status, error_code, request, response, sent_at)"
        " VALUES ($1, $2, $3, $4, $5::jsonb, $6, $7, $8, $9, $10::jsonb, $11::jsonb,"
        " CASE WHEN $12 THEN now() END)"
        " ON CONFLICT (integration, event_id) DO UPDATE SET"
        " provider_message_id = EXCLUDED.provider_message_id, status = EXCLUDED.status,"
        " error_code = EXCLUDED.error_code, request = EXCLUDED.request,"
        " response = EXCLUDED.response, sent_at = EXCLUDED.sent_at, updated_at = now()"
        " WHERE sms_messages.status IN ('reserved', 'dead_lettered')",
        integration, event.id, d["to"], d.get("template"), orjson.dumps(redact(dict(d))).decode(),
        reference, effect.provider_reference, effect.status,
        _text(response.get("error_code") or response.get("code")), orjson.dumps(effect.request).decode(),
        orjson.dumps(effect.response).decode(), effect.ok)


async def known_message(pool: Any, integration: str, message_id: str) -> bool:
    """Whether a send with this provider message id has been recorded."""
    found = await pool.fetchval(
        "SELECT true FROM sms_messages WHERE integration = $1 AND provider_message_id = $2",
        integration, message_id)
    return bool(found)


async def update_status(conn: Any, integration: str, message_id: str, status: str,
                        error_code: str | None) -> None:
    """Move the message to `status` unless it already reached that stage or a later one."""
    rank = _RANK.get(status, 0)
    not_before = [s for s, r in _RANK.items() if r >= rank]
    await conn.execute(
        "UPDATE sms_messages SET status = $3, error_code = COALESCE($4, error_code),"
        " updated_at = now() WHERE integration = $1 AND provider_message_id = $2"
        " AND status <> ALL($5::text[])",
        integration, message_id, status, error_code, not_before)


def _text(value: Any) -> str | None:
    return None if value is None else str(value)
