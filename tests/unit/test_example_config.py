"""The shipped example config parses, so compose users start with a valid file."""
from __future__ import annotations

from pathlib import Path

import pytest

from hub.config import load_config
from hub.errors import ConfigError

ROOT = Path(__file__).resolve().parents[2]
ENV = {"STRIPE_WEBHOOK_SECRET": "whsec_x", "TWILIO_AUTH_TOKEN": "t", "GITHUB_WEBHOOK_SECRET": "g"}


@pytest.mark.unit
def test_example_config_parses() -> None:
    config = load_config(ROOT / "hub.example.toml", ENV)
    assert sorted(config.endpoints) == ["github", "stripe", "twilio"]
    assert config.endpoints["stripe"].secrets == ("whsec_x",)
    assert (config.ingress.host, config.ingress.port) == ("0.0.0.0", 8080)  # noqa: S104 - the container listens on all interfaces


@pytest.mark.unit
def test_missing_secret_names_the_variable_and_line() -> None:
    env = {k: v for k, v in ENV.items() if k != "TWILIO_AUTH_TOKEN"}
    with pytest.raises(ConfigError) as exc:
        load_config(ROOT / "hub.example.toml", env)
    assert str(exc.value) == (
        f"{ROOT / 'hub.example.toml'}:24: endpoints.twilio.secrets: "
        "environment variable TWILIO_AUTH_TOKEN is not set or empty")
