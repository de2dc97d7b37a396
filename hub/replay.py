"""`hub replay`: a bounded range of a topic, filtered by event type, into a topic or a file.

Into a topic, each record is re-produced as the same bytes: key, value, headers (so the
event id, `ce_id`, is the same) and its original timestamp, by an idempotent producer,
so per-key order holds. Into a file, one JSON object per line: where the record was,
its timestamp, key and headers (bytes in base64), then the decoded envelope with `data`
(bytes in base64, times in RFC 3339); an undecodable value is written as `value`
(base64) with the `error`.
"""
from __future__ import annotations

import fnmatch
import sys
from dataclasses import dataclass
from typing import IO, Any, Protocol

from confluent_kafka import KafkaError, Producer

from hub import codec
from hub.envelope import Event
from hub.errors import HubError
from hub.jsonout import dumps
from hub.logreader import LogRecord
from hub.producer import producer_config
from hub.schemastore import SchemaStore
from hub.times import from_ms, rfc3339

__all__ = ["FileSink", "Sink", "TopicSink", "TypeFilter", "decode", "json_line"]


def decode(store: SchemaStore, r: LogRecord) -> Event | codec.DecodeError:
    """The record's event, or the DecodeError saying why there is none."""
    if r.value is None:
        return codec.DecodeError("value is null (a tombstone)", topic=r.topic,
                                 partition=r.partition, offset=r.offset, fingerprint=None)
    try:
        return codec.decode(store, r.value, topic=r.topic, partition=r.partition, offset=r.offset)
    except codec.DecodeError as exc:
        return exc


@dataclass(frozen=True)
class TypeFilter:
    """Records whose event type matches `pattern` (a type or a glob); all when None."""

    pattern: str | None = None

    def type_of(self, r: LogRecord, store: SchemaStore) -> str | None:
        """The type from the `ce_type` header, else from the decoded value."""
        raw = r.header("ce_type")
        if raw is not None:
            return raw.decode("utf-8", "replace")
        event = decode(store, r)
        return event.type if isinstance(event, Event) else None

    def accepts(self, r: LogRecord, store: SchemaStore) -> bool:
        if self.pattern is None:
            return True
        type_ = self.type_of(r, store)
        return type_ is not None and fnmatch.fnmatchcase(type_, self.pattern)


class Sink(Protocol):
    def write(self, record: LogRecord) -> None: ...

    def close(self) -> None:
        """Flush; raises HubError if anything written was not stored."""
        ...


def json_line(r: LogRecord, event: Event | codec.DecodeError) -> dict[str, Any]:
    """One line of `--to-file`, before JSON encoding (bytes and datetimes left as they are)."""
    line: dict[str, Any] = {
        "topic": r.topic, "partition": r.partition, "offset": r.offset,
        "timestamp": rfc3339(from_ms(r.timestamp_ms)) if r.timestamp_ms is not None else None,
        "key": r.key, "headers": [{"name": k, "value": v} for k, v in r.headers],
    }
    if isinstance(event, Event):
        return {**line, **event.envelope_dict()}
    return {**line, "error": str(event), "value": r.value}


class FileSink:
    """JSON lines into `path` (`-` for stdout)."""

    def __init__(self, path: str, store: SchemaStore) -> None:
        self._store = store
        self._out: IO[str] = sys.stdout if path == "-" else open(path, "w", encoding="utf-8")
        self.undecodable = 0

    def write(self, record: LogRecord) -> None:
        event = decode(self._store, record)
        self.undecodable += not isinstance(event, Event)
        self._out.write(dumps(json_line(record, event)) + "\n")

    def close(self) -> None:
        self._out.flush()
        if self._out is not sys.stdout:
            self._out.close()


class TopicSink:
    """The same bytes into `topic`: key, value, headers and timestamp."""

    def __init__(self, bootstrap: str, topic: str) -> None:
        self.topic = topic
        self._producer = Producer(producer_config(bootstrap, **{"client.id": "hub-replay"}))
        self._errors: list[str] = []

    def _delivered(self, err: KafkaError | None, _msg: Any) -> None:
        if err is not None:
            self._errors.append(err.str())

    def write(self, record: LogRecord) -> None:
        while True:
            try:
                self._producer.produce(self.topic, value=record.value, key=record.key,
                                       headers=list(record.headers),
                                       timestamp=record.timestamp_ms or 0,
                                       on_delivery=self._delivered)
                break
            except BufferError:
                self._producer.poll(0.05)  # local queue full: let deliveries drain
        self._producer.poll(0)

    def close(self) -> None:
        left = self._producer.flush(60)
        if left or self._errors:
            first = self._errors[0] if self._errors else f"{left} records unacknowledged after 60 s"
            raise HubError(f"{self.topic}: {len(self._errors) + left} records not stored: {first}")
