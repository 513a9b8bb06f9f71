"""Reading requests: bodies as JSON within a size limit, times as ISO-8601 or epoch seconds, lead ids.

Each refusal is an ApiError naming the field and what was expected; the error
table (errors.py) turns it into a JSON answer. Bodies are read by the strict
reader (safejson.py): whatever bytes arrive, the answer is a 4xx in words.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime
from typing import Any

from starlette.requests import ClientDisconnect, Request

from ..engine.schema import addressable_id
from .errors import ApiError
from .safejson import JsonRefused, loads, safe

MAX_BODY = 64 * 1024
MAX_TIME = 253402300799.0  # 9999-12-31T23:59:59Z


async def read_body(request: Request) -> bytes:
    """The raw body within MAX_BODY (413 beyond it); a signature is checked over these bytes."""
    length = request.headers.get("content-length")
    if length is not None and length.isdigit() and int(length) > MAX_BODY:
        raise ApiError(413, "too_large", f"request body is {int(length)} bytes; the limit is {MAX_BODY}")
    body = bytearray()
    try:
        async for chunk in request.stream():
            body += chunk
            if len(body) > MAX_BODY:
                raise ApiError(413, "too_large", f"request body is over the limit of {MAX_BODY} bytes")
    except ClientDisconnect:  # gone, or cut by the body read timeout (serve.py): nobody reads this answer
        raise ApiError(408, "timeout", "the request body did not arrive in time") from None
    return bytes(body)


async def read_json(request: Request) -> Any:
    """The body as JSON, refusing bodies over MAX_BODY (413) and bad JSON (400)."""
    body = await read_body(request)
    if not body.strip():
        raise ApiError(400, "bad_json", "empty body: expected a JSON object")
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError as err:
        raise ApiError(400, "bad_json", f"body is not UTF-8 text (byte {err.start})") from None
    try:
        return loads(text)
    except JsonRefused as err:
        extra = {"fields": err.fields()} if err.problems else {}
        raise ApiError(400, "bad_json", err.message, **extra) from None


async def read_object(request: Request) -> dict:
    data = await read_json(request)
    if not isinstance(data, dict):
        raise ApiError(400, "bad_json", "expected a JSON object")
    return data


async def read_optional_object(request: Request) -> dict:
    """The body as an object, or {} when there is none (an optional body, e.g. accept's rep)."""
    length = request.headers.get("content-length")
    has_body = (length is not None and length != "0") or "chunked" in request.headers.get("transfer-encoding", "")
    return await read_object(request) if has_body else {}


def check_lead_id(value: Any) -> None:
    """Refuse an `id` no URL could address later (a 422 naming `id`); a missing id is the engine's to refuse."""
    if value is None:
        return
    if not isinstance(value, str):
        raise invalid("id", f"expected a text id, got {json.dumps(safe(value, 40))}")
    if not addressable_id(value):
        raise invalid(
            "id",
            f"{json.dumps(safe(value, 40))} is not a usable lead id; expected 1 to 128 of A-Z a-z 0-9 . _ : @ -, and not . or ..",
        )


def invalid(field: str, message: str) -> ApiError:
    """A 422 naming one field of the request body."""
    return ApiError(422, "invalid", f"{field}: {message}", fields=[{"field": field, "message": message}])


def parse_time(value: Any, name: str) -> float:
    """Seconds since the epoch from a number or an ISO-8601 text (naive means UTC), 1970..9999."""
    t = None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        t = float(value)
    elif isinstance(value, str):
        text = value.strip()
        try:
            t = float(text)
        except ValueError:
            try:
                dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
                t = (dt if dt.tzinfo else dt.replace(tzinfo=UTC)).timestamp()
            except (ValueError, OverflowError):
                t = None
    if t is None or not math.isfinite(t) or not 0 <= t <= MAX_TIME:
        raise ApiError(
            400,
            "bad_time",
            f"{name}: expected an ISO-8601 time (2026-11-24T09:00:00Z) or seconds since the epoch, got {json.dumps(safe(value, 60))}",
        )
    return t


def iso(t: float | None) -> str | None:
    return None if t is None else datetime.fromtimestamp(t, UTC).isoformat().replace("+00:00", "Z")
