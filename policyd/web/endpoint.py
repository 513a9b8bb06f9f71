"""An endpoint described once: its route, the role it needs, and what the OpenAPI document says of it.

The route table (app.py) is a list of these; the Starlette routes and the OpenAPI
document (openapi.py) are both made from it, so neither can drift from the other.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from .auth import needs

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Param:
    name: str
    where: str  # path | query
    description: str = ""
    enum: tuple[str, ...] = ()
    pattern: str | None = None  # what the path convertor and the API accept, for the document


@dataclass(frozen=True)
class Endpoint:
    """One operation. `ok` maps success statuses to a schema name (components) or a media type (`text/...`)."""

    method: str
    path: str
    handler: Handler
    operation_id: str
    summary: str
    role: str | None  # None: open to anyone
    ok: dict[int, str] = field(default_factory=lambda: {200: ""})
    errors: tuple[int, ...] = ()
    body: str | None = None  # schema name of the JSON request body
    body_required: bool = True
    params: tuple[Param, ...] = ()
    page: bool = False  # an HTML page: the token may come as a cookie or ?token=
    documented: bool = True
    also: tuple[str, ...] = ()  # other media types a success may come as (`?format=`)

    def route(self) -> Route:
        fn = self.handler if self.role is None else needs(self.role, self.page)(self.handler)
        return Route(self.path, fn, methods=[self.method])


def path(name: str, description: str = "", pattern: str | None = None) -> Param:
    return Param(name, "path", description, pattern=pattern)


def query(name: str, description: str, enum: tuple[str, ...] = ()) -> Param:
    return Param(name, "query", description, enum)
