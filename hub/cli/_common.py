"""What the operator commands (`lag`, `dlq`, `replay`) share: where Kafka is, tables, JSON."""
from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, TypeVar

from hub.config import Settings
from hub.errors import CliError, ConfigError, HubError
from hub.jsonout import dumps

__all__ = ["dumps", "kafka_bootstrap", "one_line_errors", "table", "when"]

F = TypeVar("F", bound=Callable[..., int])


def one_line_errors(func: F) -> F:
    """hub's own errors (broker down, topic missing, database unreachable) become one
    line on stderr and exit code 1, not a traceback."""
    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> int:
        try:
            return func(*args, **kwargs)
        except (CliError, ConfigError):
            raise
        except HubError as exc:
            raise CliError(str(exc)) from None
    return wrapper  # type: ignore[return-value]


def kafka_bootstrap(settings: Settings) -> str:
    """HUB_KAFKA_BOOTSTRAP alone is enough (any cluster, no database); else the local stack's,
    waiting up to 10 s for the broker to answer."""
    from hub.admin import wait_for_broker
    from hub.devstack.state import StackState

    bootstrap = settings.kafka_bootstrap
    if bootstrap is None:
        port = StackState.load(settings.state_dir).kafka_port
        if not port:
            raise CliError("no Kafka configured: set HUB_KAFKA_BOOTSTRAP, or run `hub dev up`", 2)
        bootstrap = f"127.0.0.1:{port}"
    wait_for_broker(bootstrap, timeout=10)
    return bootstrap


def when(value: str, now: datetime, flag: str) -> datetime:
    """A time option parsed, or CliError (exit 2) naming the flag."""
    from hub.times import parse_time

    try:
        return parse_time(value, now)
    except ValueError as exc:
        raise CliError(f"{flag} {exc}", 2) from None


def table(header: Sequence[str], rows: Sequence[Sequence[str]], right: Sequence[int] = ()) -> str:
    """Columns padded to their widest cell; columns in `right` aligned right."""
    widths = [max(len(str(r[c])) for r in [header, *rows]) for c in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [str(v).rjust(w) if i in right else str(v).ljust(w)
                 for i, (v, w) in enumerate(zip(row, widths, strict=True))]
        lines.append("  ".join(cells).rstrip())
    return "\n".join(lines)
