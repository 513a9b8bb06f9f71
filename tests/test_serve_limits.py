"""Slow and idle clients against a real server on loopback: read timeouts, the connection limit, health checks.

The limits are small here (half a second, ten connections) so the attacks are
cheap; each wait is bounded, and nothing asserts how fast an answer comes.
"""

from __future__ import annotations

import asyncio
import json
import socket
import threading
import time

import pytest
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from policyd.web.serve import MAX_HEADER_BYTES, Limits

from .serve_support import ProcessServer, ThreadServer, closed_by_server, db_rows, http_request, lead, make_token, publish, read_responses

LIMITS = Limits(header_timeout=0.5, body_timeout=0.5, keep_alive=5, max_connections=10)
RELEASE = threading.Event()


async def _blocking(request):
    """A test-only endpoint that stays in the app until released (connections the limit cannot evict)."""
    await asyncio.to_thread(RELEASE.wait, 20)
    return PlainTextResponse("released")


@pytest.fixture(scope="module")
def env(tmp_path_factory):
    db = tmp_path_factory.mktemp("limits") / "policyd.db"
    publish(db)
    tok = make_token(db, "assign")
    with ThreadServer(db, limits=LIMITS, extra_routes=[Route("/test/block", _blocking)]) as srv:
        yield srv, tok, db


def connect(srv) -> socket.socket:
    return socket.create_connection(("127.0.0.1", srv.port), timeout=20)


def health(srv) -> int:
    with connect(srv) as s:
        s.sendall(http_request("GET", "/v1/health"))
        (status, _, _), *_ = read_responses(s, 1)
    return status


def test_a_half_sent_header_is_cut_with_408(env):
    srv, _, _ = env
    with connect(srv) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
        answers = read_responses(s, 1)
        assert [a[0] for a in answers] == [408]
        assert b"headers did not arrive within 0.5 s" in answers[0][2]
        assert answers[0][1]["connection"] == "close"
        assert closed_by_server(s)


def test_headers_trickled_byte_by_byte_are_cut_too(env):
    """Each byte resets no clock: the limit is on the whole header, not on the gap between bytes."""
    srv, _, _ = env
    sent = 0
    with connect(srv) as s:
        s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")
        try:
            for _ in range(200):  # 200 x 0.05 s is far beyond the 0.5 s limit
                s.sendall(b"X")
                sent += 1
                time.sleep(0.05)
        except (BrokenPipeError, ConnectionResetError):
            pass
        assert sent < 200
        assert closed_by_server(s)


def test_a_connection_that_sends_nothing_is_closed(env):
    srv, _, _ = env
    with connect(srv) as s:
        answers = read_responses(s, 1)
    assert [a[0] for a in answers] == [408]


def test_a_slow_body_is_cut_with_408_and_nothing_is_decided(env):
    srv, tok, db = env
    body = json.dumps(lead("SLOW-1")).encode()
    with connect(srv) as s:
        s.sendall(http_request("POST", "/v1/assign", body, tok)[: -len(body)] + body[:10])
        answers = read_responses(s, 1)
        assert [a[0] for a in answers] == [408]
        assert b"body did not arrive within 0.5 s" in answers[0][2]
        assert closed_by_server(s)
    assert db_rows(db, "SELECT lead_id FROM rt_decisions WHERE lead_id = ?", ("L-SLOW-1",)) == []
    assert health(srv) == 200


def test_headers_over_the_size_limit_get_431(env):
    srv, _, _ = env
    start = b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Big: "
    with connect(srv) as s:
        s.sendall(start + b"a" * (MAX_HEADER_BYTES + 1 - len(start)))  # one byte over, headers never finished
        answers = read_responses(s, 1)
        assert [a[0] for a in answers] == [431]
        assert closed_by_server(s)


def test_a_prompt_client_is_not_cut(env):
    """A kept-alive connection serves several requests, each within the limits, past the header timeout in total."""
    srv, tok, _ = env
    with connect(srv) as s:
        for _ in range(4):
            s.sendall(http_request("GET", "/v1/health"))
            (status, _, _), *_ = read_responses(s, 1)
            assert status == 200
            time.sleep(0.2)  # 4 x 0.2 s idle between requests: more than one header timeout overall


def test_idle_connections_beyond_the_limit_do_not_stop_health_checks(env):
    srv, _, _ = env
    idle = []
    try:
        for _ in range(3 * LIMITS.max_connections):
            s = connect(srv)
            s.sendall(b"GET /v1/health HTTP/1.1\r\nHost: 127.0.0.1\r\n")  # never finished
            idle.append(s)
        for _ in range(5):
            assert health(srv) == 200
        assert len(srv.server.server_state.connections) <= LIMITS.max_connections
    finally:
        for s in idle:
            s.close()


def test_beyond_the_limit_with_every_connection_busy_a_new_one_gets_503(env):
    srv, _, _ = env
    RELEASE.clear()
    busy = [connect(srv) for _ in range(LIMITS.max_connections)]
    try:
        for s in busy:
            s.sendall(http_request("GET", "/test/block"))
        deadline = time.monotonic() + 20
        while sum(1 for c in srv.server.server_state.connections if c.cycle is not None) < LIMITS.max_connections:
            assert time.monotonic() < deadline, "the blocking requests did not all arrive"
            time.sleep(0.01)
        with connect(srv) as s:
            s.sendall(http_request("GET", "/v1/health"))
            answers = read_responses(s, 1)
        assert [a[0] for a in answers] == [503]
        assert b"too many connections" in answers[0][2]
    finally:
        RELEASE.set()
    for s in busy:
        (status, _, body), *_ = read_responses(s, 1)
        assert (status, body) == (200, b"released")  # the busy requests lost nothing
        s.close()
    assert health(srv) == 200


def test_policyd_serve_takes_the_limits_as_options(tmp_path):
    db = tmp_path / "policyd.db"
    publish(db)
    with ProcessServer(db, "--header-timeout", "0.5", "--body-timeout", "0.5", "--max-connections", "5") as srv:
        idle = [socket.create_connection(("127.0.0.1", srv.port), timeout=20) for _ in range(10)]
        try:
            with srv.client(None) as c:
                assert c.get("/v1/health").status_code == 200
            with socket.create_connection(("127.0.0.1", srv.port), timeout=20) as s:
                s.sendall(b"GET /v1/health HTTP/1.1\r\n")
                assert [a[0] for a in read_responses(s, 1)] == [408]
        finally:
            for s in idle:
                s.close()


def test_the_socket_listens_before_serving_is_announced():
    """`policyd: serving ...` is printed during the app's start-up, before uvicorn accepts: a client
    that connects on that line must wait in the queue, not be refused."""
    from policyd.web.serve import bind

    sock = bind("127.0.0.1", 0)
    try:
        with socket.create_connection(sock.getsockname(), timeout=5) as client:
            accepted, _ = sock.accept()
            client.sendall(b"ping")
            assert accepted.recv(4) == b"ping"
            accepted.close()
    finally:
        sock.close()
