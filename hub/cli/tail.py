"""`hub tail TOPIC`: decoded events as they arrive."""
from __future__ import annotations

import argparse
import base64
import signal
import sys
import time
import uuid
from datetime import UTC, datetime
from typing import Any

import orjson

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    tail = sub.add_parser("tail", help="print decoded events of a topic as they arrive")
    tail.add_argument("topic")
    tail.add_argument("--from-beginning", action="store_true", help="start at the oldest record")
    tail.add_argument("--json", action="store_true", help="one JSON object per line")
    tail.add_argument("--max", type=int, default=0, help="stop after N records")
    tail.add_argument("--idle-timeout", type=float, default=0.0,
                      help="stop after S seconds without a record (default: never)")
    tail.set_defaults(func=_tail)


def _json_default(value: Any) -> Any:
    if isinstance(value, bytes):
        return base64.b64encode(value).decode()
    if isinstance(value, datetime):
        return value.astimezone(UTC).isoformat().replace("+00:00", "Z")
    raise TypeError


def _tail(args: argparse.Namespace) -> int:
    from confluent_kafka import OFFSET_BEGINNING, OFFSET_END, Consumer, KafkaError

    from hub import codec
    from hub.admin import wait_for_broker
    from hub.config import Settings
    from hub.devstack.state import resolve_servers
    from hub.errors import CliError
    from hub.schemastore import SchemaStore

    settings = Settings.from_env()
    bootstrap = resolve_servers(settings).kafka_bootstrap
    wait_for_broker(bootstrap, timeout=10)
    store = SchemaStore.load()
    consumer = Consumer({
        "bootstrap.servers": bootstrap,
        "group.id": f"hub-tail-{uuid.uuid4().hex[:8]}",
        "enable.auto.commit": False,
        "enable.partition.eof": False,
    })
    md = consumer.list_topics(args.topic, timeout=10)
    if args.topic not in md.topics or md.topics[args.topic].error is not None:
        consumer.close()
        raise CliError(f"topic {args.topic!r} does not exist (see `hub topics`)")
    start = OFFSET_BEGINNING if args.from_beginning else OFFSET_END

    def on_assign(c: Any, parts: list[Any]) -> None:
        for p in parts:
            p.offset = start
        c.assign(parts)

    consumer.subscribe([args.topic], on_assign=on_assign)
    stopping = False

    def stop(*_: object) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGTERM, stop)
    seen = 0
    last = time.monotonic()
    try:
        while not stopping:
            msg = consumer.poll(0.5)
            if msg is None:
                if args.idle_timeout and time.monotonic() - last > args.idle_timeout:
                    break
                continue
            error = msg.error()
            if error is not None:
                if error.code() != KafkaError._PARTITION_EOF:
                    print(f"hub: {error.str()}", file=sys.stderr)
                continue
            last = time.monotonic()
            _print(store, codec, msg, as_json=args.json)
            seen += 1
            if args.max and seen >= args.max:
                break
    except KeyboardInterrupt:
        pass
    finally:
        consumer.close()
    return 0


def _print(store: Any, codec: Any, msg: Any, *, as_json: bool) -> None:
    where = {"topic": msg.topic(), "partition": msg.partition(), "offset": msg.offset()}
    try:
        event = codec.decode(store, msg.value(), topic=msg.topic(), partition=msg.partition(),
                             offset=msg.offset())
    except codec.DecodeError as exc:
        if as_json:
            print(orjson.dumps({**where, "error": str(exc)}).decode(), flush=True)
        else:
            print(f"{msg.topic()}[{msg.partition()}]@{msg.offset()}  UNDECODABLE  {exc}", flush=True)
        return
    if as_json:
        print(orjson.dumps({**where, **event.envelope_dict()}, default=_json_default).decode(),
              flush=True)
        return
    data = orjson.dumps(event.data, default=_json_default).decode()
    if len(data) > 160:
        data = data[:157] + "..."
    print(f"{msg.topic()}[{msg.partition()}]@{msg.offset()}  {event.type} v{event.schema_version}"
          f"  id={event.id}  subject={event.subject}  {data}", flush=True)
