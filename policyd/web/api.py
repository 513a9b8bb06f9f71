"""The JSON API's endpoints: parse the request, hand the change to the runtime, shape the answer.

Roles are not checked here: the route table (app.py) wraps each endpoint with
the role it needs. Domain errors raised below answer through the one error table
(errors.py).

Idempotency: POST /v1/assign with a lead id that was already decided answers 200
with the stored decision (and `"replayed": true`); a new decision answers 201.
"""

from __future__ import annotations

import asyncio
import json
import re
import time

from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response

from ..daemon import oversight, policy, reads, refused
from ..lottery import seeds
from . import decisions, intake, openapi, openapi30, schemas
from .errors import ApiError
from .requests import invalid, iso, parse_time, read_object, read_optional_object
from .state import Daemon


def _daemon(request: Request) -> Daemon:
    return request.app.state.daemon


def _team(request: Request) -> str | None:
    """The team named in the path (`/v1/teams/{team}/...`), else None: the one team served."""
    return request.path_params.get("team")


async def health(request: Request) -> Response:
    """Up and serving; `storage` says whether writes reach the disk, `lottery` whether the period has a seed (public facts only).

    `status` is `failing` (503) while the last write failed (decisions are answered
    503 then), `degraded` for a while after writes failed and work again,
    `no_active_version`, or `ok`; `storage` has the error in words and when.
    """
    d = _daemon(request)
    rt = d.runtime
    pol = rt.policy
    version = pol.version if pol else None
    storage = _storage(rt)
    if not rt.alive():
        return JSONResponse({"status": "writer_stopped", "version": version, "storage": storage}, 503)
    try:
        lottery = (await asyncio.to_thread(seeds.draw_seed, d.db, d.clock())).public()
    except Exception as err:  # the database cannot even be read: that is the storage's health too
        rt.health.failed(err)
        storage = _storage(rt)
        lottery = None
    status = storage["status"]
    if status == "failing":
        return JSONResponse({"status": "failing", "version": version, "storage": storage, "lottery": lottery}, 503)
    if pol is None:
        status = "no_active_version"
    return JSONResponse({"status": status, "version": version, "lottery": lottery, "storage": storage})


def _storage(rt) -> dict:
    out = rt.health.snapshot()
    if "failed_at" in out:
        out["failed_at"] = iso(out["failed_at"])
    if rt.lease is not None and rt.lease.lost:
        out["lease"] = rt.lease.lost
    return out


async def openapi_doc(request: Request) -> Response:
    pol = _daemon(request).runtime.policy
    return JSONResponse(openapi.document(request.app.state.endpoints, pol.compiled if pol else None))


async def openapi30_doc(request: Request) -> Response:
    """The same API as OpenAPI 3.0, the subset Salesforce External Services imports (openapi30.py)."""
    d = _daemon(request)
    pol = d.runtime.policy
    sources = {n: s for n in d.sources.by_name if (s := d.sources.get(n)) is not None}
    names = {k for ids in d.sources.global_owners.values() for k in ids}
    return JSONResponse(openapi30.document(request.app.state.endpoints, pol.compiled if pol else None, sources, sorted(names)))


async def assign(request: Request) -> Response:
    """Decide a lead; a refused one (schema, a retry that differs) is kept (web/intake.py), 429 while the writer is behind."""
    d = _daemon(request)
    busy = intake.overloaded(d)
    if busy is not None:
        return busy
    lead = await read_object(request)
    reroute = request.query_params.get("reroute") == "true"
    t0 = time.perf_counter()
    try:
        row, created, _ = await intake.decide(d, intake.ASSIGN, None, lead, request.state.who.name, reroute, _team(request))
    except intake.Refusal as r:
        return await intake.refuse(d, intake.ASSIGN, r, json.dumps(lead, ensure_ascii=False), intake.kept_headers(request), _team(request))
    d.assign_seconds += time.perf_counter() - t0
    d.assign_count += 1
    out = decisions.decision_json(row, replayed=not created)
    if d.sources.global_owners:
        out["owner_ids"] = d.sources.owner_ids(row["holder"])
    return JSONResponse(out, 201 if created else 200)


async def get_decision(request: Request) -> Response:
    d = _daemon(request)
    row = d.row(request.path_params["lead_id"], _team(request))
    fmt = request.query_params.get("format", "json")
    if fmt not in decisions.FORMATS:
        raise ApiError(400, "bad_format", f"format={fmt}: expected one of {', '.join(decisions.FORMATS)}")
    body, media = decisions.answer(d, row, fmt, request.query_params.get("why_not"))
    if fmt == "json":
        return JSONResponse(body)
    return Response(body, media_type=media)


