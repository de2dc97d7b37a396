from __future__ import annotations

import argparse
import json
import shutil
from pathlib import Path

import pytest

from hub.cli import schemas as cli_schemas
from hub.errors import ConfigError
from hub.schemastore import DEFAULT_DIR, SchemaStore

pytestmark = pytest.mark.unit


def run(*argv: str) -> int:
    parser = argparse.ArgumentParser(prog="hub")
    cli_schemas.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["schemas", *argv])
    return int(args.func(args))


def test_list_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list") == 0
    lines = capsys.readouterr().out.splitlines()
    store = SchemaStore.load()
    assert lines[0].split() == ["TYPE", "VERSION", "RECORD", "FINGERPRINT", "FILE"]
    assert len(lines) == 1 + len(store)
    assert lines[1:].count(next(line for line in lines if "PaymentSucceededV2 " in line)) == 1
    row = next(line.split() for line in lines if line.startswith("payment.succeeded ") and
               " 1 " in line)
    assert row == ["payment.succeeded", "1", "hub.events.PaymentSucceededV1",
                   "1e781e7efbf607a2", "payment.succeeded.v1.avsc"]


def test_list_json(capsys: pytest.CaptureFixture[str]) -> None:
    assert run("list", "--json") == 0
    rows = json.loads(capsys.readouterr().out)
    assert {"type": "payment.succeeded", "version": 2, "name": "hub.events.PaymentSucceededV2",
            "fingerprint": SchemaStore.load().get("payment.succeeded", 2).fingerprint_hex,
            "file": str(DEFAULT_DIR / "payment.succeeded.v2.avsc")} in rows
    assert len(rows) == len(SchemaStore.load())


def test_check_passes_on_the_repo(capsys: pytest.CaptureFixture[str]) -> None:
    store = SchemaStore.load()
    assert run("check") == 0
    assert capsys.readouterr().out == (
        f"{len(store.types())} types, {len(store)} versions: BACKWARD_TRANSITIVE holds\n"
    )


def test_check_fails_on_a_broken_version(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    for path in DEFAULT_DIR.glob("payment.*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    raw = json.loads((tmp_path / "payment.succeeded.v2.avsc").read_text())
    raw["name"] = "PaymentSucceededV3"
    raw["aliases"] = ["hub.events.PaymentSucceededV1", "hub.events.PaymentSucceededV2"]
    data = raw["fields"][-1]["type"]
    data["name"] = "PaymentSucceededV3Data"
    data["aliases"] = ["hub.events.PaymentSucceededV1Data", "hub.events.PaymentSucceededV2Data"]
    amount = next(f for f in data["fields"] if f["name"] == "amount_minor")
    amount["type"] = "int"  # narrowing long -> int loses data
    (tmp_path / "payment.succeeded.v3.avsc").write_text(json.dumps(raw))

    assert run("check", "--dir", str(tmp_path)) == 1
    assert capsys.readouterr().out.splitlines() == [
        "payment.succeeded v3 cannot read v1: data.amount_minor: "
        "writer type long cannot be read as int",
        "payment.succeeded v3 cannot read v2: data.amount_minor: "
        "writer type long cannot be read as int",
        "5 types, 7 versions: BACKWARD_TRANSITIVE broken (2 incompatibilities)",
    ]


def test_bad_folder_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "payment.succeeded.v1.avsc").write_text("[")
    with pytest.raises(ConfigError, match=r"payment\.succeeded\.v1\.avsc: not a readable JSON"):
        run("list", "--dir", str(tmp_path))


def test_bare_schemas_prints_help(capsys: pytest.CaptureFixture[str]) -> None:
    assert run() == 2
    assert "list" in capsys.readouterr().out


def test_through_hub_main(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    from hub.cli import main

    assert main(["schemas", "check"]) == 0
    assert capsys.readouterr().out.endswith("versions: BACKWARD_TRANSITIVE holds\n")
    assert main(["schemas", "list", "--dir", str(tmp_path / "nope")]) == 2
    assert capsys.readouterr().err == (
        f"hub: configuration error: {tmp_path / 'nope'}: schema folder not found\n"
    )
