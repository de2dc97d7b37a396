"""`make bench`: hub's figures and their baselines, measured side by side in one run.

Each figure group is a module `bench.<name>` with `async def run(ctx, quick) -> dict[str, Figure]`,
listed in `bench.__main__.GROUPS`; see shared/BENCH.md for the figure names.
"""
