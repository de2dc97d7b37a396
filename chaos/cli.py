"""`hub` CLI calls of a run, as a user would make them; every output is kept for the leak scan."""
from __future__ import annotations

import asyncio
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field

__all__ = ["CliFailed", "HubCli"]


class CliFailed(RuntimeError):
    """A `hub` command exited non-zero where the run needed it to succeed."""


@dataclass
class HubCli:
    env: dict[str, str]
    cwd: str
    outputs: list[tuple[str, str]] = field(default_factory=list)  # (command, stdout+stderr)

    async def run(self, args: Sequence[str], *, check: bool = True,
                  limit_s: float = 120.0) -> subprocess.CompletedProcess[str]:
        done = await asyncio.to_thread(
            subprocess.run, [sys.executable, "-m", "hub", *args], env=self.env, cwd=self.cwd,
            capture_output=True, text=True, timeout=limit_s, check=False)
        self.outputs.append((f"hub {' '.join(args)}", done.stdout + done.stderr))
        if check and done.returncode != 0:
            raise CliFailed(f"`hub {' '.join(args)}` exited {done.returncode}: "
                            f"{(done.stdout + done.stderr)[-1500:]}")
        return done
