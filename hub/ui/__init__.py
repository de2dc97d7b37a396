"""The operator page (`/ui`) and the ingress's operations monitor: consumer lag, dead
letters, reconciliation drift and provider health, refreshed in the background."""
from __future__ import annotations

from hub.ui.actions import Operations, operations
from hub.ui.monitor import Monitor, Snapshot

__all__ = ["Monitor", "Operations", "Snapshot", "operations"]
