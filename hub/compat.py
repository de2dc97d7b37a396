"""BACKWARD_TRANSITIVE compatibility: each version of a type reads data of every earlier one.

The rules are Avro's schema resolution (spec, "Schema Resolution"): records match fields by
name or reader alias, a reader field the writer lacks needs a default, writer-only fields are
skipped; int/long/float/double promote upwards and string/bytes interchange; a writer enum
symbol must be a reader symbol unless the reader enum has a default; each writer union branch
must resolve to a reader branch; named types match by unqualified name or reader alias.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, cast

import fastavro

from hub.schemastore import SchemaStore

__all__ = ["Incompatibility", "check_backward_transitive", "check_pair"]

_PRIMITIVES = frozenset({"null", "boolean", "int", "long", "float", "double", "bytes", "string"})
_PROMOTIONS = {
    "int": {"long", "float", "double"},
    "long": {"float", "double"},
    "float": {"double"},
    "string": {"bytes"},
    "bytes": {"string"},
}
_NAMED = frozenset({"record", "error", "enum", "fixed"})
_DEFAULT_TYPES: dict[str, tuple[type[Any], ...]] = {
    "null": (type(None),), "boolean": (bool,), "int": (int,), "long": (int,),
    "float": (int, float), "double": (int, float), "bytes": (str,), "string": (str,),
    "record": (dict,), "error": (dict,), "enum": (str,), "array": (list,), "map": (dict,),
    "fixed": (str,),
}


@dataclass(frozen=True)
class Incompatibility:
    """Data of `type` written with `writer_version` cannot be read with `reader_version`."""

    type: str
    reader_version: int
    writer_version: int
    path: str  # e.g. data.fee_minor; "" for the top-level record
    reason: str

    def __str__(self) -> str:
        where = self.path or "(record)"
        return (f"{self.type} v{self.reader_version} cannot read v{self.writer_version}: "
                f"{where}: {self.reason}")


def check_backward_transitive(store: SchemaStore) -> list[Incompatibility]:
    """Every (reader N, writer k < N) pair of each type that does not resolve; empty if all do."""
    out: list[Incompatibility] = []
    for type_ in store.types():
        versions = store.versions(type_)
        for i, n in enumerate(versions):
            reader = store.get(type_, n).parsed
            for k in versions[:i]:
                for path, reason in check_pair(reader, store.get(type_, k).parsed):
                    out.append(Incompatibility(type_, n, k, path, reason))
    return out


def check_pair(reader: Any, writer: Any) -> list[tuple[str, str]]:
    """(path, reason) for each place where data written with `writer` cannot be read with `reader`.

    Both are Avro schemas as JSON values (raw or already parsed by fastavro).
    """
    r = _parse(reader)
    w = _parse(writer)
    return _Resolver(_names(w), _names(r)).resolve(w, r, "")


def _parse(schema: Any) -> Any:
    if isinstance(schema, dict) and schema.get("__fastavro_parsed"):
        return schema
    return cast(Any, fastavro.parse_schema(schema, named_schemas={}))


def _names(schema: Any, table: dict[str, Any] | None = None) -> dict[str, Any]:
    """Every named type defined in a parsed schema, by full name."""
    table = {} if table is None else table
    if isinstance(schema, list):
        for branch in schema:
            _names(branch, table)
    elif isinstance(schema, dict):
        t = schema["type"]
        if t in _NAMED:
            table[schema["name"]] = schema
        for f in schema.get("fields", ()):
            _names(f["type"], table)
        for key in ("items", "values"):
            if key in schema:
                _names(schema[key], table)
        if isinstance(t, dict | list):
            _names(t, table)
    return table


def _short(name: str) -> str:
    return name.rpartition(".")[2]


class _Resolver:
    def __init__(self, writer_names: dict[str, Any], reader_names: dict[str, Any]) -> None:
        self.wn = writer_names
        self.rn = reader_names
        self.seen: set[tuple[str, str]] = set()  # record pairs being resolved (recursive types)

    def deref(self, s: Any, names: dict[str, Any]) -> Any:
        while True:
            if isinstance(s, str) and s not in _PRIMITIVES:
                s = names[s]
            elif isinstance(s, dict) and not isinstance(s["type"], str):
                s = s["type"]
            elif isinstance(s, dict) and s["type"] not in _DEFAULT_TYPES:
                s = s["type"]  # {"type": "some.Named"}
            else:
                return s

    def resolve(self, w: Any, r: Any, path: str) -> list[tuple[str, str]]:
        w, r = self.deref(w, self.wn), self.deref(r, self.rn)
        if isinstance(w, list):
            out = []
            for branch in w:
                what = _desc(self.deref(branch, self.wn))
                for p, reason in self.resolve(branch, r, path):
                    out.append((p, f"writer union branch {what}: {reason}"))
            return out
        if isinstance(r, list):
            branches = [self.deref(b, self.rn) for b in r]
            exact = [b for b in branches if _kind(b) == _kind(w) and self.same_name(w, b)]
            loose = [b for b in branches if _shallow_match(w, b, self)]
            if not (exact or loose):
                return [(path, f"writer type {_desc(w)} matches no branch of reader union "
                               f"[{', '.join(_desc(b) for b in branches)}]")]
            return self.resolve(w, (exact or loose)[0], path)
        wk, rk = _kind(w), _kind(r)
        if wk in _PRIMITIVES and rk in _PRIMITIVES:
            if wk != rk and rk not in _PROMOTIONS.get(wk, ()):
                return [(path, f"writer type {wk} cannot be read as {rk}")]
            wl, rl = _logical(w), _logical(r)
            if wl and rl and wl != rl:
                return [(path, f"logicalType changed from {wl} to {rl}; values change meaning")]
            return []
        if wk != rk and not ({wk, rk} <= {"record", "error"}):
            return [(path, f"writer type {_desc(w)} cannot be read as {_desc(r)}")]
        if wk in _NAMED and not self.same_name(w, r):
            return [(path, f"writer {wk} {w['name']} does not match reader {r['name']} "
                           "(names differ and no reader alias names it)")]
        if wk == "array":
            return self.resolve(w["items"], r["items"], path + "[]")
        if wk == "map":
            return self.resolve(w["values"], r["values"], path + "{}")
        if wk == "fixed":
            if w["size"] != r["size"]:
                return [(path, f"fixed {r['name']} size changed from {w['size']} to {r['size']}")]
            return []
        if wk == "enum":
            missing = [s for s in w["symbols"] if s not in r["symbols"]]
            if missing and "default" not in r:
                return [(path, f"writer enum symbols {', '.join(missing)} are not reader symbols "
                               "and the reader enum has no default")]
            return []
        return self.resolve_record(w, r, path)

    def resolve_record(
        self, w: dict[str, Any], r: dict[str, Any], path: str
    ) -> list[tuple[str, str]]:
        key = (w["name"], r["name"])
        if key in self.seen:
            return []
        self.seen.add(key)
        writer_fields = {f["name"]: f for f in w["fields"]}
        out: list[tuple[str, str]] = []
        for rf in r["fields"]:
            fpath = f"{path}.{rf['name']}" if path else rf["name"]
            candidates = [rf["name"], *rf.get("aliases", ())]
            wf = next((writer_fields[c] for c in candidates if c in writer_fields), None)
            if wf is not None:
                out.extend(self.resolve(wf["type"], rf["type"], fpath))
            elif "default" not in rf:
                out.append((fpath, "reader field has no default and the writer has no such field"))
            else:
                bad = self.bad_default(rf["type"], rf["default"])
                if bad:
                    out.append((fpath, bad))
        self.seen.discard(key)
        return out

    def same_name(self, w: Any, r: Any) -> bool:
        if not (isinstance(w, dict) and w["type"] in _NAMED):
            return True
        aliases = {_short(a) for a in r.get("aliases", ())}
        return _short(w["name"]) == _short(r["name"]) or _short(w["name"]) in aliases

    def bad_default(self, schema: Any, default: Any) -> str | None:
        """Why `default` does not fit `schema` (for a union: its first branch), or None."""
        s = self.deref(schema, self.rn)
        if isinstance(s, list):
            s = self.deref(s[0], self.rn)
        k = _kind(s)
        is_bool = isinstance(default, bool)
        ok = isinstance(default, _DEFAULT_TYPES[k]) and (k == "boolean") == is_bool
        if ok and k == "enum":
            ok = default in s["symbols"]
        if ok:
            return None
        return f"default {default!r} does not fit {_desc(s)} (for a union: its first branch)"


def _kind(s: Any) -> str:
    if isinstance(s, str):
        return s
    if isinstance(s, list):
        return "union"
    return str(s["type"])


def _logical(s: Any) -> str | None:
    return s.get("logicalType") if isinstance(s, dict) else None


def _desc(s: Any) -> str:
    k = _kind(s)
    return f"{k} {s['name']}" if k in _NAMED else k


def _shallow_match(w: Any, r: Any, resolver: _Resolver) -> bool:
    wk, rk = _kind(w), _kind(r)
    if wk in _PRIMITIVES and rk in _PRIMITIVES:
        return wk == rk or rk in _PROMOTIONS.get(wk, ())
    if wk in _NAMED and rk in _NAMED:
        return resolver.same_name(w, r) and (wk == rk or {wk, rk} <= {"record", "error"})
    return wk == rk and wk in ("array", "map")
