"""Mapped intake over HTTP: `POST /v1/intake[/SOURCE]`, the refused requests, their re-submission.

A source's mapping (daemon/intake.py) turns the sender's JSON into a lead; the
decision is made by the same writer operation as `POST /v1/assign`. A source with a
signature is authenticated by it (a CRM cannot always send a bearer token); one
without needs an `assign` token. Every refusal (signature, JSON, mapping, schema, a
retry that differs from the stored lead) is stored first, then answered with its
id (`refused_id`), so nothing a sender posts is lost: an admin lists them at
`GET /v1/refused`, fixes the mapping and re-submits. While the writer has more than
the daemon's `max_pending` operations waiting, the answer is 429 with `Retry-After`
and nothing is taken: the sender retries.
"""

from __future__ import annotations

import asyncio
import json
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..daemon import outbox, refused
from ..daemon.intake import DEFAULT_SOURCE, Source
from ..door.route import route
from ..engine.schema import LeadError, LeadSchema
from ..replay.org import union_schema
from ..replay.records import MappingError, RowError
from ..storage.errors import Conflict, NotReady
from . import decisions, signatures
from .auth import needs
from .errors import ApiError, error
from .requests import check_lead_id, iso, read_body
from .safejson import JsonRefused, loads
from .state import Daemon

RETRY_AFTER = 2  # seconds a sender waits after a 429
ASSIGN = "assign"  # the source name refusals of POST /v1/assign are kept under
MAX_BULK = 500  # refused requests one bulk re-submission decides at most
MAX_UNSIGNED = 10_000  # badly signed requests kept at most (anyone can send them; the others need a token or a signature)


def _daemon(request: Request) -> Daemon:
    return request.app.state.daemon


def overloaded(d: Daemon) -> Response | None:
    """429 with Retry-After while the writer is behind by more than `max_pending` operations; None otherwise."""
    if d.runtime.pending() < d.max_pending:
        return None
    d.runtime.count("overload_429")
    return error(
        429,
        "overloaded",
        f"the daemon is behind by {d.runtime.pending()} operations; nothing was taken, send it again in {RETRY_AFTER} s",
        headers={"Retry-After": str(RETRY_AFTER)},
    )


async def keep(
    d: Daemon, source: str, kind: str, reasons: list[dict], body: bytes | str, headers: dict, lead_id: Any = None, team: str | None = None
) -> int:
    """Store a refused request (through the writer), with the team its path named; its id."""
    text = body if isinstance(body, str) else body.decode("utf-8", errors="replace")
    lid = lead_id if isinstance(lead_id, str) else None
    return await asyncio.wrap_future(d.runtime.submit(lambda tx: refused.store(tx, source, kind, reasons, text, headers, lid, team)))


def kept_headers(request: Request) -> dict[str, str]:
    return {k: request.headers[k] for k in refused.KEPT_HEADERS if k in request.headers}


def _signed_uri(src: Source, request: Request) -> str:
    base = src.options.public_url.rstrip("/") if src.options.public_url else f"{request.url.scheme}://{request.url.netloc}"
    query = request.scope.get("query_string", b"").decode("latin-1")
    return base + request.url.path + (f"?{query}" if query else "")


def check_signature(src: Source, request: Request, body: bytes, now: float) -> str | None:
    o = src.options
    headers = {k.lower(): v for k, v in request.headers.items()}
    if o.signature == "hubspot-v3":
        return signatures.check_hubspot_v3(o.secret or "", request.method, _signed_uri(src, request), body, headers, now)
    return signatures.check_hmac_sha256(o.secret or "", body, headers, now, o.header, o.timestamp_header)


def parse(body: bytes) -> Any:
    """JSON from the body; JsonRefused or ValueError in words."""
    if not body.strip():
        raise ValueError("empty body: expected a JSON object")
    return loads(body.decode("utf-8"))


