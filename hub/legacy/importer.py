"""`hub import`: read, clean, publish, and account for every row of a legacy CSV file.

Each valid row becomes one event whose id is derived from (type, legacy id). Before a
chunk is produced its rows are reserved in `legacy_imports` (INSERT ... ON CONFLICT DO
NOTHING); rows found there as `published` are "already present" and not produced again;
the others are produced and marked `published` once the broker acknowledged them. A
crash between the ack and the mark only means the row is produced again next time with
the same id, which every consumer deduplicates. The log itself cannot answer "is this id
there?" without a full scan, and no projection holds every type (customers), so this
table is the importer's own record, written in the same flow as the produce.
"""
from __future__ import annotations

import asyncio
import csv
from collections.abc import Awaitable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Protocol

from hub import codec
from hub.errors import HubError
from hub.legacy.rows import COLUMNS, Clean, Reject, clean_row, header_map, to_event
from hub.producer import Delivered
from hub.schemastore import SchemaStore
from hub.topics import Topics

__all__ = ["ImportResult", "Publisher", "import_file", "line_ranges", "read_rows"]


class Publisher(Protocol):
    def produce(self, topic: str, value: bytes, *, key: bytes | None = None,
                headers: Sequence[tuple[str, bytes]] | None = None) -> Awaitable[Delivered]: ...


@dataclass
class ImportResult:
    file: Path
    kind: str
    rejects_path: Path
    read: int = 0
    published: list[int] = field(default_factory=list)
    already: list[int] = field(default_factory=list)
    rejected: list[Reject] = field(default_factory=list)
    failed: list[int] = field(default_factory=list)  # tried, not acknowledged
    not_attempted: list[int] = field(default_factory=list)
    error: str | None = None

    def summary(self) -> str:
        lines = [f"{self.kind} from {self.file}: read {self.read}, published {len(self.published)}, "
                 f"already present {len(self.already)}, rejected {len(self.rejected)}"
                 + (f" (reasons in {self.rejects_path})" if self.rejected else "")]
        if self.error is not None:
            lines += [f"STOPPED: {self.error}",
                      f"published before the failure: lines {line_ranges(self.published)}",
                      f"not published: lines {line_ranges(self.failed + self.not_attempted)}; "
                      "run the same command again: published rows are skipped"]
        return "\n".join(lines)


