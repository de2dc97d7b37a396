"""The printed tables: faults injected, and invariants held."""
from __future__ import annotations

from collections.abc import Mapping, Sequence

from chaos.checks import Check
from chaos.faults import Fault, FaultResult

__all__ = ["fault_plan", "faults_table", "invariants_table", "table"]


def table(headers: Sequence[str], rows: Sequence[Sequence[str]]) -> str:
    widths = [max(len(h), *(len(r[i]) for r in rows)) if rows else len(h)
              for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in rows]
    return "\n".join(lines)


def fault_plan(faults: Sequence[Fault]) -> str:
    return table(["#", "AT", "FAULT", "WHAT"],
                 [[str(i), f"{f.at:6.1f}s", f.kind, f.describe()]
                  for i, f in enumerate(faults, start=1)])


# The simulators' name for the answers a provider fault causes.
_ANSWERS = {"provider_500": "burst_500", "provider_429": "rate_limit",
            "provider_timeout": "timeout", "provider_reject": "reject"}


def faults_table(results: Sequence[FaultResult], restarted: Sequence[tuple[float, str]],
                 injected: Mapping[tuple[str, str], int]) -> str:
    """One row per fault; a provider fault says how many calls its simulator answered that
    way over the whole run (all faults of that kind on that simulator together)."""
    rows = []
    for i, r in enumerate(results, start=1):
        result = r.error or r.note
        answer = _ANSWERS.get(r.fault.kind)
        if answer is not None and r.error is None:
            result += f"; {injected.get((r.fault.target, answer), 0)} calls answered {answer}"
        rows.append([str(i), f"{r.started:6.1f}s", r.fault.kind, r.fault.describe(),
                     f"{r.took:5.1f}s", result])
    out = table(["#", "AT", "FAULT", "WHAT", "TOOK", "RESULT"], rows)
    if restarted:
        out += "\n" + "\n".join(f"  {at:6.1f}s  {name} exited on its own; restarted"
                                for at, name in restarted)
    return out


def invariants_table(checks: Sequence[Check]) -> str:
    rows = [[str(i), c.name, "held" if c.ok else "VIOLATED", c.detail]
            for i, c in enumerate(checks, start=1)]
    out = table(["#", "INVARIANT", "RESULT", "DETAIL"], rows)
    for c in checks:
        if not c.ok:
            out += f"\n\nVIOLATED: {c.name}\n" + "\n".join(f"  - {p}" for p in c.problems)
    return out
