"""`hub schemas list|check`: what is in `schemas/`, and whether each version reads earlier ones."""
from __future__ import annotations

import argparse
import json
from pathlib import Path
from typing import Any

from hub.compat import check_backward_transitive
from hub.schemastore import DEFAULT_DIR, SchemaStore

__all__ = ["register"]


def register(subparsers: Any) -> None:
    """Add `schemas list [--json] [--dir DIR]` and `schemas check [--dir DIR]`."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "schemas", help="list the Avro schemas and check their compatibility",
        description="The Avro schemas under schemas/, one per event type and version.",
    )
    parser.set_defaults(func=lambda _args: _usage(parser))
    actions = parser.add_subparsers(dest="schemas_command", metavar="ACTION")

    list_ = actions.add_parser("list", help="type, version, record name, fingerprint and file")
    list_.add_argument("--json", action="store_true", help="print a JSON array instead of a table")
    _dir_option(list_)
    list_.set_defaults(func=_list)

    check = actions.add_parser(
        "check", help="prove BACKWARD_TRANSITIVE: each version reads data of every earlier one"
    )
    _dir_option(check)
    check.set_defaults(func=_check)


def _dir_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--dir", type=Path, default=DEFAULT_DIR, metavar="DIR",
        help=f"schema folder (default: {DEFAULT_DIR})",
    )


def _usage(parser: argparse.ArgumentParser) -> int:
    parser.print_help()
    return 2


def _list(args: argparse.Namespace) -> int:
    store = SchemaStore.load(args.dir)
    if args.json:
        rows = [
            {"type": i.type, "version": i.version, "name": i.name,
             "fingerprint": i.fingerprint_hex, "file": str(i.path)}
            for i in store
        ]
        print(json.dumps(rows, indent=2))
        return 0
    table = [("TYPE", "VERSION", "RECORD", "FINGERPRINT", "FILE")]
    table += [(i.type, str(i.version), i.name, i.fingerprint_hex, i.path.name) for i in store]
    widths = [max(len(row[c]) for row in table) for c in range(len(table[0]))]
    for row in table:
        print("  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=True)).rstrip())
    return 0


def _check(args: argparse.Namespace) -> int:
    store = SchemaStore.load(args.dir)
    problems = check_backward_transitive(store)
    for p in problems:
        print(p)
    summary = f"{len(store.types())} types, {len(store)} versions"
    if problems:
        print(f"{summary}: BACKWARD_TRANSITIVE broken ({len(problems)} incompatibilities)")
        return 1
    print(f"{summary}: BACKWARD_TRANSITIVE holds")
    return 0
