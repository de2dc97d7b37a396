"""Where the servers are: the environment first, else the local stack's state file."""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from hub.config import Settings
from hub.errors import ConfigError

__all__ = ["Servers", "StackState", "resolve_servers"]


@dataclass
class StackState:
    """Ports and pids of the local stack, kept in `<state>/stack.json` across restarts."""

    kafka_port: int = 0
    controller_port: int = 0
    postgres_port: int = 0
    ingress_port: int = 0
    simulators_port: int = 0
    workers_metrics_port: int = 0
    pids: dict[str, int] = field(default_factory=dict)

    @classmethod
    def load(cls, state_dir: Path) -> StackState:
        path = state_dir / "stack.json"
        try:
            raw: dict[str, Any] = json.loads(path.read_text())
        except FileNotFoundError:
            return cls()
        except ValueError as exc:
            raise ConfigError(f"{path}: unreadable ({exc}); remove it and run `hub dev up`") from None
        known = {k: v for k, v in raw.items() if k in cls.__dataclass_fields__}
        return cls(**known)

    def save(self, state_dir: Path) -> None:
        state_dir.mkdir(parents=True, exist_ok=True)
        (state_dir / "stack.json").write_text(json.dumps(asdict(self), indent=2) + "\n")


@dataclass(frozen=True)
class Servers:
    kafka_bootstrap: str
    database_url: str


def resolve_servers(settings: Settings) -> Servers:
    """HUB_KAFKA_BOOTSTRAP / HUB_DATABASE_URL, else the servers `hub dev up` started."""
    state = StackState.load(settings.state_dir)
    bootstrap = settings.kafka_bootstrap
    if bootstrap is None:
        if not state.kafka_port:
            raise ConfigError("no Kafka configured: set HUB_KAFKA_BOOTSTRAP, or run `hub dev up`")
        bootstrap = f"127.0.0.1:{state.kafka_port}"
    url = settings.database_url
    if url is None:
        if not state.postgres_port:
            raise ConfigError("no database configured: set HUB_DATABASE_URL, or run `hub dev up`")
        from hub.devstack.postgres import DB_NAME, DB_USER

        url = f"postgresql://{DB_USER}@127.0.0.1:{state.postgres_port}/{DB_NAME}"
    return Servers(bootstrap, url)