def line_ranges(lines: Sequence[int]) -> str:
    """[2, 3, 4, 7] ⇒ "2-4, 7"; "none" when empty."""
    out: list[str] = []
    for n in sorted(lines):
        if out and out[-1].split("-")[-1] == str(n - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{n}"
        else:
            out.append(str(n))
    return ", ".join(out) or "none"


def read_rows(path: Path, kind: str, now: datetime) -> tuple[list[str], list[Clean | Reject]]:
    """The header and every non-blank row, cleaned or rejected (duplicate legacy ids of the
    same file are rejected after the first). HubError for an unreadable file or header."""
    try:
        with open(path, newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            header = list(reader.fieldnames or [])
            try:
                columns = header_map(kind, header)
            except ValueError as exc:
                raise HubError(f"{path}: {exc}") from None
            out: list[Clean | Reject] = []
            first: dict[str, int] = {}
            for raw in reader:
                line = reader.line_num
                extra = raw.pop(None, None)
                values = {k: v or "" for k, v in raw.items()}
                if not any(v.strip() for v in values.values()) and not extra:
                    continue
                if extra:
                    out.append(Reject(line, f"{len(extra)} more value(s) than the header has",
                                      values))
                    continue
                row = clean_row(kind, line, values, columns, now)
                if isinstance(row, Clean):
                    if row.legacy_id in first:
                        row = Reject(line, f"{COLUMNS[kind][0][0]} {row.legacy_id!r} already on "
                                           f"line {first[row.legacy_id]} of this file", values)
                    else:
                        first[row.legacy_id] = line
                out.append(row)
    except (OSError, UnicodeDecodeError, csv.Error) as exc:
        raise HubError(f"{path}: cannot read the CSV file: {exc}") from None
    return header, out


def _write_rejects(path: Path, header: list[str], rejects: list[Reject]) -> None:
    with open(path, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["line", "reason", *header])
        for r in rejects:
            writer.writerow([r.line, r.reason, *(r.raw.get(h, "") for h in header)])


async def import_file(path: Path, kind: str, *, pool: Any, publisher: Publisher | None,
                      schemas: SchemaStore, topics: Topics, rejects_path: Path, now: datetime,
                      chunk: int = 500) -> ImportResult:
    """Import `path`; with `publisher=None` only clean and write the rejects (dry run)."""
    header, rows = await asyncio.to_thread(read_rows, path, kind, now)
    result = ImportResult(path, kind, rejects_path, read=len(rows))
    valid: list[tuple[Clean, Any, bytes]] = []
    for row in rows:
        if isinstance(row, Reject):
            result.rejected.append(row)
            continue
        event = to_event(kind, row, now)
        try:
            valid.append((row, event, codec.encode(schemas, event)))
        except codec.EncodeError as exc:
            result.rejected.append(Reject(row.line, f"does not fit {event.type}: {exc}", {}))
    await asyncio.to_thread(_write_rejects, rejects_path, header, result.rejected)
    if publisher is None:
        return result
    for start in range(0, len(valid), chunk):
        part = valid[start:start + chunk]
        if result.error is not None:
            result.not_attempted += [row.line for row, _, _ in part]
            continue
        await _publish_chunk(part, kind, path, pool, publisher, topics, result)
    return result


async def _publish_chunk(part: list[tuple[Clean, Any, bytes]], kind: str, path: Path, pool: Any,
                         publisher: Publisher, topics: Topics, result: ImportResult) -> None:
    ids = [e.id for _, e, _ in part]
    async with pool.acquire() as conn:
        await conn.execute(
            "INSERT INTO legacy_imports (event_id, import_type, legacy_id, event_type, source_file,"
            " source_line, status) SELECT u.*, 'reserved' FROM unnest($1::uuid[], $2::text[],"
            " $3::text[], $4::text[], $5::text[], $6::int[]) AS u ON CONFLICT DO NOTHING",
            ids, [kind] * len(part), [r.legacy_id for r, _, _ in part],
            [e.type for _, e, _ in part], [str(path)] * len(part), [r.line for r, _, _ in part])
        done = {str(r["event_id"]) for r in await conn.fetch(
            "SELECT event_id FROM legacy_imports WHERE event_id = ANY($1::uuid[])"
            " AND status = 'published'", ids)}
    todo = [(r, e, v) for r, e, v in part if e.id not in done]
    result.already += [r.line for r, e, _ in part if e.id in done]
    outcomes = await asyncio.gather(
        *(publisher.produce(topics.for_type(e.type), v, key=e.key, headers=e.headers())
          for _, e, v in todo), return_exceptions=True)
    acked = [(r, e, d) for (r, e, _), d in zip(todo, outcomes, strict=True)
             if isinstance(d, Delivered)]
    if acked:
        async with pool.acquire() as conn:
            await conn.execute(
                "UPDATE legacy_imports i SET status = 'published', published_at = now(),"
                " kafka_topic = u.t, kafka_partition = u.p, kafka_offset = u.o"
                " FROM unnest($1::uuid[], $2::text[], $3::int[], $4::bigint[]) AS u(id, t, p, o)"
                " WHERE i.event_id = u.id", [e.id for _, e, _ in acked],
                [d.topic for _, _, d in acked], [d.partition for _, _, d in acked],
                [d.offset for _, _, d in acked])
    result.published += [r.line for r, _, _ in acked]
    errors = [(r, d) for (r, _, _), d in zip(todo, outcomes, strict=True)
              if isinstance(d, BaseException)]
    if errors:
        result.failed += [r.line for r, _ in errors]
        result.error = f"{type(errors[0][1]).__name__}: {errors[0][1]}"
