"""The `hub` command line. Each command group lives in its own module with `register()`."""
from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from hub.errors import CliError, ConfigError

__all__ = ["main"]

# Modules under hub.cli, each exposing `register(subparsers) -> None`; every parser
# it adds sets `func=callable(args) -> int` as its default.
_COMMAND_MODULES = (
    "dev",
    "serve",
    "keys",
    "topics",
    "tail",
    "schemas",
    "demo",
    "consume",
    "lag",
    "dlq",
    "replay",
    "projections",
    "reconcile",
    "audit",
    "imports",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="hub", description="hub: event-sourced integration hub")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name in _COMMAND_MODULES:
        module = importlib.import_module(f"hub.cli.{name}")
        module.register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    func = getattr(args, "func", None)
    if func is None:
        parser.print_help()
        return 2
    try:
        return int(func(args))
    except KeyboardInterrupt:
        return 130
    except CliError as exc:
        print(f"hub: {exc}", file=sys.stderr)
        return exc.exit_code
    except ConfigError as exc:
        print(f"hub: configuration error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
