"""Bearer tokens with roles, checked before an endpoint runs.

The API takes the `Authorization: Bearer` header only (a cookie would invite
cross-site requests). Pages also take `?token=` once, answered with a redirect that
swaps it for an http-only cookie, so the token leaves the address bar and history.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from functools import wraps
from urllib.parse import urlencode

from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from .errors import error
from .state import Daemon

COOKIE = "policyd_token"
# pages need no script at all: forbid it, so a name that slipped past escaping could still not run
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'; img-src data:; form-action 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}

Handler = Callable[[Request], Awaitable[Response]]


def page_error(title: str, message: str) -> str:
    from ..render.jinja import render_template

    return render_template("page_error.html.j2", {"title": title, "message": message})


def _token_from(request: Request, page: bool) -> str | None:
    auth = request.headers.get("authorization")
    if auth:
        scheme, _, value = auth.partition(" ")
        return value.strip() if scheme.lower() == "bearer" else None
    if page:
        return request.query_params.get("token") or request.cookies.get(COOKIE)
    return None


def needs(role: str, page: bool = False) -> Callable[[Handler], Handler]:
    """Check the bearer token (or, for pages, a cookie or ?token=) has at least `role`."""

    def wrap(fn: Handler) -> Handler:
        @wraps(fn)
        async def endpoint(request: Request) -> Response:
            app: Daemon = request.app.state.daemon
            token = _token_from(request, page)
            who = app.tokens.identify(token)
            if who is None:
                msg = (
                    "missing bearer token: send `Authorization: Bearer TOKEN` (create one with `policyd token create`)"
                    if not token
                    else "unknown token"
                )
                if page:
                    return HTMLResponse(page_error("Sign-in needed", msg + "; browsers may add ?token=TOKEN to the address once"), 401)
                return JSONResponse({"error": "unauthorized", "message": msg}, 401, headers={"WWW-Authenticate": "Bearer"})
            if not who.can(role):
                msg = f"token {who.name!r} has role {who.role}; this needs role {role} or higher"
                if page:
                    return HTMLResponse(page_error("Not allowed", msg), 403)
                return error(403, "forbidden", msg)
            if page and request.query_params.get("token"):
                rest = [(k, v) for k, v in request.query_params.multi_items() if k != "token"]
                target = request.url.path + ("?" + urlencode(rest) if rest else "")
                response: Response = RedirectResponse(target, 303)
                response.set_cookie(COOKIE, token or "", httponly=True, samesite="strict", path="/")
                return response
            request.state.who = who
            return await fn(request)  # every HTML answer gets PAGE_HEADERS (app.py), unless it sets its own CSP

        return endpoint

    return wrap
