from __future__ import annotations

import copy
import io
import json
import shutil
from pathlib import Path
from typing import Any

import fastavro
import pytest

from hub import codec
from hub.compat import Incompatibility, check_backward_transitive, check_pair
from hub.schemastore import DEFAULT_DIR, SchemaStore
from tests.examples import example_event

pytestmark = pytest.mark.unit


def rec(fields: list[dict[str, Any]], name: str = "R", **extra: Any) -> dict[str, Any]:
    return {"type": "record", "name": name, "namespace": "t", "fields": fields, **extra}


def fld(name: str, type_: Any, **extra: Any) -> dict[str, Any]:
    return {"name": name, "type": type_, **extra}


def one(type_: Any) -> dict[str, Any]:
    """A record with one field `f` of `type_`."""
    return rec([fld("f", type_)])


def enum(symbols: list[str], **extra: Any) -> dict[str, Any]:
    return {"type": "enum", "name": "E", "symbols": symbols, **extra}


# -- records --


def test_added_field_with_default_is_compatible() -> None:
    writer = rec([fld("a", "int")])
    reader = rec([fld("a", "int"), fld("b", ["null", "long"], default=None)])
    assert check_pair(reader, writer) == []


def test_added_field_without_default_is_not() -> None:
    writer = rec([fld("a", "int")])
    reader = rec([fld("a", "int"), fld("b", "long")])
    assert check_pair(reader, writer) == [
        ("b", "reader field has no default and the writer has no such field")
    ]


def test_removed_field_is_ignored() -> None:
    assert check_pair(rec([fld("a", "int")]), rec([fld("a", "int"), fld("gone", "string")])) == []


def test_renamed_field_needs_a_reader_alias() -> None:
    writer = rec([fld("old", "int")])
    assert check_pair(rec([fld("new", "int", aliases=["old"])]), writer) == []
    assert check_pair(rec([fld("new", "int")]), writer) == [
        ("new", "reader field has no default and the writer has no such field")
    ]


def test_default_must_fit_the_first_union_branch() -> None:
    writer = rec([fld("a", "int")])
    reader = rec([fld("a", "int"), fld("b", ["null", "long"], default=0)])
    assert check_pair(reader, writer) == [
        ("b", "default 0 does not fit null (for a union: its first branch)")
    ]


def test_record_names_must_match_or_be_aliased() -> None:
    writer = rec([fld("a", "int")], name="V1")
    assert check_pair(rec([fld("a", "int")], name="V2", aliases=["t.V1"]), writer) == []
    assert check_pair(rec([fld("a", "int")], name="V2", aliases=["V1"]), writer) == []
    assert check_pair(rec([fld("a", "int")], name="V2"), writer) == [
        ("", "writer record t.V1 does not match reader t.V2 "
             "(names differ and no reader alias names it)")
    ]


def test_nested_paths() -> None:
    inner_w = rec([fld("x", "int")], name="Inner")
    inner_r = rec([fld("x", "int"), fld("fee_minor", "long")], name="Inner")
    assert check_pair(rec([fld("data", inner_r)]), rec([fld("data", inner_w)])) == [
        ("data.fee_minor", "reader field has no default and the writer has no such field")
    ]


def test_recursive_types_terminate() -> None:
    node = rec([fld("value", "int"), fld("next", ["null", "t.R"], default=None)])
    assert check_pair(node, copy.deepcopy(node)) == []


# -- primitives --


@pytest.mark.parametrize(
    ("writer", "reader"),
    [("int", "long"), ("int", "float"), ("int", "double"), ("long", "float"),
     ("long", "double"), ("float", "double"), ("string", "bytes"), ("bytes", "string"),
     ("boolean", "boolean")],
)
def test_promotions(writer: str, reader: str) -> None:
    assert check_pair(one(reader), one(writer)) == []


@pytest.mark.parametrize(
    ("writer", "reader"),
    [("long", "int"), ("double", "float"), ("float", "long"), ("string", "int"),
     ("boolean", "int"), ("null", "string")],
)
def test_no_demotions(writer: str, reader: str) -> None:
    assert check_pair(one(reader), one(writer)) == [
        ("f", f"writer type {writer} cannot be read as {reader}")
    ]


def test_logical_type_change_is_flagged() -> None:
    millis = {"type": "long", "logicalType": "timestamp-millis"}
    micros = {"type": "long", "logicalType": "timestamp-micros"}
    assert check_pair(one(micros), one(millis)) == [
        ("f", "logicalType changed from timestamp-millis to timestamp-micros; "
              "values change meaning")
    ]
    assert check_pair(one(micros), one("long")) == []


# -- enums --


def test_enum_writer_symbols_must_be_known() -> None:
    assert check_pair(one(enum(["A", "B", "C"])), one(enum(["A", "B"]))) == []
    assert check_pair(one(enum(["A"])), one(enum(["A", "B", "C"]))) == [
        ("f", "writer enum symbols B, C are not reader symbols and the reader enum has no default")
    ]


def test_enum_default_absorbs_unknown_symbols() -> None:
    assert check_pair(one(enum(["A"], default="A")), one(enum(["A", "B"]))) == []


def test_enum_names_must_match() -> None:
    other = {"type": "enum", "name": "Other", "symbols": ["A"]}
    assert check_pair(one(other), one(enum(["A"]))) == [
        ("f", "writer enum t.E does not match reader t.Other "
              "(names differ and no reader alias names it)")
    ]


# -- unions --


