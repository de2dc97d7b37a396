"""`python -m chaos [--long] [--seed N] [--keep]`: the fault suite; exit 0 when every
invariant held, 1 when one was violated (named in the output), 2 when the stack did not start."""
from __future__ import annotations

import argparse
import asyncio
import random
import sys
from collections.abc import Sequence

from chaos.faults import KINDS
from chaos.profile import Profile
from chaos.run import run


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m chaos", description=__doc__)
    parser.add_argument("--seed", type=int, help="workload and fault plan seed (default: random, "
                                                  "printed so a run can be repeated)")
    parser.add_argument("--long", action="store_true",
                        help="thousands of requests and dozens of faults (~10 minutes)")
    parser.add_argument("--keep", action="store_true",
                        help="keep the run's folder (logs, state) even when every invariant held")
    parser.add_argument("--faults", metavar="KIND,...",
                        help=f"inject only these kinds, each once (to repeat a finding); of: "
                             f"{', '.join(KINDS)}")
    args = parser.parse_args(argv)
    only = [k.strip() for k in (args.faults or "").split(",") if k.strip()]
    unknown = sorted(set(only) - set(KINDS))
    if unknown:
        parser.error(f"unknown fault kind(s) {', '.join(unknown)}; known: {', '.join(KINDS)}")
    seed = args.seed if args.seed is not None else random.SystemRandom().randrange(1, 1_000_000)
    profile = Profile.long() if args.long else Profile.short()
    try:
        return asyncio.run(run(seed, profile, keep=args.keep, only=only))
    except asyncio.CancelledError:
        print("chaos: interrupted; the stack was stopped", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
