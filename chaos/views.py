"""A projection's view against a fresh rebuild: snapshot the stable views the running
projection kept, `hub projections rebuild NAME` (a new version from the log, swapped in),
snapshot again, compare row for row."""
from __future__ import annotations

from collections import Counter
from typing import Any

from chaos.checks import Check
from chaos.cli import HubCli
from hub.db import connect
from projections.reconciliation_sql import TABLES

__all__ = ["VIEWS", "compare_rebuild", "snapshot"]

# Stable views per projection. Audit rows carry their insert time and a serial id, which a
# rebuild cannot reproduce; everything else (chains, hashes, offsets) must be equal.
VIEWS: dict[str, list[str]] = {
    "reconciliation": ["reconciliation", *(f"reconciliation_{t}" for t in TABLES)],
    "audit": ["audit", "audit_heads"],
}
_VOLATILE = frozenset({"row_id", "recorded_at"})


async def snapshot(url: str, views: list[str]) -> dict[str, Counter[tuple[Any, ...]]]:
    conn = await connect(url, "hub")
    try:
        out: dict[str, Counter[tuple[Any, ...]]] = {}
        for view in views:
            rows = await conn.fetch(f"SELECT * FROM {view}")
            out[view] = Counter(tuple((k, _plain(v)) for k, v in r.items() if k not in _VOLATILE)
                                for r in rows)
        return out
    finally:
        await conn.close()


def _plain(value: Any) -> Any:
    return tuple(value) if isinstance(value, list) else value


async def compare_rebuild(name: str, url: str, cli: HubCli) -> Check:
    views = VIEWS[name]
    kept = await snapshot(url, views)
    done = await cli.run(["projections", "rebuild", name, "--quiet"], limit_s=300)
    rebuilt = await snapshot(url, views)
    problems = []
    for view in views:
        only_kept, only_rebuilt = kept[view] - rebuilt[view], rebuilt[view] - kept[view]
        for row in list(only_kept)[:3]:
            problems.append(f"{view}: only in the kept view: {dict(row)}")
        for row in list(only_rebuilt)[:3]:
            problems.append(f"{view}: only in the rebuild: {dict(row)}")
        if only_kept or only_rebuilt:
            problems.append(f"{view}: {sum(only_kept.values())} rows only kept, "
                            f"{sum(only_rebuilt.values())} only rebuilt")
    rows = ", ".join(f"{v} {sum(kept[v].values())}" for v in views)
    return Check.judge(f"the {name} view equals a fresh rebuild", problems,
                       f"rows: {rows}; {done.stdout.strip().splitlines()[-1] if done.stdout else ''}")
