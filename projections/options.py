"""The `[projections]` section of hub.toml, read without the rest of the file's secrets.

    [projections.reconciliation]
    stale_after_days = 30                    # pending longer than this ⇒ stale
    accounting_integrations = ["xero"]       # added to kind = "accounting" integrations
"""
from __future__ import annotations

import tomllib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

from hub.errors import ConfigError
from projections.reconciliation_rules import ACCOUNTING_INTEGRATIONS

__all__ = ["ProjectionOptions", "read_options"]


@dataclass(frozen=True)
class ProjectionOptions:
    stale_after: timedelta = timedelta(days=30)
    accounting_integrations: frozenset[str] = ACCOUNTING_INTEGRATIONS
    partitions: int = 3
    replication_factor: int = 1

    @classmethod
    def from_raw(cls, raw: Mapping[str, Any], where: str = "config") -> ProjectionOptions:
        """From a parsed config file; ConfigError names the key that is wrong."""
        section = raw.get("projections", {})
        if not isinstance(section, dict):
            raise ConfigError(f"{where}: [projections] must be a table")
        recon = section.get("reconciliation", {})
        if not isinstance(recon, dict):
            raise ConfigError(f"{where}: [projections.reconciliation] must be a table")
        unknown = set(recon) - {"stale_after_days", "accounting_integrations"}
        if unknown:
            raise ConfigError(f"{where}: projections.reconciliation.{sorted(unknown)[0]}: unknown "
                              "key; known: accounting_integrations, stale_after_days")
        days = recon.get("stale_after_days", 30)
        if isinstance(days, bool) or not isinstance(days, int | float) or days <= 0:
            raise ConfigError(f"{where}: projections.reconciliation.stale_after_days: expected "
                              f"a positive number of days, got {days!r}")
        names = recon.get("accounting_integrations", [])
        if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
            raise ConfigError(f"{where}: projections.reconciliation.accounting_integrations: "
                              "expected a list of integration names")
        integrations = raw.get("integrations", {})
        kind_accounting = {n for n, spec in integrations.items()
                           if isinstance(spec, dict) and spec.get("kind") == "accounting"} \
            if isinstance(integrations, dict) else set()
        kafka = raw.get("kafka", {}) if isinstance(raw.get("kafka", {}), dict) else {}
        return cls(
            stale_after=timedelta(days=days),
            accounting_integrations=ACCOUNTING_INTEGRATIONS | kind_accounting | set(names),
            partitions=int(kafka.get("partitions", 3)),
            replication_factor=int(kafka.get("replication_factor", 1)),
        )


def read_options(path: Path) -> ProjectionOptions:
    """Options from the config file at `path`; the defaults when there is no file."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return ProjectionOptions()
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    return ProjectionOptions.from_raw(raw, str(path))