async def accept(request: Request) -> Response:
    d = _daemon(request)
    body = await read_optional_object(request)
    rep = body.get("rep")
    if rep is not None and not isinstance(rep, str):
        raise invalid("rep", "expected the name of the rep who accepts")
    row = await asyncio.wrap_future(d.runtime.accept(request.path_params["lead_id"], request.state.who.name, rep, _team(request)))
    return JSONResponse(decisions.decision_json(row))


async def close_lead(request: Request) -> Response:
    d = _daemon(request)
    body = await read_object(request)
    outcome = body.get("outcome")
    if outcome not in ("won", "lost"):
        raise ApiError(
            422,
            "invalid",
            f"outcome: expected won or lost, got {json.dumps(outcome)}",
            fields=[{"field": "outcome", "message": "expected won or lost"}],
        )
    row = await asyncio.wrap_future(d.runtime.close_lead(request.path_params["lead_id"], outcome, request.state.who.name, _team(request)))
    return JSONResponse(decisions.decision_json(row))


async def override(request: Request) -> Response:
    d = _daemon(request)
    body = await read_object(request)
    rep, reason = body.get("rep"), body.get("reason")
    problems = []
    if not isinstance(rep, str) or not rep:
        problems.append({"field": "rep", "message": "expected the name of the rep who gets the lead"})
    if not isinstance(reason, str) or not reason.strip():
        problems.append({"field": "reason", "message": "expected a reason (it is recorded in the audit log)"})
    if problems:
        raise ApiError(422, "invalid", "; ".join(f"{p['field']}: {p['message']}" for p in problems), fields=problems)
    row, held = await asyncio.wrap_future(
        d.runtime.override(request.path_params["lead_id"], rep, reason, request.state.who.name, _team(request))
    )
    if held is not None:  # the policy says a second person approves it (daemon/approvals.py)
        return JSONResponse({"status": "pending_approval", "approval": {**held, "at": iso(held["at"])}}, status_code=202)
    return JSONResponse(decisions.decision_json(row))


def reps_json(d: Daemon, team: str | None = None) -> list[dict]:
    return [{**r, "away_until": iso(r["away_until"]), "last_assigned": iso(r["last_assigned"])} for r in reads.reps(d.runtime, team=team)]


def queues_json(d: Daemon, limit: int = 100, team: str | None = None) -> dict:
    out = reads.queues(d.read, limit, d.runtime.team(team)[0])
    return {q: {**v, "leads": [{**x, "at": iso(x["at"])} for x in v["leads"]]} for q, v in out.items()}


def fairness_json(d: Daemon, since: float, until: float, team: str | None = None) -> dict:
    f = reads.fairness(d.runtime, d.read, since, until, team)
    who = oversight.overrides(d.read, since, until, d.runtime.team(team)[0])  # who overrides whom (daemon/oversight.py)
    return {**f, "since": iso(f["since"]), "until": iso(f["until"]), "override_figures": who}


async def list_queues(request: Request) -> Response:
    d, team = _daemon(request), _team(request)
    return JSONResponse({"queues": queues_json(d, team=team)})


async def list_reps(request: Request) -> Response:
    d = _daemon(request)
    name, pol, _ = d.runtime.team(_team(request))
    return JSONResponse({"team": name, "version": pol.version if pol else None, "reps": reps_json(d, name)})


async def set_away(request: Request) -> Response:
    d = _daemon(request)
    body = await read_object(request)
    if "until" not in body:
        raise ApiError(422, "invalid", "until: required (when the rep is back)", fields=[{"field": "until", "message": "required"}])
    until = parse_time(body["until"], "until")
    reason = body.get("reason", "")
    if not isinstance(reason, str):
        raise invalid("reason", "expected a text")
    r = await asyncio.wrap_future(d.runtime.set_away(request.path_params["rep"], until, reason, request.state.who.name, _team(request)))
    return JSONResponse({**r, "until": iso(r["until"])})


async def clear_away(request: Request) -> Response:
    d = _daemon(request)
    r = await asyncio.wrap_future(d.runtime.set_away(request.path_params["rep"], None, "", request.state.who.name, _team(request)))
    return JSONResponse(r)


async def get_fairness(request: Request) -> Response:
    d = _daemon(request)
    q = request.query_params
    until = parse_time(q["until"], "until") if "until" in q else d.clock()
    since = parse_time(q["since"], "since") if "since" in q else until - 7 * 86400
    if since >= until:
        raise ApiError(400, "bad_time", "since must be before until")
    return JSONResponse({"team": d.runtime.team(_team(request))[0], **fairness_json(d, since, until, _team(request))})


