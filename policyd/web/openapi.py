"""The OpenAPI document, made from the route table and the active policy's `lead` block.

Nothing here is kept by hand beside the routes: every operation of the table
(routes.py) becomes a path item with its operationId, parameters, request body,
success schemas and error answers (401/403 for a role, 400/413 for a JSON body,
plus the errors the endpoint declares). The assign body is the active policy's
lead schema as JSON Schema: types, word sets and rep names as enums, defaults,
optional fields nullable (null means missing), unknown fields refused.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from ..engine.codegen import Compiled
from .endpoint import Endpoint
from .schemas import LEAD_ID_PATTERN, SCHEMAS, _ref

ERRORS = {
    400: "The request cannot be read (bad JSON, a bad time or format) or is refused",
    401: "No token, or an unknown token",
    403: "The token's role is too low",
    404: "No such lead, rep, version or record",
    409: "The lead is in a state that forbids the change",
    413: "The request body is over the size limit",
    422: "A field of the request is invalid (`fields` names each)",
    429: "The daemon is behind: nothing was taken; send it again after `Retry-After` seconds",
    503: "No policy version is active yet",
}
_TYPES = {"int": "integer", "number": "number", "text": "string", "bool": "boolean"}


def _nullable(t: str) -> dict:
    return {"type": [t, "null"]}


def lead_schema(c: Compiled | None) -> dict[str, Any]:
    """The lead block of the policy as JSON Schema (a bare object when no version is active)."""
    if c is None:
        return {"type": "object", "description": "A lead as the active policy's `lead` block describes it (no version is active now)."}
    props: dict[str, Any] = {}
    required = []
    for f in c.policy.fields:
        kind = f.type.kind
        may_be_missing = f.optional or f.has_default
        if kind in ("enum", "rep"):
            words = list(f.type.words) if kind == "enum" else list(c.rep_names)
            schema: dict[str, Any] = {
                "type": ["string", "null"] if may_be_missing else "string",
                "enum": words + ([None] if may_be_missing else []),
            }
        else:
            schema = _nullable(_TYPES[kind]) if may_be_missing else {"type": _TYPES[kind]}
        schema["description"] = "a rep of the team" if kind == "rep" else f"{f.type}" + ("" if not f.optional else ", may be missing")
        if f.name == "id" and kind == "text":
            schema["pattern"] = LEAD_ID_PATTERN
            schema["description"] = "the lead's id: 1 to 128 of A-Z a-z 0-9 . _ : @ -, not . or .. (docs/security.md)"
        if f.has_default:
            schema["default"] = f.default
        props[f.name] = schema
        if not may_be_missing:
            required.append(f.name)
    out: dict[str, Any] = {
        "type": "object",
        "description": "A lead as the active policy's `lead` block describes it; null means missing. The daemon needs `id`.",
        "properties": props,
        "additionalProperties": False,
    }
    if "id" in c.fields and "id" not in required:
        required.insert(0, "id")
    if required:
        out["required"] = required
    return out


def _success(status: int, what: str) -> dict:
    if what.startswith("text/"):
        return {"description": "OK", "content": {what: {"schema": {"type": "string"}}}}
    if status in (301, 302, 303, 307):
        return {"description": what or "Redirect"}
    desc = {201: "Created"}.get(status, "OK")
    return {"description": desc, "content": {"application/json": {"schema": _ref(what)}}} if what else {"description": desc}


def _operation(ep: Endpoint) -> dict:
    op: dict[str, Any] = {"operationId": ep.operation_id, "summary": ep.summary}
    op["responses"] = {str(s): _success(s, w) for s, w in ep.ok.items()}
    for s in ep.ok:
        for media in ep.also:
            op["responses"][str(s)].setdefault("content", {})[media] = {"schema": {"type": "string"}}
    errors = set(ep.errors) | {400}  # the HTTP layer refuses a malformed request (bad headers, framing) anywhere
    if ep.role is None:
        op["security"] = []
    else:
        op["description"] = f"Needs a token with role `{ep.role}` or higher." + (
            " Browsers may pass `?token=` once; it becomes a cookie." if ep.page else ""
        )
        errors |= {401, 403}
    if ep.body:
        op["requestBody"] = {"required": ep.body_required, "content": {"application/json": {"schema": _ref(ep.body)}}}
        errors |= {400, 413}
    for s in sorted(errors):
        media = "text/html" if ep.page else "application/json"
        schema = {"type": "string"} if ep.page else _ref("Error")
        op["responses"][str(s)] = {"description": ERRORS[s], "content": {media: {"schema": schema}}}
    # a request the HTTP parser cannot read never reaches the app: the server answers in plain text
    op["responses"]["400"]["content"].setdefault("text/plain", {"schema": {"type": "string"}})
    if ep.params:
        op["parameters"] = [
            {
                "name": p.name,
                "in": p.where,
                "required": p.where == "path",
                **({"description": p.description} if p.description else {}),
                "schema": {"type": "string", **({"enum": list(p.enum)} if p.enum else {}), **({"pattern": p.pattern} if p.pattern else {})},
            }
            for p in ep.params
        ]
    return op


def document(endpoints: Sequence[Endpoint], c: Compiled | None) -> dict[str, Any]:
    """The OpenAPI 3.1 document of these endpoints, the lead schema from the policy in force."""
    paths: dict[str, dict] = {}
    for ep in endpoints:
        if ep.documented:
            paths.setdefault(ep.path, {})[ep.method.lower()] = _operation(ep)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "policyd",
            "version": "1",
            "description": "Who gets a lead, and why. Errors are {error, message[, fields]}.",
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer"}},
            "schemas": {**SCHEMAS, "Lead": lead_schema(c)},
        },
        "security": [{"bearer": []}],
        "paths": paths,
    }