async def decide(
    d: Daemon, source: str, src: Source | None, payload: Any, actor: str, reroute: bool, team: str | None = None
) -> tuple[dict, bool, list[str]]:
    """Map (when `src`) and decide in `team` (None: the one team); raises the refusal as (kind, status, code, reasons) in a Refusal.

    A lead that names no team, to a daemon serving several teams behind an active front door,
    goes where the door sends it (`door.route`; a mapped payload is mapped for the door's
    fields first, then for the team's policy), and is decided there by the same operation."""
    door = None
    if team is None:  # mapped or not, a lead that names no team goes through the front door, as POST /v1/assign does
        team, door = route_by_door(d, payload if src is None else door_view(d, src, payload))
    team, pol, _ = d.runtime.team(team)  # Ambiguous, naming the teams, when several are served and none is named
    if pol is None:
        raise NotReady("no policy version is active; publish one and run `policyd activate @N`")
    notes: list[str] = []
    if src is None:
        lead = payload
        if not isinstance(lead, dict):
            raise Refusal("json", 400, "bad_json", [{"field": "", "message": "expected a JSON object"}])
    else:
        try:
            lead, notes = src.map(payload, pol.compiled.schema)
        except RowError as err:
            raise Refusal("mapping", 422, "unmapped", [{"field": err.field, "message": err.reason}]) from None
        except MappingError as err:
            raise Refusal("mapping", 422, "mapping_unusable", [{"field": "", "message": str(err)}]) from None
    try:
        check_lead_id(lead.get("id"))  # before the runtime, which would match {"id": 5} to the text id "5"
    except ApiError as err:
        raise Refusal("schema", 422, err.code, err.extra.get("fields", []), None, err.message) from None
    try:
        row, created = await asyncio.wrap_future(d.runtime.assign(lead, actor, reroute, team, door))
    except LeadError as err:
        n = len(err.errors)
        message = f"the lead was refused ({n} problem{'s' if n != 1 else ''})"
        raise Refusal("schema", 422, "invalid_lead", [x.to_json() for x in err.errors], lead.get("id"), message) from None
    except Conflict as err:
        if "differences" not in err.extra:
            raise
        raise Refusal("conflict", 409, "conflict", err.extra["differences"], lead.get("id"), err.message) from None
    return row, created, notes


def _door_schema(d: Daemon) -> LeadSchema:
    """Every team's lead fields and the door's (replay --door reads its history with the same schema), cached per versions."""
    active, pols = d.runtime.versions.door, d.runtime.versions.policies
    assert active is not None
    key = (active.version, tuple(sorted((t, p.version) for t, p in pols.items())))
    if d.door_schema is None or d.door_schema[0] != key:
        d.door_schema = (key, union_schema(active.compiled, [pols[t].compiled for t in sorted(pols)]))
    return d.door_schema[1]


def door_view(d: Daemon, src: Source, payload: Any) -> Any:
    """A payload mapped for the door (every team's fields and the door's), for `route_by_door`; the payload itself
    when no door routes. The team's own policy maps it again for its decision."""
    active = d.runtime.versions.door
    if active is None or len(d.runtime.teams()) < 2:
        return payload
    try:
        lead, _ = src.map(payload, _door_schema(d))
    except RowError as err:
        raise Refusal("mapping", 422, "unmapped", [{"field": err.field, "message": err.reason}]) from None
    except MappingError as err:
        raise Refusal("mapping", 422, "mapping_unusable", [{"field": "", "message": str(err)}]) from None
    return lead


def route_by_door(d: Daemon, lead: Any) -> tuple[str | None, dict | None]:
    """(team, the door's step) for a lead to the un-prefixed assign; (None, None) when no door routes here.

    The door routes only when several teams are served (one team needs no door). A lead
    the door cannot read, or sends nowhere, is a Refusal (422) in the door's words."""
    active = d.runtime.versions.door
    if active is None or len(d.runtime.teams()) < 2 or not isinstance(lead, dict):
        return None, None
    lid = lead.get("id")
    try:
        routed = route(active.compiled, lead)
    except LeadError as err:
        message = f"front door {active.name} refused the lead: " + "; ".join(e.message for e in err.errors)
        raise Refusal("schema", 422, "invalid_lead", [x.to_json() for x in err.errors], lid, message) from None
    if routed.team is None:
        message = f"{routed.step()}: the lead was not placed; add a `send TEAM otherwise` to door {active.name}, or post it to a team"
        raise Refusal("door", 422, "not_placed", [{"field": "", "message": routed.step()}], lid, message)
    return routed.team, routed.to_json()


class Refusal(Exception):
    def __init__(self, kind: str, status: int, code: str, reasons: list[dict], lead_id: Any = None, message: str | None = None):
        super().__init__(kind)
        self.kind, self.status, self.code, self.reasons, self.lead_id = kind, status, code, reasons, lead_id
        self.message = message or f"the request was refused ({kind}): " + "; ".join(
            f"{r.get('field')}: {r.get('message') or r.get('expected') or ''}".strip() for r in reasons[:5]
        )


def answer(d: Daemon, row: dict, created: bool, src: Source | None, notes: list[str], source: str) -> JSONResponse:
    out = decisions.decision_json(row, replayed=not created)
    out["owner_ids"] = d.sources.owner_ids(row["holder"], src)
    out["source"] = source
    if notes:
        out["mapping_notes"] = notes
    return JSONResponse(out, 201 if created else 200)


