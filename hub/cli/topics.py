"""`hub topics` (list with partitions and end offsets) and `hub topics create`."""
from __future__ import annotations

import argparse
import json

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    topics = sub.add_parser("topics", help="list topics with partitions and end offsets")
    topics.add_argument("--json", action="store_true")
    topics.add_argument("--all", action="store_true", help="include Kafka's internal topics")
    topics.set_defaults(func=_list)
    tsub = topics.add_subparsers(dest="topics_command", metavar="ACTION")
    create = tsub.add_parser("create", help="create hub's topics if missing")
    create.set_defaults(func=_create)


def _servers() -> tuple[str, str]:
    from hub.config import Settings
    from hub.devstack.state import resolve_servers

    settings = Settings.from_env()
    return resolve_servers(settings).kafka_bootstrap, settings.topic_prefix


def _list(args: argparse.Namespace) -> int:
    from hub.admin import list_topics, wait_for_broker

    bootstrap, _ = _servers()
    wait_for_broker(bootstrap, timeout=10)
    infos = list_topics(bootstrap, include_internal=args.all)
    if args.json:
        print(json.dumps([{"topic": t.name, "partitions": t.partitions,
                           "end_offsets": list(t.end_offsets), "messages": t.messages}
                          for t in infos], indent=2))
        return 0
    width = max([len(t.name) for t in infos] + [5]) + 2
    print(f"{'TOPIC':<{width}}{'PARTITIONS':>10}{'MESSAGES':>12}  END OFFSETS")
    for t in infos:
        ends = " ".join(str(e) for e in t.end_offsets)
        print(f"{t.name:<{width}}{t.partitions:>10}{t.messages:>12}  {ends}")
    return 0


def _create(args: argparse.Namespace) -> int:
    from hub.admin import ensure_topics, wait_for_broker
    from hub.config import Settings, load_config
    from hub.topics import Topics

    settings = Settings.from_env()
    config = load_config(settings.config_path, settings.env)
    bootstrap, prefix = _servers()
    wait_for_broker(bootstrap, timeout=30)
    created = ensure_topics(bootstrap, Topics(prefix).core(), partitions=config.partitions,
                            replication_factor=config.replication_factor)
    print("\n".join(f"created {n}" for n in created) or "all topics exist")
    return 0