def test_union_to_union() -> None:
    assert check_pair(one(["null", "long"]), one(["null", "int"])) == []
    assert check_pair(one(["null", "string"]), one(["null", "int"])) == [
        ("f", "writer union branch int: writer type int matches no branch of reader union "
              "[null, string]")
    ]


def test_union_to_single_type_needs_every_branch() -> None:
    assert check_pair(one("string"), one(["null", "string"])) == [
        ("f", "writer union branch null: writer type null cannot be read as string")
    ]


def test_single_type_to_union() -> None:
    assert check_pair(one(["null", "long"]), one("long")) == []
    assert check_pair(one(["null", "double"]), one("int")) == []
    assert check_pair(one(["null", "string"]), one("int")) == [
        ("f", "writer type int matches no branch of reader union [null, string]")
    ]


def test_record_resolves_deeply_into_its_reader_union_branch() -> None:
    w = one(rec([fld("x", "int")], name="A"))
    r = one(["null", rec([fld("x", "int"), fld("y", "int")], name="A")])
    assert check_pair(r, w) == [
        ("f.y", "reader field has no default and the writer has no such field")
    ]


# -- arrays, maps, fixed --


def test_arrays_and_maps_resolve_their_items() -> None:
    arr = {"type": "array", "items": "int"}
    assert check_pair(one({"type": "array", "items": "long"}), one(arr)) == []
    assert check_pair(one({"type": "array", "items": "string"}), one(arr)) == [
        ("f[]", "writer type int cannot be read as string")
    ]
    long_map = {"type": "map", "values": "long"}
    assert check_pair(one({"type": "map", "values": "int"}), one(long_map)) == [
        ("f{}", "writer type long cannot be read as int")
    ]
    assert check_pair(one({"type": "map", "values": "int"}), one(arr)) == [
        ("f", "writer type array cannot be read as map")
    ]


def test_fixed_size_and_name() -> None:
    def fixed(size: int, name: str = "F") -> dict[str, Any]:
        return {"type": "fixed", "name": name, "size": size}

    assert check_pair(one(fixed(16)), one(fixed(16))) == []
    assert check_pair(one(fixed(8)), one(fixed(16))) == [
        ("f", "fixed t.F size changed from 16 to 8")
    ]
    assert check_pair(one(fixed(16, "G")), one(fixed(16)))[0][1].startswith(
        "writer fixed t.F does not match reader t.G"
    )


# -- the real folder --


def test_the_schemas_folder_is_backward_transitive() -> None:
    assert check_backward_transitive(SchemaStore.load()) == []


def _add_version(folder: Path, version: int, base: int, new_field: dict[str, Any]) -> None:
    raw = json.loads((folder / f"payment.succeeded.v{base}.avsc").read_text())
    raw["name"] = f"PaymentSucceededV{version}"
    raw["aliases"] = [f"hub.events.PaymentSucceededV{k}" for k in range(1, version)]
    data = raw["fields"][-1]["type"]
    data["name"] = f"PaymentSucceededV{version}Data"
    data["aliases"] = [f"hub.events.PaymentSucceededV{k}Data" for k in range(1, version)]
    data["fields"].append(new_field)
    (folder / f"payment.succeeded.v{version}.avsc").write_text(json.dumps(raw))


def test_a_required_new_field_breaks_every_earlier_version(tmp_path: Path) -> None:
    for path in DEFAULT_DIR.glob("payment.succeeded.*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    _add_version(tmp_path, 3, 2, {"name": "settled_at", "type": "long"})
    reason = "reader field has no default and the writer has no such field"
    assert check_backward_transitive(SchemaStore.load(tmp_path)) == [
        Incompatibility("payment.succeeded", 3, 1, "data.settled_at", reason),
        Incompatibility("payment.succeeded", 3, 2, "data.settled_at", reason),
    ]


def test_transitive_means_every_earlier_version(tmp_path: Path) -> None:
    # v3 drops v2's alias to v1: it still reads v2, but no longer v1.
    for path in DEFAULT_DIR.glob("payment.succeeded.*.avsc"):
        shutil.copy(path, tmp_path / path.name)
    _add_version(tmp_path, 3, 2, {"name": "note", "type": ["null", "string"], "default": None})
    raw = json.loads((tmp_path / "payment.succeeded.v3.avsc").read_text())
    raw["aliases"] = ["hub.events.PaymentSucceededV2"]
    (tmp_path / "payment.succeeded.v3.avsc").write_text(json.dumps(raw))
    problems = check_backward_transitive(SchemaStore.load(tmp_path))
    assert [(p.reader_version, p.writer_version, p.path) for p in problems] == [(3, 1, "")]
    assert str(problems[0]).startswith("payment.succeeded v3 cannot read v1: (record): writer")


# -- proof by round trip --


def test_v1_data_decodes_under_v2() -> None:
    store = SchemaStore.load()
    event = example_event("payment.succeeded", 1)
    value = codec.encode(store, event)

    decoded = codec.decode(store, value, reader_version=2)
    assert decoded.schema_version == 2
    assert decoded.data == {**event.data, "fee_minor": None}

    # The same with plain fastavro schema resolution, from the files alone.
    v1, v2 = (store.get("payment.succeeded", v) for v in (1, 2))
    record = fastavro.schemaless_reader(io.BytesIO(value[10:]), v1.parsed, v2.parsed)
    assert isinstance(record, dict)
    assert record["data"]["fee_minor"] is None
    assert record["data"]["amount_minor"] == event.data["amount_minor"]
