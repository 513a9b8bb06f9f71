"""The JSON Schemas of the API's bodies and answers, named for `#/components/schemas`.

Kept apart from the document's assembly (openapi.py) because the answers grow with
every endpoint; both the 3.1 document and its 3.0 form read them from here.
"""

from __future__ import annotations

from typing import Any

LEAD_ID_PATTERN = r"^(?!\.\.?$)[A-Za-z0-9._:@-]{1,128}$"  # engine.schema.LEAD_ID, as JSON Schema says it
MAX_VERSION = 10**18 - 1  # version numbers are SQLite integers
VERSION_REF = r"(?:[A-Za-z_][A-Za-z0-9_]{0,63}@|@)?([0-9]{1,18}|active|previous|latest)"
MAX_ACTIVATE = 64  # versions in one activation (POST /v1/activate with `versions`)


def _ref(name: str) -> dict:
    return {"$ref": f"#/components/schemas/{name}"}


_STR = {"type": "string"}
_STR_OR_NULL = {"type": ["string", "null"]}
_TIME = {"type": ["string", "null"], "format": "date-time"}
_DECIDED = {
    "type": "object",
    "properties": {"rep": _STR_OR_NULL, "queue": _STR_OR_NULL, "tier": _STR_OR_NULL, "by": _STR},
    "description": "the decision as it was made (the lead may have moved since)",
}
_REF = [{"type": "integer", "minimum": 0, "maximum": MAX_VERSION}, {"type": "string", "pattern": f"^{VERSION_REF}$"}]
_INT_OR_NULL = {"type": ["integer", "null"]}
SCHEMAS: dict[str, Any] = {
    "Decision": {
        "type": "object",
        "required": ["lead_id", "rep", "status", "queue", "decided", "version", "at"],
        "properties": {
            "lead_id": _STR,
            "rep": {"type": ["string", "null"], "description": "who holds the lead now"},
            "status": {"enum": ["assigned", "accepted", "queued", "escalated", "won", "lost"]},
            "queue": {"type": ["string", "null"], "description": "the queue the lead waits in now"},
            "decided": _DECIDED,
            "tier": _STR_OR_NULL,
            "by": _STR,
            "version": {"type": "integer"},
            "team": {"type": ["string", "null"], "description": "the team (policy name) whose version decided"},
            "door": {
                "type": "object",
                "description": "the front door's step that sent the lead to its team (a lead posted to /v1/assign behind a door)",
                "properties": {
                    "door": _STR,
                    "team": _STR,
                    "rule": {"type": "integer"},
                    "line": {"type": "integer"},
                    "when": _STR,
                    "step": _STR,
                },
            },
            "at": {"type": "string", "format": "date-time"},
            "deadline": _TIME,
            "reassigned": {"type": "integer", "minimum": 0},
            "overridden": {"type": "boolean"},
            "override_reason": _STR_OR_NULL,
            "seed_id": _STR_OR_NULL,
            "lottery_note": _STR_OR_NULL,
            "reentry_of": {
                "type": ["string", "null"],
                "description": "the latest earlier lead of the same prospect (the same fields under another id), if any",
            },
            "explanation": _STR,
            "replayed": {"type": "boolean", "description": "true when the lead id was decided before (idempotent replay)"},
        },
    },
    "Payload": {"type": "object", "description": "what the sender sends, in its own shape: the source's mapping file makes it a lead"},
    "IntakeDecision": {
        "type": "object",
        "required": ["lead_id", "rep", "status", "owner_ids"],
        "properties": {
            "lead_id": _STR,
            "rep": {"type": ["string", "null"], "description": "who holds the lead now"},
            "status": {"enum": ["assigned", "accepted", "queued", "escalated", "won", "lost"]},
            "queue": _STR_OR_NULL,
            "tier": _STR_OR_NULL,
            "by": _STR,
            "version": {"type": "integer"},
            "at": {"type": "string", "format": "date-time"},
            "deadline": _TIME,
            "owner_ids": {
                "type": "object",
                "description": "the CRM's ids of the rep ([owners] of the mapping or --owners), e.g. hubspot_owner_id",
                "additionalProperties": _STR,
            },
            "source": _STR,
            "replayed": {"type": "boolean"},
            "mapping_notes": {"type": "array", "items": _STR, "description": "what the mapping rewrote (value maps, defaults)"},
        },
    },
    "Refused": {
        "type": "object",
        "properties": {
            "refused": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "at": _TIME,
                        "source": _STR,
                        "kind": {"enum": ["signature", "json", "mapping", "schema", "conflict"]},
                        "reasons": {"type": "array", "items": {"type": "object"}},
                        "body": _STR,
                        "lead_id": _STR_OR_NULL,
                        "status": {"enum": ["refused", "resubmitted"]},
                    },
                },
            },
            "waiting": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "Resubmitted": {
        "type": "object",
        "properties": {
            "decided": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "lead_id": _STR}}},
            "refused": {"type": "array", "items": {"type": "object", "properties": {"id": {"type": "integer"}, "kind": _STR}}},
            "waiting": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
    },
    "AuditRecord": {
        "type": "object",
        "required": ["seq", "at", "kind", "actor", "data"],
        "properties": {"seq": {"type": "integer"}, "at": _TIME, "kind": _STR, "actor": _STR, "data": {"type": "object"}},
    },
    "Explained": {
        "type": "object",
        "required": ["decision", "explanation", "history"],
        "properties": {
            "decision": _ref("Decision"),
            "explanation": {
                "type": "object",
                "description": "the engine's explanation of the decision as made, with `now`, `moves` and a `why_not` about now",
            },
            "history": {"type": "array", "items": _ref("AuditRecord")},
        },
    },
    "Health": {
        "type": "object",
        "required": ["status", "version"],
        "properties": {
            "status": {"enum": ["ok", "degraded", "failing", "no_active_version", "writer_stopped"]},
            "version": {"type": ["integer", "null"]},
            "lottery": {"type": ["object", "null"]},
            "storage": {
                "type": "object",
                "description": "whether writes reach the disk: failing (the last write failed), degraded (one failed lately), ok",
                "properties": {
                    "status": {"enum": ["ok", "degraded", "failing"]},
                    "file": {"type": "string"},
                    "error": {"type": "string"},
                    "failed_at": _TIME,
                    "failures": {"type": "integer"},
                    "lease": {"type": "string", "description": "set when another process took this daemon's lease row"},
                },
            },
        },
    },
    "Reps": {
        "type": "object",
        "properties": {"version": {"type": ["integer", "null"]}, "reps": {"type": "array", "items": {"$ref": "#/components/schemas/Rep"}}},
    },
    "Rep": {
        "type": "object",
        "properties": {
            "rep": _STR,
            "level": _STR,
            "capacity": {"type": "integer"},
            "open": {"type": "integer"},
            "load": {"type": ["number", "null"]},
            "away": {"type": "boolean"},
            "away_until": _TIME,
            "away_reason": {"type": ["string", "null"]},
            "last_assigned": _TIME,
            "quota": {
                "type": ["object", "null"],
                "description": "the team's quota for this rep now: won value (or deals) in the current period against the target",
                "properties": {
                    "target": {"type": "integer"},
                    "unit": {"enum": ["value", "deals"]},
                    "period": {"enum": ["month", "quarter"]},
                    "won": {"type": "integer"},
                    "attainment": {"type": "number", "minimum": 0},
                },
            },
            "caps": {
                "type": ["object", "null"],
                "description": "per period unit (day, week, month): the cap and what the current period used",
                "additionalProperties": {"type": "object", "properties": {"limit": {"type": "integer"}, "used": {"type": "integer"}}},
            },
        },
    },
    "Queues": {"type": "object", "properties": {"queues": {"type": "object", "additionalProperties": {"type": "object"}}}},
    "Fairness": {
        "type": "object",
        "properties": {
            "since": _TIME,
            "until": _TIME,
            "decisions": {"type": "integer"},
            "assigned": {"type": "integer"},
            "counts": {"type": "object", "additionalProperties": {"type": "integer"}},
            "cv": {"type": "number", "minimum": 0},
            "gini": {"type": "number", "minimum": 0, "maximum": 1},
            "max": {"type": "integer"},
            "min": {"type": "integer"},
            "max_min_ratio": {"type": ["number", "null"]},
            "override_figures": {
                "type": "object",
                "description": "who overrides whom: per actor (with rule compliance), per rep gained and lost, per tier",
                "properties": {k: {"type": "array"} for k in ("by_actor", "per_rep", "gained", "lost", "by_tier")},
            },
            "overrides": {"type": "integer"},
            "rule_compliance": {"type": ["number", "null"], "minimum": 0, "maximum": 1},
            "shares": {
                "type": "array",
                "description": "per route or exception using `pick shares`: per share (a level, a group or `others`) its target and realized share in the period holding `until`",
                "items": {
                    "type": "object",
                    "properties": {
                        "pipeline": _STR,
                        "kind": _STR,
                        "name": _STR,
                        "per": _STR,
                        "period": _STR,
                        "counted": {"type": "integer"},
                        "levels": {
                            "type": "array",
                            "items": {
                                "type": "object",
                                "properties": {
                                    "level": {"type": "string", "description": "the share's name (a level, a group or `others`)"},
                                    "share": {"type": "string", "description": "the share's name, as `level`"},
                                    "by": {"type": "string", "enum": ["level", "group", "others"]},
                                    "target": {"type": "number"},
                                    "count": {"type": "integer"},
                                    "realized": {"type": ["number", "null"]},
                                },
                            },
                        },
                    },
                },
            },
        },
    },
    "AwayState": {
        "type": "object",
        "required": ["rep", "away", "until"],
        "properties": {"rep": _STR, "away": {"type": "boolean"}, "until": _TIME, "reason": _STR},
    },
    "Activated": {"type": "object", "properties": {"version": _INT_OR_NULL, "requested": {}, "teams": {"type": "object"}}},
    "Close": {"type": "object", "required": ["outcome"], "properties": {"outcome": {"enum": ["won", "lost"]}}},
    "Accept": {"type": "object", "properties": {"rep": {"type": "string", "description": "optional: the rep who accepts"}}},
    "Override": {
        "type": "object",
        "required": ["rep", "reason"],
        "properties": {"rep": _STR, "reason": {"type": "string", "minLength": 1}},
    },
    "Away": {
        "type": "object",
        "required": ["until"],
        "properties": {"until": {"type": ["string", "number"], "description": "ISO-8601 time or epoch seconds"}, "reason": _STR},
    },
    "Activate": {
        "type": "object",
        "properties": {
            "version": {"oneOf": _REF, "description": "a version number, @N, NAME@N, @active, @previous or @latest"},
            "versions": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_ACTIVATE,
                "items": {"oneOf": _REF},
                "description": "one transaction",
            },
            "at": {"type": ["string", "number"], "description": "activate at this time instead (ISO-8601 or epoch): answered 202"},
        },
    },
    "OpenAPI": {"type": "object", "description": "this document"},
    "PendingOverride": {
        "type": "object",
        "required": ["status", "approval"],
        "properties": {"status": {"enum": ["pending_approval"]}, "approval": {"type": "object"}},
        "description": "the policy says a second person approves this override: it is held, `POST /v1/approvals/{id}/approve`",
    },
    "Approvals": {
        "type": "object",
        "required": ["versions", "overrides"],
        "properties": {"versions": {"type": "array"}, "overrides": {"type": "array"}},
    },
    "OverrideApproval": {"type": "object", "required": ["id", "status"], "properties": {"id": {"type": "integer"}, "status": _STR}},
    "ApproveVersion": {"type": "object", "properties": {"note": _STR}},
    "VersionApproval": {
        "type": "object",
        "required": ["version", "approved_by"],
        "properties": {"version": {"type": "integer"}, "approved_by": _STR},
    },
    "Schedule": {"type": "array", "items": {"type": "object", "required": ["id", "due", "status", "versions"]}},
    "Scheduled": {"type": "object", "required": ["scheduled"], "properties": {"scheduled": {"type": "object"}}},
    "DecisionLog": {
        "type": "object",
        "required": ["total", "offset", "limit", "decisions"],
        "properties": {
            "total": {"type": "integer"},
            "offset": {"type": "integer"},
            "limit": {"type": "integer"},
            "next": {"type": ["string", "null"]},
            "decisions": {"type": "array", "items": {"type": "object", "required": ["lead_id", "at", "how"]}},
        },
    },
    "RepPage": {
        "type": "object",
        "required": ["rep", "periods", "leads"],
        "properties": {
            "rep": _STR,
            "periods": {"type": "object"},
            "leads": {"type": "array"},
            "lottery": {"type": "array"},
            "shares": {"type": "array"},
        },
    },
    "RepLead": {"type": "object", "description": "the rep's own decision in full, or {lead_id, tier, at, how, why_not}"},
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {
            "error": {"type": "string", "description": "a code: bad_json, not_found, conflict, invalid, invalid_lead, ..."},
            "message": {"type": "string"},
            "fields": {"type": "array", "items": {"type": "object", "properties": {"field": _STR, "message": _STR}}},
        },
    },
}
