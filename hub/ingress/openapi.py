"""The OpenAPI document of the ingress, built from the endpoint list and the Avro schemas."""
from __future__ import annotations

from typing import Any

from hub import __version__
from hub.schemastore import SchemaStore

__all__ = ["avro_to_json_schema", "openapi_document"]

_ERROR = {"type": "object", "required": ["error"],
          "properties": {"error": {"type": "string"}, "field": {"type": "string"},
                         "event_id": {"type": "string"}}}
_RETRY_AFTER = {"Retry-After": {"schema": {"type": "integer", "minimum": 1},
                                "description": "seconds to wait before retrying"}}


def _error(description: str, retry: bool = False) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description,
                              "content": {"application/json": {"schema": _ERROR}}}
    if retry:
        answer["headers"] = _RETRY_AFTER
    return answer


def avro_to_json_schema(schema: Any, named: dict[str, Any]) -> dict[str, Any]:
    """JSON Schema (OpenAPI 3.0 dialect) for the JSON form the publish API accepts."""
    if isinstance(schema, list):
        branches = [b for b in schema if b != "null"]
        inner = (avro_to_json_schema(branches[0], named) if len(branches) == 1
                 else {"oneOf": [avro_to_json_schema(b, named) for b in branches]})
        return {**inner, "nullable": True} if "null" in schema else inner
    if isinstance(schema, str):
        if schema in named:
            return avro_to_json_schema(named[schema], named)
        return _primitive(schema, None)
    kind = schema["type"]
    if kind == "record":
        props = {f["name"]: avro_to_json_schema(f["type"], named) for f in schema["fields"]}
        required = [f["name"] for f in schema["fields"] if "default" not in f]
        out: dict[str, Any] = {"type": "object", "properties": props, "additionalProperties": False}
        if required:
            out["required"] = required
        return out
    if kind == "array":
        return {"type": "array", "items": avro_to_json_schema(schema["items"], named)}
    if kind == "map":
        return {"type": "object", "additionalProperties": avro_to_json_schema(schema["values"], named)}
    if kind == "enum":
        return {"type": "string", "enum": list(schema["symbols"])}
    if isinstance(kind, str) and kind in named:
        return avro_to_json_schema(named[kind], named)
    return _primitive(kind, schema.get("logicalType"))


def _primitive(kind: str, logical: str | None) -> dict[str, Any]:
    if logical in ("timestamp-micros", "timestamp-millis"):
        return {"type": "string", "format": "date-time"}
    table: dict[str, dict[str, Any]] = {
        "int": {"type": "integer", "format": "int32"},
        "long": {"type": "integer", "format": "int64"},
        "string": {"type": "string"},
        "boolean": {"type": "boolean"},
        "float": {"type": "number"},
        "double": {"type": "number"},
        "bytes": {"type": "string", "format": "byte"},
        "null": {"nullable": True},
    }
    return table.get(kind, {})


def _event_schemas(store: SchemaStore) -> list[dict[str, Any]]:
    variants = []
    for event_type in sorted(store.types()):
        if event_type == "webhook.received":
            continue
        info = store.latest(event_type)
        named = info.parsed.get("__named_schemas", {})
        data = next(f for f in info.parsed["fields"] if f["name"] == "data")
        variants.append({
            "type": "object",
            "title": event_type,
            "required": ["type", "data"],
            "additionalProperties": False,
            "properties": {
                "type": {"type": "string", "enum": [event_type]},
                "schema_version": {"type": "integer", "enum": store.versions(event_type)},
                "subject": {"type": "string", "minLength": 1, "maxLength": 500},
                "correlation_id": {"type": "string", "minLength": 1, "maxLength": 500},
                "causation_id": {"type": "string", "minLength": 1, "maxLength": 500},
                "data": avro_to_json_schema(data["type"], named),
            },
        })
    return variants


def openapi_document(store: SchemaStore, endpoints: list[str] | None = None) -> dict[str, Any]:
    event = {"oneOf": _event_schemas(store)}
    accepted = {"type": "object", "required": ["event_id", "type", "topic", "partition", "offset"],
                "properties": {"event_id": {"type": "string", "format": "uuid"},
                               "type": {"type": "string"}, "topic": {"type": "string"},
                               "partition": {"type": "integer"}, "offset": {"type": "integer"}}}
    publish_errors = {
        "400": _error("malformed JSON or Idempotency-Key"),
        "401": _error("missing or invalid API key"),
        "403": _error("the key may not publish this event type"),
        "408": _error("the request took too long"),
        "409": _error("Idempotency-Key reused with a different request"),
        "413": _error("body over the limit"),
        "422": _error("not valid for the event type's schema; `field` names the culprit"),
        "429": _error("over this client's rate", retry=True),
        "503": _error("the event log or database did not answer; nothing was written", retry=True),
    }
    idem = {"name": "Idempotency-Key", "in": "header", "required": False,
            "schema": {"type": "string", "minLength": 1, "maxLength": 255}}
    return {
        "openapi": "3.0.3",
        "info": {"title": "hub ingress", "version": __version__,
                 "description": "Verified provider webhooks and the publish API; every 2xx means "
                                "the event log acknowledged the write."},
        "components": {"securitySchemes": {"apiKey": {"type": "http", "scheme": "bearer"}}},
        "paths": {
            "/webhooks/{endpoint}": {"post": {
                "operationId": "receiveWebhook",
                "summary": "A provider delivery, verified by the endpoint's signature scheme",
                "parameters": [{"name": "endpoint", "in": "path", "required": True,
                                "schema": {"type": "string", **({"enum": sorted(endpoints)}
                                                                if endpoints else {})}}],
                "requestBody": {"required": True, "content": {
                    "application/json": {"schema": {}},
                    "application/x-www-form-urlencoded": {"schema": {"type": "object"}}}},
                "responses": {
                    "200": {"description": "a redelivery of an accepted provider event"},
                    "202": {"description": "verified and written to the log"},
                    "401": _error("missing, wrong or stale signature"),
                    "404": _error("unknown endpoint"),
                    "408": _error("the request took too long"),
                    "413": _error("body over the limit"),
                    "422": _error("verified, but could not be turned into an event"),
                    "429": _error("over this sender's rate", retry=True),
                    "503": _error("the event log or database did not answer", retry=True),
                },
            }},
            "/events": {"post": {
                "operationId": "publishEvent", "security": [{"apiKey": []}],
                "parameters": [idem],
                "requestBody": {"required": True,
                                "content": {"application/json": {"schema": event}}},
                "responses": {"202": {"description": "written to the log", "content": {
                    "application/json": {"schema": accepted}}}, **publish_errors},
            }},
            "/events:batch": {"post": {
                "operationId": "publishEvents", "security": [{"apiKey": []}],
                "parameters": [idem],
                "requestBody": {"required": True, "content": {"application/json": {"schema": {
                    "type": "object", "required": ["events"], "additionalProperties": False,
                    "properties": {"events": {"type": "array", "minItems": 1, "maxItems": 500,
                                              "items": event}}}}}},
                "responses": {"202": {"description": "all written to the log", "content": {
                    "application/json": {"schema": {"type": "object", "properties": {
                        "events": {"type": "array", "items": accepted}}}}}}, **publish_errors},
            }},
            "/healthz": {"get": {"operationId": "healthz",
                                 "responses": {"200": {"description": "the process is up"}}}},
            "/readyz": {"get": {"operationId": "readyz", "responses": {
                "200": {"description": "broker and database reachable"},
                "503": {"description": "broker or database unreachable"}}}},
        },
    }
