"""Fuzz every documented operation from the served OpenAPI document against a real server on loopback.

Requests that fit the document (positive) and requests that break it (negative)
must never get a 5xx, and every answer must be one the document lists, with its
media type and schema. Bounded: a few dozen examples per operation.
"""

from __future__ import annotations

import time

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from policyd.lottery import seeds
from policyd.web.routes import ENDPOINTS

from .serve_support import ThreadServer, make_token, publish

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]
EXAMPLES = {GenerationMode.POSITIVE: 50, GenerationMode.NEGATIVE: 30}
# negative cases need something to break: a parameter or a body
CASES = [
    (ep.method, ep.path, mode)
    for ep in ENDPOINTS
    if ep.documented
    for mode in EXAMPLES
    if mode is GenerationMode.POSITIVE or ep.params or ep.body
]


@pytest.fixture(scope="module")
def api(tmp_path_factory):
    db = tmp_path_factory.mktemp("fuzz") / "policyd.db"
    publish(db)
    now = time.time()
    for t in (now, now + 7 * 86400):
        seeds.commit(str(db), seeds.period_of(t), now=seeds.period_start(seeds.period_of(t)) - 60)
    token = make_token(db, "admin")
    with ThreadServer(db) as srv:
        headers = {"Authorization": f"Bearer {token}"}
        schema = schemathesis.openapi.from_url(srv.url + "/v1/openapi.json", headers=headers, timeout=20)
        yield schema, srv, headers


@pytest.mark.parametrize("method,path,mode", CASES, ids=[f"{m} {p} {mode.value}" for m, p, mode in CASES])
def test_no_operation_answers_5xx_or_off_the_document(api, method, path, mode):
    schema, srv, headers = api
    operation = schema[path][method]

    @settings(
        max_examples=EXAMPLES[mode],
        derandomize=True,  # the same cases every run: a failure here is a bug, never luck
        deadline=None,
        database=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
    )
    @given(case=operation.as_strategy(generation_mode=mode))
    def fuzz(case):
        case.call_and_validate(base_url=srv.url, headers=headers, checks=CHECKS, timeout=20)

    fuzz()
