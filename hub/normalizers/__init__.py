"""Provider normalizers: what a verified webhook delivery means in hub's domain events.

Pure functions, standard library and orjson only. `normalize` tells the ingress the
provider's event id (for the deterministic event id: a redelivery gives the same id),
the provider's event type, and zero or more domain events whose `data` holds exactly
the fields of that type's Avro `data` record. A malformed body never raises: it yields
no events and an `unmapped_reason`, and the delivery is kept raw.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from hub.normalizers._base import Delivery, DomainEvent, Normalized
from hub.normalizers.money import to_minor_units
from hub.normalizers.shopify import normalize_shopify
from hub.normalizers.standard_webhooks import ACCEPTED_TYPES, normalize_standard_webhooks
from hub.normalizers.stripe import normalize_stripe
from hub.normalizers.twilio import normalize_twilio
from hub.normalizers.unmapped import normalize_generic, normalize_github, normalize_slack

__all__ = [
    "ACCEPTED_TYPES", "NORMALIZERS", "DomainEvent", "Normalized", "normalize", "to_minor_units",
]

log = logging.getLogger(__name__)

_BY_NAME: dict[str, Callable[[Delivery], Normalized]] = {
    "stripe": normalize_stripe,
    "github": normalize_github,
    "standard-webhooks": normalize_standard_webhooks,
    "twilio": normalize_twilio,
    "shopify": normalize_shopify,
    "slack": normalize_slack,
    "generic": normalize_generic,
}
NORMALIZERS: tuple[str, ...] = tuple(_BY_NAME)


def normalize(
    normalizer: str,
    *,
    headers: Mapping[str, str],
    body: bytes,
    content_type: str | None,
    received_at: datetime | None = None,
) -> Normalized:
    """What one verified delivery means. Header names are matched case-insensitively.

    `received_at` (aware) is the occurrence time for providers that send none (Twilio
    status callbacks); None means now. Raises ValueError only for a caller's mistake: an
    unknown `normalizer` name or a naive `received_at`; never for anything in the delivery.
    """
    to_normalized = _BY_NAME.get(normalizer)
    if to_normalized is None:
        raise ValueError(f"unknown normalizer {normalizer!r}; known: {', '.join(NORMALIZERS)}")
    if received_at is None:
        received_at = datetime.now(UTC)
    elif received_at.tzinfo is None:
        raise ValueError(f"received_at {received_at.isoformat()} must be timezone-aware")
    delivery = Delivery(
        headers={str(k).lower(): str(v) for k, v in headers.items()},
        body=bytes(body),
        content_type=content_type,
        received_at=received_at.astimezone(UTC),
    )
    try:
        return to_normalized(delivery)
    except Exception as exc:
        # A bug here must not turn a verified delivery into a 5xx the provider retries
        # forever: keep it raw, and say so in the log.
        log.exception("normalizer %s failed on a delivery", normalizer)
        return Normalized(delivery.body_id, None, (),
                          f"normalizer {normalizer} failed: {type(exc).__name__}")