async def refuse(d: Daemon, source: str, r: Refusal, body: bytes | str, headers: dict, team: str | None = None) -> Response:
    """Keep the refused request (with the team its path named, for its re-submission) and answer the refusal."""
    rid = await keep(d, source, r.kind, r.reasons, body, headers, r.lead_id, team)
    extra: dict[str, Any] = {"refused_id": rid}
    extra["differences" if r.kind == "conflict" else "fields"] = r.reasons
    return error(r.status, r.code, r.message, **extra)


async def intake(request: Request) -> Response:
    """POST /v1/intake[/{source}]: a sender's payload through its source's mapping."""
    d = _daemon(request)
    name = request.path_params.get("source", DEFAULT_SOURCE)
    src = d.sources.get(name)
    if src is None:  # named only to a caller with a token
        return await needs("assign")(_no_source)(request)
    if src.options.signature is None:
        return await needs("assign")(_intake)(request)
    request.state.who = None
    return await _intake(request)


async def _no_source(request: Request) -> Response:
    d = _daemon(request)
    name = request.path_params.get("source", DEFAULT_SOURCE)
    served = ", ".join(f"/v1/intake/{n}" if n != DEFAULT_SOURCE else "/v1/intake" for n in d.sources.by_name) or "none"
    flag = f"--map {name}=FILE" if name != DEFAULT_SOURCE else "--map FILE"
    raise ApiError(404, "no_source", f"no intake source {name!r} (served: {served}); start the daemon with {flag}")


async def _intake(request: Request) -> Response:
    d = _daemon(request)
    busy = overloaded(d)
    if busy is not None:
        return busy
    name = request.path_params.get("source", DEFAULT_SOURCE)
    src = d.sources.get(name)
    assert src is not None
    body = await read_body(request)
    headers = kept_headers(request)
    who = request.state.who
    team = request.path_params.get("team")
    if src.options.signature is not None:
        why = check_signature(src, request, body, d.clock())
        if why is not None:
            if refused.counts(d.read).get("signature", 0) >= MAX_UNSIGNED:  # anyone can send these: bounded
                d.runtime.count("signature_refusals_dropped")
                return error(401, "bad_signature", f"{why} (not kept: {MAX_UNSIGNED} refused signatures are waiting already)")
            rid = await keep(d, name, "signature", [{"field": "signature", "message": why}], body, headers, team=team)
            return error(401, "bad_signature", f"{why} (kept as refused request {rid})", refused_id=rid)
    actor = who.name if who is not None else f"intake:{name}"
    try:
        payload = parse(body)
    except (JsonRefused, ValueError) as err:
        why_json = Refusal("json", 400, "bad_json", [{"field": "", "message": getattr(err, "message", str(err))}])
        return await refuse(d, name, why_json, body, headers, team)
    try:
        reroute = request.query_params.get("reroute") == "true"
        row, created, notes = await decide(d, name, src, payload, actor, reroute, team)
    except Refusal as r:
        return await refuse(d, name, r, body, headers, team)
    return answer(d, row, created, src, notes, name)


async def list_refused(request: Request) -> Response:
    """GET /v1/refused?status=refused|resubmitted|all: the refused requests, newest first."""
    d = _daemon(request)
    status = request.query_params.get("status", "refused")
    if status not in ("refused", "resubmitted", "all"):
        raise ApiError(400, "bad_status", f"status={status}: expected refused, resubmitted or all")
    items = refused.listing(d.read, None if status == "all" else status)  # the read connection stays on the event loop
    waiting = refused.counts(d.read)
    for name in list(d.sources.by_name):
        d.sources.get(name)  # a mapping changed on disk is read again, so a broken fix shows here
    return JSONResponse({"refused": [_item(x) for x in items], "waiting": waiting, "mapping_errors": dict(d.sources.errors)})


def _item(x: dict) -> dict:
    return {**x, "at": iso(x["at"]), "resolved_at": iso(x["resolved_at"])}


async def resubmit(request: Request) -> Response:
    """POST /v1/refused/{id}/resubmit: map and decide a refused request again, with the mapping as it is now."""
    d = _daemon(request)
    busy = overloaded(d)
    if busy is not None:
        return busy
    raw_id = request.path_params["refused_id"]
    if not raw_id.isdigit():
        raise ApiError(404, "not_found", f"no refused request {raw_id!r}")
    rid = int(raw_id)
    row = refused.need(d.read, rid)
    if row["status"] != "refused":
        raise Conflict(f"refused request {rid} was already re-submitted (lead {row['lead_id']})")
    if row["source"] != ASSIGN and d.sources.get(row["source"]) is None:
        raise ApiError(409, "no_source", f"refused request {rid} came through source {row['source']!r}, which this daemon does not serve")
    outcome = await _resubmit_one(d, row, request.state.who.name, request.query_params.get("reroute") == "true")
    if isinstance(outcome, Refusal):
        key = "differences" if outcome.kind == "conflict" else "fields"
        msg = outcome.message + f" (refused request {rid} stays refused)"
        return error(outcome.status, outcome.code, msg, refused_id=rid, **{key: outcome.reasons})
    return outcome


