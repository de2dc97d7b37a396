"""`hub lag` against the real broker, with a real consumer group that stops and resumes."""
from __future__ import annotations

import json
import re
import time
from typing import Any

import pytest

from hub.admin import ensure_topics
from tests.operator_cli import Hub, consume_and_commit, hub_env, produce

pytestmark = pytest.mark.integration


def records(partition: int, n: int) -> list[dict[str, Any]]:
    return [{"value": b"v", "key": f"k{i}".encode(), "partition": partition} for i in range(n)]


def test_lag_grows_while_the_group_is_stopped_and_recovers(servers, topic_prefix, tmp_path,
                                                          monkeypatch, capsys) -> None:
    bootstrap = servers.kafka_bootstrap
    topic, group = f"{topic_prefix}hub.lagtest", f"{topic_prefix}hub.lagworker"
    ensure_topics(bootstrap, [topic], partitions=2)
    hub_env(monkeypatch, servers, tmp_path, topic_prefix)
    hub = Hub(capsys)
    produce(bootstrap, topic, records(0, 3) + records(1, 3))
    consume_and_commit(bootstrap, group, topic, 6)

    def lag(*extra: str) -> tuple[int, dict[str, Any]]:
        ran = hub("lag", "--group", group, "--json", "--window", "3", *extra)
        [doc] = ran.json()["groups"]
        return ran.code, doc

    code, g0 = lag()
    assert code == 0
    assert (g0["group"], g0["state"], g0["status"], g0["lag"], g0["lag_seconds"]) == (
        group, "Empty", "OK", 0, 0.0)
    assert [(p["partition"], p["committed"], p["log_end"], p["lag"], p["status"])
            for p in g0["partitions"]] == [(0, 3, 3, 0, "OK"), (1, 3, 3, 0, "OK")]

    # The worker is gone; records keep arriving on partition 0.
    produce(bootstrap, topic, records(0, 2))
    time.sleep(0.4)
    code, g1 = lag()
    p0 = g1["partitions"][0]
    assert (code, g1["status"], p0["lag"], p0["status"], p0["reason"]) == (
        0, "OK", 2, "OK", "lag was 0 within the window")
    assert p0["lag_seconds"] >= 0.4
    produce(bootstrap, topic, records(0, 2))
    time.sleep(0.3)
    code, g2 = lag()
    assert (code, g2["lag"]) == (0, 4)
    assert g2["lag_seconds"] > g1["lag_seconds"]  # the oldest unconsumed record only ages

    # Three samples, all behind, offset never moving: STALL, exit 1.
    code, g3 = lag()
    p0 = g3["partitions"][0]
    assert (code, g3["status"], p0["status"], p0["committed"], p0["log_end"], p0["samples"]) == (
        1, "STALL", "STALL", 3, 7, 3)
    assert re.fullmatch(r"offset 3 unchanged over 3 samples \(\d+ s\) while lag went 2 -> 4",
                        p0["reason"])
    assert g3["partitions"][1]["status"] == "OK"
    assert g3["lag_seconds"] > g2["lag_seconds"]

    # Past the configured time without progress: STOPPED; the table says so too.
    time.sleep(0.5)
    ran = hub("lag", "--group", group, "--window", "3", "--stopped-after", "0.5")
    assert ran.code == 1
    lines = ran.out.splitlines()
    assert lines[1].split() == ["GROUP", "TOPIC", "PARTITION", "COMMITTED", "LOG_END", "LAG",
                                "LAG_S", "STATUS", "SAMPLES"]
    row0 = lines[2].split()
    assert row0[:6] == [group, topic, "0", "3", "7", "4"] and row0[7:] == ["STOPPED", "3/3"]
    assert float(row0[6]) > g3["lag_seconds"]
    assert lines[3].split() == [group, topic, "1", "3", "3", "0", "0.0", "OK", "3/3"]
    assert lines[5].startswith(f"{group}: STOPPED (Empty) lag 4 records, oldest unconsumed ")
    assert re.fullmatch(rf"  {re.escape(topic)}\[0\] STOPPED: offset 3 has not moved for \d+ s "
                        r"while 4 records wait \(limit 0.5 s\)", lines[6])

    # The worker comes back and catches up: OK again, exit 0.
    consume_and_commit(bootstrap, group, topic, 4)
    code, g4 = lag()
    assert (code, g4["status"], g4["lag"], g4["lag_seconds"]) == (0, "OK", 0, 0.0)
    assert [p["committed"] for p in g4["partitions"]] == [7, 3]

    window = json.loads((tmp_path / "state" / "lag-window.json").read_text())
    assert window["bootstrap"] == bootstrap
    assert [[row[1], row[2]] for row in window["windows"][group][topic]["0"]] == [
        [3, 7], [3, 7], [7, 7]]


def test_watch_keeps_its_window_in_memory_and_unknown_groups_are_err(
        servers, topic_prefix, tmp_path, monkeypatch, capsys) -> None:
    bootstrap = servers.kafka_bootstrap
    topic, group = f"{topic_prefix}hub.lagwatch", f"{topic_prefix}hub.watcher"
    ensure_topics(bootstrap, [topic], partitions=1)
    hub_env(monkeypatch, servers, tmp_path, topic_prefix)
    hub = Hub(capsys)
    produce(bootstrap, topic, records(0, 2))
    consume_and_commit(bootstrap, group, topic, 2)
    produce(bootstrap, topic, records(0, 1))

    ran = hub("lag", "--group", group, "--json", "--watch", "--interval", "0.2",
              "--iterations", "3", "--window", "2")
    docs = [json.loads(line) for line in ran.out.splitlines()]
    assert [d["groups"][0]["partitions"][0]["samples"] for d in docs] == [1, 2, 2]
    assert [d["status"] for d in docs] == ["OK", "STALL", "STALL"]
    assert ran.code == 1
    assert not (tmp_path / "state" / "lag-window.json").exists()

    ran = hub("lag", "--group", f"{topic_prefix}nobody", "--json")
    assert ran.code == 1
    assert ran.json()["groups"] == [{
        "group": f"{topic_prefix}nobody", "state": "Unknown", "status": "ERR", "lag": 0,
        "lag_seconds": None, "partitions": [],
        "error": "no committed offsets (unknown group, or it never committed)"}]
