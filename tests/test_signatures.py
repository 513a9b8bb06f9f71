"""Signature checks against vectors computed from the published algorithms, with an injected clock."""

from __future__ import annotations

import base64
import hashlib
import hmac

import pytest

from policyd.web import signatures as s

SECRET = "yyyyyyyy-yyyy-yyyy-yyyy-yyyyyyyyyyyy"  # the client secret HubSpot's documentation uses
URI = "https://www.example.com/webhook_uri"
BODY = b'{"example_field":"example_value"}'
TS = "1593010230000"  # milliseconds
NOW = 1593010230.0


def published_v3(secret: str, method: str, uri: str, body: bytes, ts: str) -> str:
    """HubSpot's v3, as its page states it: base64(HMAC-SHA256(secret, method + uri + body + timestamp))."""
    return base64.b64encode(
        hmac.new(secret.encode(), method.encode() + uri.encode() + body + ts.encode(), hashlib.sha256).digest()
    ).decode()


def test_the_v3_signature_is_the_published_algorithm():
    assert s.hubspot_v3(SECRET, "POST", URI, BODY, TS) == published_v3(SECRET, "POST", URI, BODY, TS)
    assert s.hubspot_v3(SECRET, "POST", URI, BODY, TS) == "KD1rquVSy7Z/Kz/1Q/vKQghjICR0jgFD4jP1R2gX3hM="  # pinned


def test_the_uri_is_signed_with_the_listed_escapes_decoded():
    sent = "https://www.example.com/webhook_uri?email=kim%40globex.example&path=a%2Fb&x=%20"
    signed = "https://www.example.com/webhook_uri?email=kim@globex.example&path=a/b&x=%20"  # %20 is not on the list
    assert s.hubspot_uri(sent) == signed
    good = published_v3(SECRET, "POST", signed, BODY, TS)
    headers = {s.HUBSPOT_SIGNATURE: good, s.HUBSPOT_TIMESTAMP: TS}
    assert s.check_hubspot_v3(SECRET, "POST", sent, BODY, headers, NOW) is None


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"body": b'{"example_field":"other"}'}, "X-HubSpot-Signature-v3 does not match the request"),
        ({"secret": "another-secret"}, "X-HubSpot-Signature-v3 does not match the request"),
        ({"uri": "https://evil.example/webhook_uri"}, "X-HubSpot-Signature-v3 does not match the request"),
        ({"now": NOW + 300.5}, "X-HubSpot-Request-Timestamp: timestamp is 300 s old; signatures are good for 300 s"),
        ({"now": NOW - 400}, "X-HubSpot-Request-Timestamp: timestamp is 400 s in the future"),
        ({"headers": {s.HUBSPOT_TIMESTAMP: TS}}, "no X-HubSpot-Signature-v3 header"),
        ({"headers": {s.HUBSPOT_SIGNATURE: "x", s.HUBSPOT_TIMESTAMP: "soon"}}, "timestamp 'soon' is not a number"),
    ],
)
def test_a_v3_request_that_was_changed_or_is_too_old_is_refused(change, reason):
    good = {s.HUBSPOT_SIGNATURE: published_v3(SECRET, "POST", URI, BODY, TS), s.HUBSPOT_TIMESTAMP: TS}
    args = {"secret": SECRET, "uri": URI, "body": BODY, "headers": good, "now": NOW} | change
    why = s.check_hubspot_v3(args["secret"], "POST", args["uri"], args["body"], args["headers"], args["now"])
    assert why is not None and reason in why
    assert s.check_hubspot_v3(SECRET, "POST", URI, BODY, good, NOW + 299) is None  # just inside the window


def test_the_generic_hmac_over_the_body_and_over_timestamp_dot_body():
    plain = hmac.new(b"form-secret", b'{"a":1}', hashlib.sha256).hexdigest()
    assert s.hmac_sha256("form-secret", b'{"a":1}') == plain
    stamped = s.hmac_sha256("form-secret", b'{"a":1}', "1700000000")
    assert stamped == "ceab9082f655cdc5ab812f5d036140f981bd6cc0d6a548b91949e19ff4e267a2"  # pinned: hex HMAC of `1700000000.{"a":1}`
    assert s.check_hmac_sha256("form-secret", b'{"a":1}', {"x-signature": f"sha256={plain}"}, 0, "X-Signature") is None
    headers = {"x-signature": stamped, "x-timestamp": "1700000000"}
    assert s.check_hmac_sha256("form-secret", b'{"a":1}', headers, 1700000100, "X-Signature", "X-Timestamp") is None
    late = s.check_hmac_sha256("form-secret", b'{"a":1}', headers, 1700000301, "X-Signature", "X-Timestamp")
    assert late == "X-Timestamp: timestamp is 301 s old; signatures are good for 300 s"
    wrong = s.check_hmac_sha256("form-secret", b'{"a":2}', headers, 1700000100, "X-Signature", "X-Timestamp")
    assert wrong == "X-Signature does not match the body (wrong secret, or the body was changed)"
    assert s.check_hmac_sha256("form-secret", b"{}", {}, 0, "X-Signature") == "no X-Signature header"
