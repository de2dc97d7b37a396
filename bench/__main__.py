"""`python -m bench [--quick] [--only GROUP,...] [--out bench/results.json]`.

Starts its own Kafka and PostgreSQL in a temporary folder (stopped at the end, even on
failure), runs each figure group in order, and writes results.json, results.md and plots
next to `--out`, whatever groups failed; failures are listed under "errors" and make the
exit status 1.
"""
from __future__ import annotations

import argparse
import asyncio
import importlib
import os
import shutil
import sys
import tempfile
import traceback
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import cast

from bench.context import REPO, BenchContext
from bench.results import Figure, git_commit, machine, render_markdown, results_document, write
from hub.admin import ensure_topics, wait_for_broker
from hub.db import migrate
from hub.devstack.kafka import LocalKafka
from hub.devstack.postgres import LocalPostgres

# Figure groups, run in this order: module bench.<name> with `run(ctx, quick)`.
GROUPS: tuple[str, ...] = ("ingress", "rebuild", "worker")

GroupRun = Callable[[BenchContext, bool], Awaitable[dict[str, Figure]]]


def _parse(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="a few seconds a figure")
    parser.add_argument("--only", help=f"comma-separated groups to run, of: {', '.join(GROUPS)}")
    parser.add_argument("--out", type=Path, default=REPO / "bench" / "results.json",
                        help="results.json path; results.md and plots go next to it")
    args = parser.parse_args(argv)
    args.groups = GROUPS
    if args.only:
        args.groups = tuple(g.strip() for g in args.only.split(",") if g.strip())
        unknown = [g for g in args.groups if g not in GROUPS]
        if unknown:
            parser.error(f"unknown group(s) {', '.join(unknown)}; known: {', '.join(GROUPS)}")
    return args


async def _run_groups(ctx: BenchContext, groups: tuple[str, ...], figures: dict[str, Figure]
                      ) -> None:
    await migrate(ctx.database_url, ctx.db_schema)
    await asyncio.to_thread(ensure_topics, ctx.kafka_bootstrap, ctx.topics.core(),
                            partitions=ctx.partitions)
    for name in groups:
        print(f"bench: running group {name}", file=sys.stderr, flush=True)
        try:
            run = cast(GroupRun, importlib.import_module(f"bench.{name}").run)
            figures.update(await run(ctx, ctx.quick))
        except Exception as exc:  # noqa: BLE001 - one group's failure must not lose the others
            traceback.print_exc()
            ctx.error(name, f"{type(exc).__name__}: {exc}")


def main(argv: list[str] | None = None) -> int:
    args = _parse(argv)
    out: Path = args.out.resolve()
    out.parent.mkdir(parents=True, exist_ok=True)
    figures: dict[str, Figure] = {}
    errors: list[dict[str, str]] = []
    load_before = os.getloadavg()[0]
    home = Path(tempfile.mkdtemp(prefix="hub-bench-"))
    os.chmod(home, 0o755)  # noqa: S103 - as root, the postgres OS user must reach it
    kafka, pg = LocalKafka(home / "kafka", partitions=3), LocalPostgres(home / "postgres")
    ctx: BenchContext | None = None
    try:
        print(f"bench: starting Kafka and PostgreSQL under {home}", file=sys.stderr, flush=True)
        kafka.start()
        pg.start()
        wait_for_broker(kafka.bootstrap, timeout=60)
        (home / "work").mkdir()
        ctx = BenchContext(tmp=home / "work", out_dir=out.parent, kafka_bootstrap=kafka.bootstrap,
                           database_url=pg.url, quick=args.quick)
        asyncio.run(_run_groups(ctx, args.groups, figures))
    except Exception as exc:  # noqa: BLE001 - still write what was measured
        traceback.print_exc()
        errors.append({"group": "stack", "error": f"{type(exc).__name__}: {exc}"})
    finally:
        if ctx is not None:
            ctx.stop_all()
        kafka.stop()
        pg.stop()
        shutil.rmtree(home, ignore_errors=True)
    if ctx is not None:
        errors = ctx.errors + errors
    doc = results_document(machine(), git_commit(REPO), args.quick, figures, errors)
    lines = [f"Load average (1 min) before the run {load_before:.2f}, after "
             f"{os.getloadavg()[0]:.2f}: a busy machine lowers every figure.",
             *(ctx.report_lines if ctx else ())]
    markdown = render_markdown(doc, figures, lines)
    write(out, doc, markdown)
    print(markdown)
    print(f"bench: wrote {out} and {out.with_suffix('.md')}", file=sys.stderr)
    return 1 if errors else 0


if __name__ == "__main__":
    raise SystemExit(main())
