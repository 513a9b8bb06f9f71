"""The OpenAPI document again as 3.0, in the subset Salesforce External Services imports.

Made from the 3.1 document (openapi.py), itself made from the route table, so the two
cannot drift. External Services reads OpenAPI 2.0 or a subset of 3.0: JSON bodies
only, one type per schema (no `["string", "null"]`: `nullable` instead), every enum
typed, no `oneOf`/`anyOf`/`allOf`. So the JSON API operations are kept (pages, text
answers and this document are not), and each configured intake source gets its own
operation (`POST /v1/intake/hubspot`) whose body is the shape its mapping reads,
so a Flow can fill it field by field.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..daemon.intake import DEFAULT_SOURCE, Source
from ..engine.codegen import Compiled
from . import openapi
from .endpoint import Endpoint

_KINDS = {"int": "integer", "number": "number", "bool": "boolean"}
_SKIP = {"/v1/openapi.json", "/v1/openapi-3.0.json", "/v1/metrics", "/v1/intake", "/v1/intake/{source}"}
_SKIP |= {"/v1/teams/{team}/intake", "/v1/teams/{team}/intake/{source}"}  # one operation per source and form, below


def schema30(s: Any) -> Any:
    """One 3.1 schema as 3.0: type lists to `nullable`, enums typed, `oneOf` to its first choice."""
    if isinstance(s, list):
        return [schema30(x) for x in s]
    if not isinstance(s, dict):
        return s
    out = {k: schema30(v) for k, v in s.items() if k != "oneOf"}
    if "oneOf" in s:
        first = schema30(s["oneOf"][0])
        out = {**first, **{k: v for k, v in out.items() if k != "type"}}
    t = out.get("type")
    if isinstance(t, list):
        kinds = [x for x in t if x != "null"]
        out["type"] = kinds[0] if kinds else "string"
        if "null" in t:
            out["nullable"] = True
    if "enum" in out:
        words = [w for w in out["enum"] if w is not None]
        if len(words) != len(out["enum"]):
            out["nullable"] = True
        out["enum"] = words
        out.setdefault("type", "string")
    return out


def payload_schema(src: Source, c: Compiled | None) -> dict:
    """The JSON a source's mapping reads, as nested objects: each mapped path a property, typed by its lead field."""
    kinds = {f.name: f.type.kind for f in c.policy.fields} if c is not None else {}
    root: dict[str, Any] = {"type": "object", "properties": {}}
    leaves = [(f.column, f) for f in src.spec.fields.values() if f.column and f.lookup is None]
    if src.spec.id:
        leaves.append((src.spec.id, None))
    for column, f in leaves:
        parts = column.split(".") if f is None or f.path else [column]
        node = root
        for part in parts[:-1]:
            node = node["properties"].setdefault(part, {"type": "object", "properties": {}})
        if f is None:
            leaf = {"type": "string", "description": "the lead id"}
        elif f.thresholds:
            leaf = {"type": "number", "description": f"read by threshold into {f.name}"}
        elif f.values or f.transform:
            leaf = {"type": "string", "description": f"mapped into {f.name}"}
        else:
            leaf = {"type": _KINDS.get(kinds.get(f.name, ""), "string"), "description": f"read as {f.name}"}
        node["properties"].setdefault(parts[-1], leaf)
    return root


def document(
    endpoints: Sequence[Endpoint], c: Compiled | None, sources: dict[str, Source], owner_names: Sequence[str] = ()
) -> dict[str, Any]:
    """The OpenAPI 3.0.3 document: the JSON operations, and one intake operation per source.

    `owner_names`: the owner id names of an --owners file, typed in the answer beside the sources' own."""
    doc = openapi.document(endpoints, c)
    paths: dict[str, dict] = {}
    for p, item in doc["paths"].items():
        if p in _SKIP or not p.startswith("/v1/"):
            continue
        paths[p] = {m: _json_only(op) for m, op in item.items()}
    schemas = {k: schema30(v) for k, v in doc["components"]["schemas"].items() if k not in ("OpenAPI", "Payload")}
    names = sorted({k for src in sources.values() for ids in src.owners.values() for k in ids} | set(owner_names))
    if names and "IntakeDecision" in schemas:  # a Flow reads named fields: the owner id names this daemon knows
        owner = {"type": "object", "properties": {k: {"type": "string"} for k in names}, "description": "the CRM's ids of the rep"}
        schemas["IntakeDecision"]["properties"]["owner_ids"] = owner
    for name, src in sorted(sources.items()):
        key = "Payload_" + name.replace("-", "_")
        schemas[key] = payload_schema(src, c)
        for team in ("", "/teams/{team}"):  # through the front door (or the one team), and into one team
            path = f"/v1{team}/intake" + ("" if name == DEFAULT_SOURCE else f"/{name}")
            op = _json_only(doc["paths"][f"/v1{team}/intake"]["post"])
            op["operationId"] = "intake_" + name.replace("-", "_") + ("_for_team" if team else "")
            op["summary"] = f"Decide a lead sent in the {name} shape (mapping {src.file})" + (" -- in one team" if team else "")
            op["requestBody"] = {"required": True, "content": {"application/json": {"schema": {"$ref": f"#/components/schemas/{key}"}}}}
            if src.options.signature is None:
                op.pop("security", None)
            paths[path] = {"post": op}
    return {**doc, "openapi": "3.0.3", "paths": paths, "components": {**doc["components"], "schemas": schemas}}


def _json_only(op: dict) -> dict:
    out = dict(op)
    out["responses"] = {}
    for status, resp in op["responses"].items():
        r = dict(resp)
        if "content" in r:
            r["content"] = {m: {"schema": schema30(v["schema"])} for m, v in r["content"].items() if m == "application/json"}
            if not r["content"]:
                del r["content"]
        out["responses"][status] = r
    if "parameters" in out:
        out["parameters"] = [{**p, "schema": schema30(p["schema"])} for p in out["parameters"]]
    return out
