"""The ingress: verified provider webhooks and the publish API, written to Kafka."""
from __future__ import annotations

from hub.ingress.app import IngressDeps, build_app

__all__ = ["IngressDeps", "build_app"]