async def _resubmit_one(d: Daemon, row: dict, actor: str, reroute: bool) -> JSONResponse | Refusal:
    """Decide one stored request again, in the team its path named (through the door when it named none): the answer,
    or the Refusal it met (kept on the row as its newest reasons)."""
    rid = row["id"]
    src = None if row["source"] == ASSIGN else d.sources.get(row["source"])
    try:
        try:
            payload = parse(row["body"].encode("utf-8"))
        except (JsonRefused, ValueError) as err:
            raise Refusal("json", 400, "bad_json", [{"field": "", "message": getattr(err, "message", str(err))}]) from None
        decided, created, notes = await decide(d, row["source"], src, payload, actor, reroute, row["team"])
    except Refusal as r:
        kind, reasons = r.kind, r.reasons
        await asyncio.wrap_future(d.runtime.submit(lambda tx: refused.refuse_again(tx, rid, kind, reasons)))
        return r
    await asyncio.wrap_future(d.runtime.submit(lambda tx: refused.resolve(tx, rid, decided["lead_id"], actor)))
    return answer(d, decided, created, src, notes, row["source"])


async def resubmit_all(request: Request) -> Response:
    """POST /v1/refused/resubmit?source=NAME: every waiting request (of that source) decided again, oldest first."""
    d = _daemon(request)
    source = request.query_params.get("source")
    rows = [r for r in reversed(refused.listing(d.read, "refused", MAX_BULK)) if source is None or r["source"] == source]
    decided, still = [], []
    for row in rows:
        if overloaded(d) is not None:
            break  # the rest wait for the next call
        if row["source"] != ASSIGN and d.sources.get(row["source"]) is None:
            still.append({"id": row["id"], "kind": row["kind"], "reasons": [{"field": "", "message": "source not served"}]})
            continue
        outcome = await _resubmit_one(d, row, request.state.who.name, False)
        if isinstance(outcome, Refusal):
            still.append({"id": row["id"], "kind": outcome.kind, "reasons": outcome.reasons})
        else:
            decided.append({"id": row["id"], "lead_id": json.loads(outcome.body)["lead_id"]})
    return JSONResponse({"decided": decided, "refused": still, "waiting": refused.counts(d.read)})


def panel(d: Daemon, limit: int = 20) -> dict:
    """The dashboard's list of refused requests waiting for an admin."""
    from ..render.jinja import render_template

    items = [_item(x) for x in refused.listing(d.read, "refused", limit)]
    waiting = refused.counts(d.read)
    for x in items:
        x["reason"] = "; ".join(f"{r.get('field')}: {r.get('message') or json.dumps(r.get('sent'))}" for r in x["reasons"][:3])
    html = render_template("page_refused_panel.html.j2", {"items": items, "waiting": sum(waiting.values()), "by_kind": waiting})
    return {"title": "Refused requests", "html": Markup(html)}


def outbox_panel(d: Daemon) -> dict:
    """The dashboard's view of webhook deliveries: waiting, failing (with the last error), delivered."""
    from ..render.jinja import render_template

    st = outbox.stats(d.read)
    for x in st["failures"]:
        x["next_at"] = iso(x["next_at"])
    return {"title": "Webhook deliveries", "html": Markup(render_template("page_outbox_panel.html.j2", st))}


def outbox_metrics(d: Daemon) -> list[str]:
    """Prometheus lines for the outbox (empty without webhooks)."""
    if d.deliverer is None:
        return []
    st = outbox.stats(d.read)
    return [
        "# HELP policyd_outbox_events Webhook events by state: pending (not yet delivered), failing (pending after a failed attempt), delivered.",
        "# TYPE policyd_outbox_events gauge",
        *(f'policyd_outbox_events{{state="{k}"}} {st[k]}' for k in ("pending", "failing", "delivered")),
        "# HELP policyd_outbox_attempts_total Delivery attempts since start, by result.",
        "# TYPE policyd_outbox_attempts_total counter",
        f'policyd_outbox_attempts_total{{result="delivered"}} {d.deliverer.delivered}',
        f'policyd_outbox_attempts_total{{result="failed"}} {d.deliverer.failed}',
    ]
