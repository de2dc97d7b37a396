"""`hub lag`: consumer lag per group, topic and partition, in records and seconds, with a
Burrow-style status (see hub/lag.py). Exit code 1 when any group is not OK."""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

from hub.cli._common import dumps, kafka_bootstrap, one_line_errors, table
from hub.lag import Rules, worst
from hub.lagreport import GroupReport, Windows, assess
from hub.times import rfc3339

__all__ = ["register"]

STATE_FILE = "lag-window.json"


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "lag", help="consumer lag (records and seconds) and status per group",
        description="Committed offset, log end, lag in records and seconds (age of the oldest "
                    "unconsumed record) per group, topic and partition, with a status judged over "
                    "a sliding window of samples the way Burrow does: OK, WARN (lag not falling "
                    "while the group commits), STALL (offset not moving while lag > 0), STOPPED "
                    "(no progress for --stopped-after seconds), ERR. The window is kept in "
                    "<state>/lag-window.json between runs. Exit code 1 when any group is not OK.")
    p.add_argument("--group", action="append", default=[], metavar="G",
                   help="only this consumer group (repeatable); default: every group with offsets")
    p.add_argument("--json", action="store_true", help="one JSON document per evaluation")
    p.add_argument("--watch", action="store_true", help="evaluate every --interval seconds")
    p.add_argument("--interval", type=float, default=10.0, metavar="S",
                   help="seconds between evaluations with --watch (default 10)")
    p.add_argument("--iterations", type=int, default=0, metavar="N",
                   help="with --watch, stop after N evaluations (default: until interrupted)")
    p.add_argument("--window", type=int, default=10, metavar="N",
                   help="samples per partition in the sliding window (default 10)")
    p.add_argument("--stopped-after", type=float, default=300.0, metavar="S",
                   help="seconds behind without progress before STOPPED (default 300)")
    p.set_defaults(func=_lag)


@one_line_errors
def _lag(args: argparse.Namespace) -> int:
    from hub.config import Settings
    from hub.errors import CliError
    from hub.offsets import observe

    try:
        rules = Rules(window=args.window, stopped_after_s=args.stopped_after)
    except ValueError as exc:
        raise CliError(str(exc), 2) from None
    if args.interval <= 0:
        raise CliError(f"--interval must be > 0 seconds, got {args.interval:g}", 2)
    settings = Settings.from_env()
    bootstrap = kafka_bootstrap(settings)
    state = settings.state_dir / STATE_FILE
    windows = _load(state, bootstrap)
    code = 0
    n = 0
    try:
        while True:
            observed = observe(bootstrap, args.group)
            now = time.time()
            reports = assess(observed, windows, now, rules)
            if not args.group:
                windows.drop_groups_except({r.group for r in reports})
            if not args.watch:
                _save(state, bootstrap, windows)
            _print(reports, now, rules, as_json=args.json)
            code = 0 if worst(r.status for r in reports) == "OK" else 1
            n += 1
            if not args.watch or (args.iterations and n >= args.iterations):
                return code
            time.sleep(args.interval)
    except KeyboardInterrupt:
        return code


def _load(path: Path, bootstrap: str) -> Windows:
    try:
        raw = json.loads(path.read_text())
    except (OSError, ValueError):
        return Windows()
    if not isinstance(raw, dict) or raw.get("bootstrap") != bootstrap:
        return Windows()  # another cluster's samples say nothing about this one
    return Windows.from_json(raw.get("windows"))


def _save(path: Path, bootstrap: str, windows: Windows) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    tmp.write_text(json.dumps({"bootstrap": bootstrap, "windows": windows.to_json()}) + "\n")
    os.replace(tmp, path)


def _print(reports: list[GroupReport], now: float, rules: Rules, *, as_json: bool) -> None:
    at = rfc3339(datetime.fromtimestamp(now, tz=UTC))
    if as_json:
        print(dumps({"evaluated_at": at, "status": worst(r.status for r in reports),
                     "groups": [r.as_dict() for r in reports]}), flush=True)
        return
    if not reports:
        print(f"{at}  no consumer groups with committed offsets", flush=True)
        return
    rows = []
    for r in reports:
        for p in r.partitions:
            rows.append([r.group, p.topic, str(p.partition), str(p.committed), str(p.log_end),
                         str(p.lag), _secs(p.lag_seconds), p.status, f"{p.samples}/{rules.window}"])
    header = ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "LOG_END", "LAG", "LAG_S", "STATUS",
              "SAMPLES"]
    lines = [table(header, rows, right=(2, 3, 4, 5, 6)), ""] if rows else []
    for r in reports:
        lines.append(f"{r.group}: {r.status} ({r.state}) lag {r.lag} records, oldest unconsumed "
                     f"{_secs(r.lag_seconds)} s" + (f"; {r.error}" if r.error else ""))
        lines += [f"  {p.topic}[{p.partition}] {p.status}: {p.reason}"
                  for p in r.partitions if p.status != "OK"]
    print(f"{at}\n" + "\n".join(lines), flush=True)
    sys.stdout.flush()


def _secs(value: float | None) -> str:
    return "?" if value is None else f"{value:.1f}"
