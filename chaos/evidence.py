"""What the checks look at, gathered once the stack is quiet: every record of every topic
(decoded), the simulators' call logs and effects, and `hub dlq list --json`."""
from __future__ import annotations

import asyncio
import json
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from chaos.cli import HubCli
from chaos.leaks import read_all_records
from hub import codec
from hub.envelope import Event
from hub.logreader import LogRecord
from hub.schemastore import SchemaStore

__all__ = ["Evidence", "LogIndex", "gather"]


@dataclass
class LogIndex:
    """The log read back: event ids per topic, and the decoded events of the domain topics
    (not retry, dead-letter or outcome copies)."""

    records: list[LogRecord]
    ids: dict[str, set[str]] = field(default_factory=lambda: defaultdict(set))
    domain: list[Event] = field(default_factory=list)
    undecodable: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, records: list[LogRecord], store: SchemaStore) -> LogIndex:
        index = cls(records)
        for r in records:
            try:
                event = codec.decode(store, r.value or b"", topic=r.topic, partition=r.partition,
                                     offset=r.offset)
            except codec.DecodeError as exc:
                index.undecodable.append(f"{r.topic}[{r.partition}]@{r.offset}: {exc}")
                continue
            index.ids[r.topic].add(event.id)
            if not r.topic.startswith(("hub.retry.", "hub.dlq.", "hub.outcomes")):
                index.domain.append(event)
        return index

    def has(self, topic: str, event_id: str) -> bool:
        return event_id in self.ids.get(topic, ())


@dataclass
class Evidence:
    log: LogIndex
    effects: dict[str, list[dict[str, Any]]]  # simulator ⇒ its effects
    callbacks: dict[str, list[dict[str, Any]]]  # simulator ⇒ its outgoing calls
    dead_letters: list[dict[str, Any]]
    injected: Counter[tuple[str, str]] = field(default_factory=Counter)  # (sim, fault) ⇒ calls


async def _sim_get(http: aiohttp.ClientSession, url: str) -> Any:
    async with http.get(url) as resp:
        resp.raise_for_status()
        return await resp.json()


async def _calls(http: aiohttp.ClientSession, base: str) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    since = 0
    while True:
        page = await _sim_get(http, f"{base}/_sim/calls?since={since}&limit=5000")
        out += page["calls"]
        if not page["calls"] or page["next_since"] >= page["last_seq"]:
            return out
        since = page["next_since"]


async def gather(bootstrap: str, sim_url: str, cli: HubCli) -> Evidence:
    records = await asyncio.to_thread(read_all_records, bootstrap)
    log = LogIndex.of(records, SchemaStore.load())
    effects: dict[str, list[dict[str, Any]]] = {}
    callbacks: dict[str, list[dict[str, Any]]] = {}
    injected: Counter[tuple[str, str]] = Counter()
    async with aiohttp.ClientSession() as http:
        for sim in ("payments", "sms", "accounting", "email"):
            effects[sim] = (await _sim_get(http, f"{sim_url}/{sim}/_sim/effects"))["effects"]
            calls = await _calls(http, f"{sim_url}/{sim}")
            callbacks[sim] = [c for c in calls if c["direction"] == "out"]
            injected.update((sim, str(c["fault"])) for c in calls if c.get("fault"))
    listed = await cli.run(["dlq", "list", "--json"])
    return Evidence(log, effects, callbacks, json.loads(listed.stdout), injected)
