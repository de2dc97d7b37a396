"""Reading an integration's `options = {...}` table: adapters check theirs when built, so a
worker with a missing or mistyped option does not start (ConfigError naming the key)."""
from __future__ import annotations

from collections.abc import Mapping

from hub.errors import ConfigError
from hub.routing import IntegrationConfig

__all__ = ["optional_seconds", "optional_str", "required_str", "str_table"]


def _at(config: IntegrationConfig, key: str) -> str:
    return f"integrations.{config.name}.options.{key}"


def optional_str(config: IntegrationConfig, key: str) -> str | None:
    """The option `key` as a non-empty string, or None when absent."""
    value = config.options.get(key)
    if value is None:
        return None
    if not isinstance(value, str) or not value.strip():
        raise ConfigError(f"{_at(config, key)}: expected a non-empty string, got {value!r}")
    return value


def required_str(config: IntegrationConfig, key: str, what: str) -> str:
    """The option `key`; ConfigError saying what to set when it is missing."""
    value = optional_str(config, key)
    if value is None:
        raise ConfigError(f"{_at(config, key)}: missing; {config.kind} integrations need "
                          f"{what} (options = {{ {key} = \"...\" }})")
    return value


def optional_seconds(config: IntegrationConfig, key: str, default: float) -> float:
    """The option `key` as a number of seconds >= 0, or `default` when absent."""
    value = config.options.get(key, default)
    if isinstance(value, bool) or not isinstance(value, int | float) or value < 0:
        raise ConfigError(f"{_at(config, key)}: expected a number of seconds >= 0, got {value!r}")
    return float(value)


def str_table(config: IntegrationConfig, key: str) -> Mapping[str, str]:
    """The option `key` as a table of strings (empty when absent)."""
    value = config.options.get(key, {})
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in value.items()):
        raise ConfigError(f"{_at(config, key)}: expected a table of strings, got {value!r}")
    return value
