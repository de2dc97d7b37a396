from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
from fastavro.schema import fingerprint as fastavro_fingerprint
from fastavro.schema import to_parsing_canonical_form

from hub.errors import ConfigError
from hub.schemastore import (
    DEFAULT_DIR,
    ENVELOPE_FIELDS,
    SchemaStore,
    canonical_form,
    crc64_avro,
    record_name,
)

pytestmark = pytest.mark.unit

# Apache Avro's published CRC-64-AVRO vectors (share/test/data/schema-tests.txt), signed int64.
SPEC_VECTORS = [
    ('"null"', 7195948357588979594),
    ('"boolean"', -6970731678124411036),
    ('"int"', 8247732601305521295),
    ('{"name":"foo","type":"fixed","size":15}', 1756455273707447556),
    ('{"name":"foo","type":"record","fields":[{"name":"f1","type":"boolean"}]}',
     7843277075252814651),
    ('{"name":"PigValue","type":"record","fields":[{"name":"value",'
     '"type":["null","int","long","PigValue"]}]}', -1759257747318642341),
]


@pytest.mark.parametrize(("canonical", "expected"), SPEC_VECTORS)
def test_crc64_matches_the_avro_spec_vectors(canonical: str, expected: int) -> None:
    assert crc64_avro(canonical.encode()) == expected.to_bytes(8, "little", signed=True)


def test_canonical_form_strips_resolves_names_and_orders_keys() -> None:
    schema = {
        "type": "record", "name": "Outer", "namespace": "a.b", "doc": "dropped",
        "aliases": ["Old"],
        "fields": [
            {"name": "x", "type": {"type": "long", "logicalType": "timestamp-micros"},
             "default": 0, "doc": "dropped"},
            {"name": "e", "type": {"symbols": ["A", "B"], "type": "enum", "name": "E",
                                   "default": "A"}},
            {"name": "again", "type": "E"},
            {"name": "r", "type": {"type": "record", "name": "c.Inner", "fields": [
                {"name": "f", "type": {"type": "fixed", "name": "F", "size": 4}}]}},
            {"name": "m", "type": {"values": {"type": "array", "items": "int"}, "type": "map"}},
            {"name": "u", "type": ["null", {"type": "string"}]},
        ],
    }
    assert canonical_form(schema) == (
        '{"name":"a.b.Outer","type":"record","fields":['
        '{"name":"x","type":"long"},'
        '{"name":"e","type":{"name":"a.b.E","type":"enum","symbols":["A","B"]}},'
        '{"name":"again","type":"a.b.E"},'
        '{"name":"r","type":{"name":"c.Inner","type":"record","fields":['
        '{"name":"f","type":{"name":"c.F","type":"fixed","size":4}}]}},'
        '{"name":"m","type":{"type":"map","values":{"type":"array","items":"int"}}},'
        '{"name":"u","type":["null","string"]}]}'
    )
    assert canonical_form(schema) == to_parsing_canonical_form(schema)


def test_store_loads_every_file_and_agrees_with_fastavro() -> None:
    store = SchemaStore.load()
    assert store.folder == DEFAULT_DIR
    assert len(store) == len(list(DEFAULT_DIR.glob("*.avsc")))
    for info in store:
        assert info.canonical == to_parsing_canonical_form(info.raw), info.path
        assert info.fingerprint_hex == fastavro_fingerprint(info.canonical, "CRC-64-AVRO")
        assert info.name == f"hub.events.{record_name(info.type, info.version)}"
        assert info.path.name == f"{info.type}.v{info.version}.avsc"
        assert isinstance(info.raw["doc"], str) and info.raw["doc"]


def test_every_schema_has_the_same_envelope() -> None:
    store = SchemaStore.load()
    first = next(iter(store))
    for info in store:
        assert tuple(f["name"] for f in info.raw["fields"]) == ENVELOPE_FIELDS
        assert info.raw["fields"][:-1] == first.raw["fields"][:-1], info.path
        data = info.raw["fields"][-1]["type"]
        assert data["name"] == f"{record_name(info.type, info.version)}Data"


