"""`hub replay`: a range of a topic, filtered by type, into a topic, a file or a projection.

Partitions are read from the start (an offset, or the first record at a time) to the
end offsets seen at start, or to `--until`; it never tails. Progress goes to stderr.
"""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime

from hub.cli._common import kafka_bootstrap, one_line_errors, when

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "replay", help="replay a range of a topic into a topic, a JSON-lines file or a projection",
        description="Read TOPIC from an offset or a time to the end seen at start (or --until), "
                    "keep the records of --type, and write them: to another topic as the same "
                    "bytes (key, value, headers, timestamp: event ids kept), to a JSON-lines file "
                    "(envelope and data; bytes base64, times RFC 3339), or into a projection.")
    p.add_argument("--topic", required=True, help="the topic to read")
    start = p.add_mutually_exclusive_group(required=True)
    start.add_argument("--from-offset", type=int, metavar="N",
                       help="start at offset N of every partition (clamped to the log)")
    start.add_argument("--from-time", metavar="T",
                       help="start at the first record at or after T (RFC 3339, date, or age: 2h)")
    p.add_argument("--until", metavar="T", help="stop after the records of time T")
    p.add_argument("--type", metavar="T", help="only events of this type, or a glob (payment.*)")
    to = p.add_mutually_exclusive_group(required=True)
    to.add_argument("--to-topic", metavar="T2", help="re-produce into this existing topic")
    to.add_argument("--to-file", metavar="F", help="write JSON lines to F (- for stdout)")
    to.add_argument("--to-projection", metavar="P", help="apply to the active version of projection P")
    p.add_argument("--quiet", action="store_true", help="no progress line")
    p.set_defaults(func=_replay)


@one_line_errors
def _replay(args: argparse.Namespace) -> int:
    from hub.config import Settings
    from hub.errors import CliError
    from hub.logreader import open_reader, partitions, plan, read
    from hub.progress import Progress, ProgressLine
    from hub.replay import FileSink, Sink, TopicSink, TypeFilter
    from hub.schemastore import SchemaStore
    from hub.times import to_ms

    now = datetime.now(UTC)
    from_ms = to_ms(when(args.from_time, now, "--from-time")) if args.from_time else None
    until_ms = to_ms(when(args.until, now, "--until")) if args.until else None
    if args.from_offset is not None and args.from_offset < 0:
        raise CliError(f"--from-offset must be >= 0, got {args.from_offset}", 2)
    if args.to_topic == args.topic:
        raise CliError(f"--to-topic {args.to_topic} is the topic being read; pick another", 2)
    settings = Settings.from_env()
    bootstrap = kafka_bootstrap(settings)
    store = SchemaStore.load()
    consumer = open_reader(bootstrap)
    try:
        spans = plan(consumer, args.topic, from_offset=args.from_offset, from_ms=from_ms,
                     until_ms=until_ms)
        sink: Sink
        if args.to_topic:
            partitions(consumer, args.to_topic)  # must exist: replay never creates topics
            sink, target = TopicSink(bootstrap, args.to_topic), args.to_topic
        elif args.to_file:
            sink, target = FileSink(args.to_file, store), args.to_file
        else:
            from hub.cli._projection_sink import ProjectionSink

            sink, target = ProjectionSink(settings, args.to_projection, store), args.to_projection
        keep = TypeFilter(args.type)
        progress = Progress(f"replay {args.topic}", [(s.partition, s.start, s.end) for s in spans])
        line = ProgressLine(progress)
        try:
            for record in read(consumer, spans):
                wanted = keep.accepts(record, store)
                if wanted:
                    sink.write(record)
                progress.advance(record.partition, record.offset, written=wanted)
                if not args.quiet:
                    line.tick()
        finally:
            sink.close()
    finally:
        consumer.close()
    if not args.quiet:
        line.finish()
    skipped = getattr(sink, "undecodable", 0)
    note = f" ({skipped} undecodable)" if skipped else ""
    print(f"replayed {progress.written} of {progress.done} records from {args.topic} to "
          f"{target}{note}", file=sys.stderr)
    return 0
