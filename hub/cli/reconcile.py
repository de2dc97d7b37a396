"""`hub reconcile`: the reconciliation report, and an exit status a scheduler can alert on."""
from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime, timedelta

from hub.cli.projections import parse_time, run_async
from hub.errors import CliError
from projections.reconciliation_rules import STATUSES

__all__ = ["register"]


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    rec = sub.add_parser(
        "reconcile", help="invoices against confirmed payments, refunds and accounting postings",
        description="Prints one line per invoice (and per payment without an invoice) with its "
                    "status. Drift is any status but matched. Statuses, the first that holds wins: "
                    f"{', '.join(STATUSES)} (see projections/reconciliation_rules.py). Only payments "
                    "confirmed by a provider webhook (or imported from the legacy books) count.")
    rec.add_argument("--format", choices=("table", "json", "csv"), default="table")
    rec.add_argument("--status", action="append", default=[], metavar="S",
                     help="only items with this status (repeat, or comma-separated)")
    rec.add_argument("--max-drift", type=int, metavar="N",
                     help="exit 1 when more than N of the listed items drift")
    rec.add_argument("--as-of", type=parse_time, metavar="T", help="judge staleness at T (default now)")
    rec.add_argument("--stale-after-days", type=float, metavar="D",
                     help="pending longer than D days is stale (default: [projections.reconciliation]"
                          " stale_after_days, else 30)")
    rec.set_defaults(func=_reconcile)


def _reconcile(args: argparse.Namespace) -> int:
    import asyncpg

    from hub.db import connect
    from projections import reconciliation_report as report
    from projections.deps import load_env
    from projections.reconciliation_rules import Rules

    wanted = [s.strip() for arg in args.status for s in arg.split(",") if s.strip()]
    unknown = [s for s in wanted if s not in STATUSES]
    if unknown:
        raise CliError(f"unknown status {unknown[0]!r}; known: {', '.join(STATUSES)}", exit_code=2)
    if args.max_drift is not None and args.max_drift < 0:
        raise CliError("--max-drift must be 0 or more", exit_code=2)
    env = load_env()
    stale = timedelta(days=args.stale_after_days) if args.stale_after_days else env.options.stale_after
    now = args.as_of or datetime.now(UTC)

    async def main() -> list[report.Line]:
        conn = await connect(env.database_url, env.settings.db_schema)
        try:
            return await report.read(conn, now, Rules(stale_after=stale), wanted)
        except asyncpg.UndefinedTableError:
            raise CliError("no reconciliation view yet; run `hub project reconciliation` "
                               "or `hub projections rebuild reconciliation`") from None
        finally:
            await conn.close()

    lines = run_async(main())
    render = {"table": report.render_table, "json": report.render_json, "csv": report.render_csv}
    text = render[args.format](lines)
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    drifting = report.drift(lines)
    if args.max_drift is not None and drifting > args.max_drift:
        print(f"hub: reconciliation drift: {drifting} items drift, more than --max-drift "
              f"{args.max_drift}", file=sys.stderr)
        return 1
    return 0
