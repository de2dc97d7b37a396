"""`hub dev up|down|status`: the local stack."""
from __future__ import annotations

import argparse
import json

from hub.config import Settings

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    dev = sub.add_parser("dev", help="the local stack: Kafka, PostgreSQL, ingress")
    dsub = dev.add_subparsers(dest="dev_command", metavar="ACTION", required=True)
    up = dsub.add_parser("up", help="start everything (idempotent)")
    up.add_argument("--no-ingress", action="store_true", help="servers only, no ingress")
    up.set_defaults(func=_up)
    down = dsub.add_parser("down", help="stop what `up` started")
    down.set_defaults(func=_down)
    status = dsub.add_parser("status", help="addresses and health of each part")
    status.add_argument("--json", action="store_true")
    status.set_defaults(func=_status)


def _up(args: argparse.Namespace) -> int:
    from hub.devstack.stack import DevStack

    stack = DevStack(Settings.from_env())
    stack.up(ingress=not args.no_ingress)
    return _print_status(stack.status(), as_json=False)


def _down(args: argparse.Namespace) -> int:
    from hub.devstack.stack import DevStack

    DevStack(Settings.from_env()).down()
    return 0


def _status(args: argparse.Namespace) -> int:
    from hub.devstack.stack import DevStack

    return _print_status(DevStack(Settings.from_env()).status(), as_json=args.json)


def _print_status(report: dict[str, object], *, as_json: bool) -> int:
    if as_json:
        print(json.dumps(report, indent=2))
    else:
        parts = report["parts"]
        assert isinstance(parts, dict)
        mark = {True: "ok", False: "DOWN"}
        print(f"kafka      {report['kafka_bootstrap']}  [{mark[parts.get('kafka', False)]}]")
        print(f"postgres   {report['database_url']}  [{mark[parts.get('postgres', False)]}]")
        print(f"ingress    {report['ingress_url']}  [{mark[parts.get('ingress', False)]}]")
        print(f"config     {report['config']}")
        endpoints = report["endpoints"]
        assert isinstance(endpoints, dict)
        for name, ep in endpoints.items():
            print(f"endpoint   {name:<18} {ep['scheme']:<18} {ep['url']}")
        if report.get("ui_url"):
            print(f"ui         {report['ui_url']}  (token: [ingress] admin_token in the config)")
        print(f"healthy    {report['healthy']}")
    return 0 if report["healthy"] else 1
