"""`hub demo`: send a demo flow through the running local stack."""
from __future__ import annotations

import argparse
import asyncio

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    demo = sub.add_parser("demo", help="send signed webhooks and published events; show where they landed")
    demo.set_defaults(func=_demo)


def _demo(args: argparse.Namespace) -> int:
    from hub.demo import run_demo

    return asyncio.run(run_demo())