async def metrics(request: Request) -> Response:
    d = _daemon(request)
    rt = d.runtime
    pol = rt.policy
    lines = [
        "# HELP policyd_up 1 while the daemon serves.",
        "# TYPE policyd_up gauge",
        "policyd_up 1",
        "# HELP policyd_active_version The policy version deciding now (0: none).",
        "# TYPE policyd_active_version gauge",
        f"policyd_active_version {pol.version if pol else 0}",
        "# HELP policyd_requests_total HTTP requests by status code.",
        "# TYPE policyd_requests_total counter",
    ]
    lines += [f'policyd_requests_total{{code="{k}"}} {v}' for k, v in sorted(d.requests.items())]
    lines += [
        "# HELP policyd_assign_seconds Time from an assign request's body to its durable answer.",
        "# TYPE policyd_assign_seconds summary",
        f"policyd_assign_seconds_sum {d.assign_seconds:.6f}",
        f"policyd_assign_seconds_count {d.assign_count}",
        "# HELP policyd_commit_batches_total Durable transactions (one per group of operations).",
        "# TYPE policyd_commit_batches_total counter",
        f"policyd_commit_batches_total {rt.batches}",
        f"policyd_commit_operations_total {rt.batch_ops}",
        "# HELP policyd_events_total Decisions and lead events since start.",
        "# TYPE policyd_events_total counter",
    ]
    lines += [f'policyd_events_total{{event="{k}"}} {int(v)}' for k, v in sorted(rt.counters.items())]
    draw = await asyncio.to_thread(seeds.draw_seed, d.db, d.clock())
    lines += [
        "# HELP policyd_lottery_seed 1 when the current period has a committed, unrevealed seed (else lottery steps are skipped).",
        "# TYPE policyd_lottery_seed gauge",
        f'policyd_lottery_seed{{period="{draw.period}",status="{draw.status}"}} {int(draw.seed is not None)}',
    ]
    lines += intake.outbox_metrics(d)
    lines += ["# HELP policyd_refused_waiting Refused requests kept, not yet re-submitted.", "# TYPE policyd_refused_waiting gauge"]
    waiting = refused.counts(d.read)
    lines += [f'policyd_refused_waiting{{kind="{k}"}} {waiting.get(k, 0)}' for k in refused.KINDS]
    reps = reads.reps(rt)
    lines += ["# HELP policyd_open_leads Open leads per rep.", "# TYPE policyd_open_leads gauge"]
    lines += [f'policyd_open_leads{{rep="{r["rep"]}"}} {r["open"]}' for r in reps]
    lines += ["# HELP policyd_rep_away 1 when the rep is away.", "# TYPE policyd_rep_away gauge"]
    lines += [f'policyd_rep_away{{rep="{r["rep"]}"}} {int(r["away"])}' for r in reps]
    return PlainTextResponse("\n".join(lines) + "\n", media_type="text/plain; version=0.0.4")


def _version_ref(ref: object) -> bool:
    return (isinstance(ref, int) and not isinstance(ref, bool) and 0 <= ref <= schemas.MAX_VERSION) or (
        isinstance(ref, str) and re.fullmatch(schemas.VERSION_REF, ref.strip()) is not None
    )


async def activate(request: Request) -> Response:
    """Activate one version (`version`) or a set (`versions`, one transaction: every team switches between the same two decisions)."""
    d = _daemon(request)
    body = await read_object(request)
    many = body.get("versions")
    refs = many if "versions" in body else [body.get("version")]
    at = body.get("at")
    if not isinstance(refs, list) or not refs or len(refs) > schemas.MAX_ACTIVATE or not all(_version_ref(r) for r in refs):
        field = "versions" if "versions" in body else "version"
        raise ApiError(
            422,
            "invalid",
            f"{field}: expected {'a list of 1 to ' + str(schemas.MAX_ACTIVATE) + ' versions' if field == 'versions' else 'a version'}"
            " (a number, @N, NAME@N, @active, @previous or @latest)",
            fields=[{"field": field, "message": "expected a version number or ref"}],
        )
    if at is not None:
        from .governance import schedule_activation

        return await schedule_activation(d, refs, at, request.state.who.name)
    numbers = await asyncio.to_thread(policy.activate, d.runtime.versions, refs, request.state.who.name)
    served = await asyncio.wrap_future(d.runtime.refresh())
    if "versions" in body:
        return JSONResponse({"teams": served, "requested": numbers})
    team = next((t for t, v in served.items() if v == numbers[0]), None)
    return JSONResponse({"version": served.get(team) if team else None, "requested": numbers[0]})
