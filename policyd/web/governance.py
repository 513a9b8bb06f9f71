"""Governance over HTTP: what waits for approval, approving it, scheduled activations, the dashboard's panel.

The handlers hand each change to the one place that makes it: a version's approval
to the store (storage/approvals.py), an override's approval to the writer (the held
override then runs the daemon's one override operation), a schedule to
storage/schedule.py. Refusals are domain errors, answered by the one error table.
"""

from __future__ import annotations

import asyncio
from typing import Any

from markupsafe import Markup
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..storage import approvals, schedule
from ..storage.reviews import due_message, review_due
from ..storage.store import Store
from .endpoint import Endpoint, path
from .errors import ApiError
from .requests import iso, parse_time, read_optional_object
from .state import Daemon

APPROVAL = path("approval_id", "the id of an override waiting for approval (`GET /v1/approvals`)", r"^[0-9]{1,18}$")
REF = path("ref", "a version: 3, @3, inbound@3", r"^(?:[A-Za-z_][A-Za-z0-9_]{0,63}@|@)?[0-9]{1,18}$")


def _with_store(d: Daemon, fn) -> Any:
    store = Store(d.db)
    try:
        return fn(store)
    finally:
        store.close()


def _times(x: dict, *keys: str) -> dict:
    return {**x, **{k: iso(x.get(k)) for k in keys if k in x}}


def pending_json(d: Daemon) -> dict:
    """Versions that cannot be activated yet and overrides held for a second person (oldest override first)."""

    def read(store: Store) -> dict:
        return {
            "versions": [_times(x, "at") for x in approvals.pending_versions(store)],
            "overrides": [_times(x, "at", "decided_at") for x in approvals.pending_overrides(store.db.conn)],
        }

    return _with_store(d, read)


async def list_approvals(request: Request) -> Response:
    return JSONResponse(await asyncio.to_thread(pending_json, request.app.state.daemon))


def _approval_id(request: Request) -> int:
    raw = request.path_params["approval_id"]
    if not (raw.isascii() and raw.isdigit()) or len(raw) > 18:
        raise ApiError(404, "not_found", f"no override waiting for approval has id {raw[:40]!r}; `GET /v1/approvals` lists them")
    return int(raw)


async def approve_override(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    out = await asyncio.wrap_future(d.runtime.decide_override(_approval_id(request), request.state.who.name, True))
    from .decisions import decision_json

    return JSONResponse(_times({**out, "decision": decision_json(out["decision"])}, "at", "decided_at"))


async def reject_override(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    out = await asyncio.wrap_future(d.runtime.decide_override(_approval_id(request), request.state.who.name, False))
    return JSONResponse(_times(out, "at", "decided_at"))


async def approve_version(request: Request) -> Response:
    d: Daemon = request.app.state.daemon
    body = await read_optional_object(request)
    note = body.get("note", "")
    if not isinstance(note, str):
        raise ApiError(422, "invalid", "note: expected a text", fields=[{"field": "note", "message": "expected a text"}])
    ref, who = request.path_params["ref"], request.state.who.name

    def run(store: Store) -> dict:
        v, a, new = approvals.approve_version(store, ref, who, d.clock(), note)
        return {
            "version": v.number,
            "ref": store.ref_of(v),
            "publisher": v.author,
            "approved_by": a["by"],
            "at": iso(a["at"]),
            "recorded": new,
        }

    return JSONResponse(await asyncio.to_thread(_with_store, d, run))


def schedule_json(d: Daemon) -> list[dict]:
    return [_times(s, "at", "due", "decided_at") for s in _with_store(d, lambda store: schedule.listing(store, every=True))]


async def list_schedule(request: Request) -> Response:
    return JSONResponse(await asyncio.to_thread(schedule_json, request.app.state.daemon))


async def schedule_activation(d: Daemon, refs: list, at: Any, who: str) -> Response:
    """`POST /v1/activate` with `at`: the set is checked now and made active by the writer exactly then."""
    due = parse_time(at, "at")
    s = await asyncio.to_thread(_with_store, d, lambda store: schedule.schedule(store, refs, due, who, d.clock()))
    return JSONResponse({"scheduled": _times(s, "at", "due", "decided_at")}, status_code=202)


def panel(d: Daemon) -> dict:
    """The dashboard's governance section: what waits for approval, what is scheduled, which reviews are due."""
    from ..render.jinja import render_template

    now = d.clock()

    def read(store: Store) -> dict:
        due = [review_due(store, v, now) for v in store.active_versions().values()]
        return {
            "versions": [_times(x, "at") for x in approvals.pending_versions(store)],
            "overrides": [_times(x, "at") for x in approvals.pending_overrides(store.db.conn)],
            "schedule": [_times(s, "due") for s in schedule.listing(store)],
            "reviews": [{**x, "text": due_message(x)} for x in due if x is not None],
        }

    data = _with_store(d, read)
    return {"title": "Governance", "html": Markup(render_template("page_governance_panel.html.j2", data))}


ENDPOINTS: list[Endpoint] = [
    Endpoint(
        "GET",
        "/v1/approvals",
        list_approvals,
        "listApprovals",
        "What waits for a second person: versions that cannot be activated yet, overrides held for approval",
        "read",
        {200: "Approvals"},
    ),
    Endpoint(
        "POST",
        "/v1/approvals/{approval_id}/approve",
        approve_override,
        "approveOverride",
        "Approve a held override (not by who asked for it): the lead moves, for its requester, and both are audited",
        "admin",
        {200: "OverrideApproval"},
        (403, 404, 409, 503),
        params=(APPROVAL,),
    ),
    Endpoint(
        "POST",
        "/v1/approvals/{approval_id}/reject",
        reject_override,
        "rejectOverride",
        "Reject a held override: the lead stays where it is (audited)",
        "admin",
        {200: "OverrideApproval"},
        (404, 409),
        params=(APPROVAL,),
    ),
    Endpoint(
        "POST",
        "/v1/versions/{ref}/approve",
        approve_version,
        "approveVersion",
        "Approve a stored version (not by its publisher), so a policy saying `approve versions by another` may activate it",
        "admin",
        {200: "VersionApproval"},
        (400, 403, 404, 422),
        body="ApproveVersion",
        body_required=False,
        params=(REF,),
    ),
    Endpoint(
        "GET",
        "/v1/schedule",
        list_schedule,
        "listSchedule",
        "Scheduled activations (`POST /v1/activate` with `at`), soonest first, with what became of each",
        "read",
        {200: "Schedule"},
    ),
]
