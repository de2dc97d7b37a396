"""The fault suite (`make chaos`, `python -m chaos [--long] [--seed N]`).

Starts a whole hub stack in a temporary folder, drives a seeded workload of signed
webhooks and published events through it while injecting faults (process kills, a broker
restart, provider errors, a stalled database), lets everything drain, then checks the
guarantees of docs/DESIGN.md and prints a table of faults and invariants.
`chaos.leaks` holds the secret scan, reusable by tests.
"""
from __future__ import annotations

__all__: list[str] = []
