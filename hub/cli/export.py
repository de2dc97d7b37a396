"""`hub export gl --from D --to D`: general-ledger journal lines for accounting systems."""
from __future__ import annotations

import argparse
import sys
from datetime import date
from pathlib import Path

from hub.cli.projections import run_async
from hub.errors import CliError

__all__ = ["register"]


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date like 2025-03-31") from None


def register(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    export = sub.add_parser("export", help="exports for systems without an API")
    esub = export.add_subparsers(dest="export_command", metavar="WHAT")
    gl = esub.add_parser(
        "gl", help="general-ledger journal lines (invoices, payments, refunds) of a date range",
        description="Invoices: debit receivables, credit revenue. Payments confirmed by the "
                    "provider: debit cash, credit receivables. Refunds: debit receivables, credit "
                    "cash. Dates are UTC days, both ends included; amounts in major units.")
    gl.add_argument("--from", dest="start", type=_day, required=True, metavar="D")
    gl.add_argument("--to", dest="end", type=_day, required=True, metavar="D")
    gl.add_argument("--format", choices=("csv", "json"), default="csv")
    gl.add_argument("--out", type=Path, metavar="FILE", help="write here instead of stdout")
    gl.add_argument("--receivables", default="1100", help="receivables account (default 1100)")
    gl.add_argument("--revenue", default="4000", help="revenue account (default 4000)")
    gl.add_argument("--cash", default="1000", help="cash account (default 1000)")
    gl.set_defaults(func=_gl)

    def usage(_args: argparse.Namespace) -> int:
        export.print_help()
        return 2

    export.set_defaults(func=usage)


def _gl(args: argparse.Namespace) -> int:
    import asyncpg

    from hub.config import Settings
    from hub.db import connect
    from hub.devstack.state import resolve_servers
    from hub.errors import HubError
    from projections.export import gl_lines
    from projections.gl import Accounts, JournalLine, render_csv, render_json

    settings = Settings.from_env()
    url = resolve_servers(settings).database_url
    accounts = Accounts(args.receivables, args.revenue, args.cash)

    async def main() -> list[JournalLine]:
        conn = await connect(url, settings.db_schema)
        try:
            return await gl_lines(conn, args.start, args.end, accounts)
        except HubError as exc:
            raise CliError(str(exc), exit_code=2) from None
        except asyncpg.UndefinedTableError:
            raise CliError("no reconciliation view yet; run `hub project reconciliation` "
                               "or `hub projections rebuild reconciliation`") from None
        finally:
            await conn.close()

    lines = run_async(main())
    text = render_csv(lines) if args.format == "csv" else render_json(lines)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
        print(f"wrote {len(lines)} journal lines ({len(lines) // 2} journals) to {args.out}",
              file=sys.stderr)
    else:
        sys.stdout.write(text)
    return 0
