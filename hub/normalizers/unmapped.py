"""Providers kept raw (GitHub, Slack, anything generic): an id and a type, no domain events."""
from __future__ import annotations

from typing import Any

import orjson

from hub.normalizers._base import Delivery, Normalized, Unmapped, no_mapping, provider_id

__all__ = ["normalize_generic", "normalize_github", "normalize_slack"]


def normalize_github(delivery: Delivery) -> Normalized:
    """Id from `X-GitHub-Delivery` (kept on redelivery), type from `X-GitHub-Event`."""
    event_id = delivery.header("x-github-delivery") or delivery.body_id
    return no_mapping("github", event_id, delivery.header("x-github-event"))


def normalize_slack(delivery: Delivery) -> Normalized:
    """Events API: id `event_id`, type the inner `event.type` (else the body's `type`).

    Interactivity (`payload=<json>`) and slash commands arrive form-encoded and carry no
    event id; they are identified by the body hash.
    """
    body: dict[str, Any] | None = None
    try:
        if delivery.is_form:
            form = delivery.form()
            payload = form.get("payload")
            if payload is None:
                return no_mapping("slack", delivery.body_id,
                                  "slash_command" if "command" in form else None)
            body = orjson.loads(payload)
        else:
            body = delivery.json_object()
    except (Unmapped, orjson.JSONDecodeError):
        pass
    if not isinstance(body, dict):
        return no_mapping("slack", delivery.body_id, None)
    event = body.get("event")
    inner = event.get("type") if isinstance(event, dict) else None
    outer = body.get("type")
    event_type = provider_id(inner) if outer == "event_callback" else None
    return no_mapping("slack", provider_id(body.get("event_id")) or delivery.body_id,
                      event_type or provider_id(outer))


def normalize_generic(delivery: Delivery) -> Normalized:
    """Id from `Idempotency-Key` or `webhook-id`, else the body hash; no type."""
    event_id = delivery.header("idempotency-key", "webhook-id") or delivery.body_id
    return no_mapping("generic", event_id, None)
