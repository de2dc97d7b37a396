"""Twilio Messaging status callbacks (form-encoded: MessageSid, MessageStatus, To, ...)."""
from __future__ import annotations

from hub.normalizers._base import (
    Delivery,
    DomainEvent,
    Normalized,
    Unmapped,
    opt_text,
    provider_id,
    result,
    text,
)

__all__ = ["normalize_twilio"]

# Twilio's message statuses as hub's five (queued, sent, delivered, undelivered, failed).
# "sending" is still on Twilio's side; "read" (WhatsApp) implies delivered; a cancelled
# scheduled message never reaches the phone.
_STATUSES = {
    "accepted": "queued", "scheduled": "queued", "queued": "queued", "sending": "queued",
    "sent": "sent", "delivered": "delivered", "read": "delivered",
    "undelivered": "undelivered", "failed": "failed", "canceled": "failed",
}
_INBOUND = frozenset({"receiving", "received"})


def normalize_twilio(delivery: Delivery) -> Normalized:
    """One `sms.delivery_status` per status transition; inbound messages stay unmapped.

    Status callbacks carry no event id: `MessageSid:MessageStatus` names the transition,
    so a redelivered callback gets the same id and the next status a new one.
    """
    fallback_id = delivery.header("i-twilio-idempotency-token") or delivery.body_id
    try:
        form = delivery.form()
    except Unmapped as exc:
        return Normalized(fallback_id, None, (), exc.reason)
    sid = provider_id(form.get("MessageSid"))
    status = provider_id(form.get("MessageStatus"))
    event_id = f"{sid}:{status}" if sid and status else sid or fallback_id
    event_type = status or provider_id(form.get("SmsStatus"))

    def mapper() -> tuple[DomainEvent, ...]:
        message_id = text(form, "MessageSid", "MessageSid")
        if status is None or status in _INBOUND:
            raise Unmapped("no MessageStatus: inbound twilio messages are not mapped")
        hub_status = _STATUSES.get(status)
        if hub_status is None:
            raise Unmapped(f"twilio MessageStatus {status!r} has no hub delivery status")
        to = opt_text(form, "To", "To")
        data = {
            "provider": "twilio",
            "message_id": message_id,
            "client_reference": opt_text(form, "ClientReference", "ClientReference"),
            "to": to,
            "status": hub_status,
            "error_code": opt_text(form, "ErrorCode", "ErrorCode"),
            "occurred_at": delivery.received_at,
        }
        return (DomainEvent("sms.delivery_status", to or message_id, data),)

    return result(event_id, event_type, mapper)