def test_money_is_never_a_float() -> None:
    for info in SchemaStore.load():
        text = json.dumps(info.raw)
        assert '"float"' not in text and '"double"' not in text, info.path
        for f in info.raw["fields"][-1]["type"]["fields"]:
            if f["name"].endswith("_minor"):
                assert f["type"] in ("long", ["null", "long"]), (info.path, f["name"])


def test_lookups() -> None:
    store = SchemaStore.load()
    assert store.versions("payment.succeeded") == [1, 2]
    assert store.latest("payment.succeeded").version == 2
    assert store.get("payment.succeeded", 1).name == "hub.events.PaymentSucceededV1"
    assert store.find("payment.succeeded", 9) is None
    v1 = store.get("payment.succeeded", 1)
    assert store.by_fingerprint(v1.fingerprint) is v1
    assert store.by_fingerprint(b"\x00" * 8) is None
    assert "webhook.received" in store.types()
    with pytest.raises(KeyError, match="no schema payment.succeeded v9"):
        store.get("payment.succeeded", 9)
    with pytest.raises(KeyError, match="no schema for type nope"):
        store.latest("nope")


def test_record_name() -> None:
    assert record_name("payment.intent_requested", 1) == "PaymentIntentRequestedV1"
    assert record_name("webhook.received", 12) == "WebhookReceivedV12"


def _copy(tmp_path: Path, *names: str) -> Path:
    for name in names:
        shutil.copy(DEFAULT_DIR / name, tmp_path / name)
    return tmp_path


def test_bad_json_names_the_file(tmp_path: Path) -> None:
    (tmp_path / "payment.succeeded.v1.avsc").write_text("{not json")
    with pytest.raises(ConfigError, match=r"payment\.succeeded\.v1\.avsc: not a readable JSON"):
        SchemaStore.load(tmp_path)


def test_invalid_schema_names_the_file(tmp_path: Path) -> None:
    raw = json.loads((DEFAULT_DIR / "payment.succeeded.v1.avsc").read_text())
    raw["fields"][-1]["type"]["fields"][0]["type"] = "no.such.Type"
    (tmp_path / "payment.succeeded.v1.avsc").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match=r"payment\.succeeded\.v1\.avsc: invalid Avro schema"):
        SchemaStore.load(tmp_path)


def test_file_name_must_match_record(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "payment.succeeded.v1.avsc", tmp_path / "payment.failed.v1.avsc")
    with pytest.raises(ConfigError, match="record is named hub.events.PaymentSucceededV1, "
                                          "file name says hub.events.PaymentFailedV1"):
        SchemaStore.load(tmp_path)


def test_badly_named_file(tmp_path: Path) -> None:
    shutil.copy(DEFAULT_DIR / "payment.succeeded.v1.avsc", tmp_path / "PaymentSucceeded.avsc")
    with pytest.raises(ConfigError, match=r"PaymentSucceeded\.avsc: file name must be"):
        SchemaStore.load(tmp_path)


def test_envelope_is_required(tmp_path: Path) -> None:
    raw = json.loads((DEFAULT_DIR / "payment.succeeded.v1.avsc").read_text())
    del raw["fields"][1]
    (tmp_path / "payment.succeeded.v1.avsc").write_text(json.dumps(raw))
    with pytest.raises(ConfigError, match="fields must be id, source, type"):
        SchemaStore.load(tmp_path)


def test_duplicate_fingerprint(tmp_path: Path) -> None:
    # Record names are in the canonical form and fixed by the file name, so two files can
    # only collide by a CRC-64 collision; exercise the check through the constructor.
    _copy(tmp_path, "payment.succeeded.v1.avsc")
    store = SchemaStore.load(tmp_path)
    info = store.get("payment.succeeded", 1)
    with pytest.raises(ConfigError, match=f"same fingerprint {info.fingerprint_hex}"):
        SchemaStore([info, info], tmp_path)


def test_missing_folder(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="schema folder not found"):
        SchemaStore.load(tmp_path / "nope")
