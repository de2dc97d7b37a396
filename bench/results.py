"""Figures, the machine they ran on, and the two reports: results.json and results.md."""
from __future__ import annotations

import json
import os
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from hub.devstack.kafka import LIBS
from hub.devstack.postgres import find_pg_bin
from hub.errors import HubError

__all__ = ["Figure", "git_commit", "machine", "render_markdown", "results_document", "write"]


@dataclass
class Figure:
    """One measured value. `baselines` name figures of the same run to divide it by."""

    value: float
    unit: str
    offered: float | None = None
    n: int | None = None
    duration_s: float | None = None
    note: str | None = None
    baselines: tuple[str, ...] = field(default=(), compare=False)

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"value": self.value, "unit": self.unit}
        for key in ("offered", "n", "duration_s", "note"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        return out


def machine() -> dict[str, Any]:
    """Cores, memory, and the versions of Python, Kafka and PostgreSQL the run used."""
    mem_kib = 0
    for line in Path("/proc/meminfo").read_text().splitlines():
        if line.startswith("MemTotal:"):
            mem_kib = int(line.split()[1])
    jars = sorted(LIBS.glob("kafka_2.13-*.jar"))
    kafka = re.sub(r"^kafka_2\.13-|\.jar$", "", jars[0].name) if jars else "unknown"
    return {
        "cores": os.cpu_count(),
        "memory_gib": round(mem_kib / 2**20, 1),
        "python": platform.python_version(),
        "kafka": kafka,
        "postgres": _postgres_version(),
    }


def _postgres_version() -> str:
    try:
        out = subprocess.run([str(find_pg_bin() / "postgres"), "--version"], capture_output=True,
                             text=True, check=True).stdout
    except (OSError, subprocess.CalledProcessError, HubError):
        return "unknown"
    found = re.search(r"(\d+(?:\.\d+)*)", out)
    return found.group(1) if found else out.strip()


def git_commit(repo: Path) -> str:
    """HEAD's commit, with "-dirty" when tracked or untracked files differ from it."""
    def git(*args: str) -> str:
        return subprocess.run(["git", "--no-optional-locks", *args], cwd=repo,
                              capture_output=True, text=True, check=True).stdout.strip()
    try:
        head = git("rev-parse", "HEAD")
        dirty = bool(git("status", "--porcelain"))
    except (OSError, subprocess.CalledProcessError):
        return "unknown"
    return head + ("-dirty" if dirty else "")


def results_document(machine_info: Mapping[str, Any], commit: str, quick: bool,
                     figures: Mapping[str, Figure], errors: Sequence[Mapping[str, str]]
                     ) -> dict[str, Any]:
    return {
        "machine": dict(machine_info),
        "git": commit,
        "quick": quick,
        "figures": {name: fig.as_json() for name, fig in figures.items()},
        "errors": list(errors),
    }


def _fmt(value: float) -> str:
    if value >= 100:
        return f"{value:,.0f}"
    return f"{value:.3g}" if value < 10 else f"{value:.1f}"


def render_markdown(doc: Mapping[str, Any], figures: Mapping[str, Figure],
                    extra: Sequence[str] = ()) -> str:
    """A short table: figure, value, unit, ratio to each baseline of the same run, note."""
    m = doc["machine"]
    lines = [
        f"# hub bench{' (quick)' if doc['quick'] else ''}",
        "",
        f"{m['cores']} cores, {m['memory_gib']} GiB, Python {m['python']}, Kafka {m['kafka']}, "
        f"PostgreSQL {m['postgres']}; commit `{doc['git']}`.",
        "",
        "| figure | value | unit | ratio | note |",
        "| --- | ---: | --- | --- | --- |",
    ]
    for name, fig in figures.items():
        ratios = [f"{fig.value / figures[b].value:.2f} × {b}" for b in fig.baselines
                  if b in figures and figures[b].value]
        note = (fig.note or "").replace("|", "/")
        lines.append(f"| {name} | {_fmt(fig.value)} | {fig.unit} | {'; '.join(ratios)} | {note} |")
    lines += ["", *extra] if extra else []
    if doc["errors"]:
        lines += ["", "## errors", ""]
        lines += [f"- **{e['group']}**: {e['error']}" for e in doc["errors"]]
    return "\n".join(lines) + "\n"


def write(out: Path, doc: Mapping[str, Any], markdown: str) -> None:
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    out.with_suffix(".md").write_text(markdown)
