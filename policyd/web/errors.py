"""Errors as HTTP answers: one table from domain error to status and code.

Storage, the lottery and the daemon raise domain errors (storage/errors.py) that
know nothing of HTTP; `STATUS` says what each kind answers, looked up along the
error's class hierarchy, so a new subclass answers as its parent until it is
given its own row. Errors are JSON bodies `{"error": CODE, "message": TEXT}`
(plus `fields` for invalid requests); no traceback reaches a client. ApiError is
the web layer's own: a request it cannot read (bad JSON, a body too large).
Every body goes through `safejson.safe`, so an echoed value can never make the
answer itself fail (a 500 that would also close the keep-alive connection).
"""

from __future__ import annotations

import logging
from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from ..daemon.policy import UnusableVersion
from ..engine.schema import LeadError
from ..lottery.seeds import SeedError
from ..storage import errors as e
from ..storage.approvals import NeedsApproval, SelfApproval
from .safejson import safe

log = logging.getLogger(__name__)

# most specific first does not matter: the first class of the error's MRO found here wins
STATUS: dict[type[BaseException], tuple[int, str]] = {
    e.Invalid: (422, "invalid"),
    NeedsApproval: (409, "needs_approval"),
    SelfApproval: (403, "self_approval"),
    e.Refused: (400, "bad_request"),
    e.NotFound: (404, "not_found"),
    e.Conflict: (409, "conflict"),
    e.NotReady: (503, "no_active_version"),
    UnusableVersion: (422, "invalid_version"),
    e.Unusable: (409, "unusable"),
    SeedError: (409, "seed_refused"),
    e.StorageFailure: (503, "storage_unavailable"),
    e.StoreError: (500, "store_error"),
    e.DomainError: (400, "bad_request"),
}


class ApiError(Exception):
    """A request the web layer itself refuses (unreadable body, bad query value)."""

    def __init__(self, status: int, code: str, message: str, **extra: Any):
        super().__init__(message)
        self.status, self.code, self.message, self.extra = status, code, message, extra


def status_of(exc: BaseException) -> tuple[int, str]:
    """(HTTP status, error code) of a domain error, by the first of its classes in STATUS."""
    for cls in type(exc).__mro__:
        hit = STATUS.get(cls)
        if hit is not None:
            return hit
    return 500, "internal"


MAX_MESSAGE = 2000


def error(status: int, code: str, message: str, headers: dict[str, str] | None = None, **extra: Any) -> JSONResponse:
    """An error answer `{error, message, ...}`, encodable whatever values it echoes."""
    body = {"error": code, "message": safe(message, MAX_MESSAGE), **{k: safe(v) for k, v in extra.items()}}
    return JSONResponse(body, status_code=status, headers=headers)


def allowed_methods(request: Request) -> list[str]:
    """The methods the route table serves on this path (every route whose path matches, not only the first)."""
    path = request.scope.get("path", "")
    methods: set[str] = set()
    for route in getattr(request.app, "routes", ()):
        regex = getattr(route, "path_regex", None)
        if regex is not None and regex.match(path) and getattr(route, "methods", None):
            methods |= set(route.methods)
    return sorted(methods)


async def api_error(request: Request, exc: ApiError) -> Response:
    return error(exc.status, exc.code, exc.message, **exc.extra)


async def domain_error(request: Request, exc: Exception) -> Response:
    status, code = status_of(exc)
    if status >= 500:
        log.error("%s on %s %s: %s", type(exc).__name__, request.method, request.url.path, exc)
    return error(status, code, getattr(exc, "message", str(exc)), **getattr(exc, "extra", {}))


async def lead_error(request: Request, exc: LeadError) -> Response:
    n = len(exc.errors)
    return error(
        422, "invalid_lead", f"the lead was refused ({n} problem{'s' if n != 1 else ''})", fields=[x.to_json() for x in exc.errors]
    )


async def http_error(request: Request, exc: HTTPException) -> Response:
    code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
    msg = {404: f"no such endpoint: {request.url.path}", 405: f"{request.method} is not allowed on {request.url.path}"}.get(
        exc.status_code, str(exc.detail)
    )
    headers = dict(exc.headers or {})
    if exc.status_code == 405:
        headers["Allow"] = ", ".join(allowed_methods(request))
    return error(exc.status_code, code, msg, headers=headers or None)


async def internal_error(request: Request, exc: Exception) -> Response:
    log.error("internal error on %s %s", request.method, request.url.path, exc_info=exc)
    return error(500, "internal", "internal error; the server log has the details")


HANDLERS = {
    ApiError: api_error,
    e.DomainError: domain_error,
    SeedError: domain_error,
    LeadError: lead_error,
    HTTPException: http_error,
    Exception: internal_error,
}
