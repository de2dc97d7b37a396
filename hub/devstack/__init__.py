"""The local stack: a real Kafka broker, a private PostgreSQL cluster and hub's own processes."""
from __future__ import annotations

from hub.devstack.kafka import LocalKafka
from hub.devstack.postgres import LocalPostgres

__all__ = ["LocalKafka", "LocalPostgres"]
