"""Request signatures: HubSpot's v3 and a generic HMAC-SHA256, checked before a payload is read.

HubSpot v3 (developers.hubspot.com, "Validating requests"): the header
`X-HubSpot-Signature-v3` is base64(HMAC-SHA256(client secret, method + URI + body +
timestamp)), the URI as the sender called it (scheme, host, path, query) with a
listed set of percent-escapes decoded, and `X-HubSpot-Request-Timestamp` in
milliseconds; a request older than 5 minutes is refused, so a captured request
cannot be replayed later. The generic scheme is the one most senders offer: a
header holding hex(HMAC-SHA256(secret, body)) (optionally `sha256=` first), and
with a timestamp header, the signed text is `timestamp.body`, under the same window.

Each check returns None when the request is good, else the reason in words. The
clock is passed in, never read here.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import Mapping

WINDOW = 300.0  # seconds: HubSpot refuses signatures older than 5 minutes
HUBSPOT_SIGNATURE = "x-hubspot-signature-v3"
HUBSPOT_TIMESTAMP = "x-hubspot-request-timestamp"
# the escapes HubSpot decodes before signing the URI
_DECODE = {
    "%3A": ":",
    "%2F": "/",
    "%3F": "?",
    "%40": "@",
    "%21": "!",
    "%24": "$",
    "%27": "'",
    "%28": "(",
    "%29": ")",
    "%2A": "*",
    "%2C": ",",
    "%3B": ";",
}


def hubspot_uri(uri: str) -> str:
    """The URI as HubSpot signs it: the listed percent-escapes decoded (either case), nothing else."""
    out = uri
    for esc, ch in _DECODE.items():
        out = out.replace(esc, ch).replace(esc.lower(), ch)
    return out


def hubspot_v3(secret: str, method: str, uri: str, body: bytes, timestamp: str) -> str:
    """The v3 signature HubSpot sends for this request."""
    message = method.upper().encode() + hubspot_uri(uri).encode() + body + timestamp.encode()
    return base64.b64encode(hmac.new(secret.encode(), message, hashlib.sha256).digest()).decode()


def _window(stamp: str | None, now: float, millis: bool) -> tuple[str | None, str | None]:
    """(the timestamp text, None) when it is a number within the window of `now`, else (None, why)."""
    if not stamp:
        return None, "no timestamp header"
    try:
        t = float(stamp) / (1000.0 if millis else 1.0)
    except ValueError:
        return None, f"timestamp {stamp[:40]!r} is not a number"
    age = now - t
    if age > WINDOW:
        return None, f"timestamp is {age:.0f} s old; signatures are good for {WINDOW:.0f} s"
    if age < -WINDOW:
        return None, f"timestamp is {-age:.0f} s in the future"
    return stamp, None


def check_hubspot_v3(secret: str, method: str, uri: str, body: bytes, headers: Mapping[str, str], now: float) -> str | None:
    """None when the request carries a good v3 signature made within 5 minutes of `now`; else why not."""
    sig = headers.get(HUBSPOT_SIGNATURE)
    if not sig:
        return "no X-HubSpot-Signature-v3 header"
    stamp, why = _window(headers.get(HUBSPOT_TIMESTAMP), now, millis=True)
    if stamp is None:
        return f"X-HubSpot-Request-Timestamp: {why}"
    if not hmac.compare_digest(sig.strip().encode(), hubspot_v3(secret, method, uri, body, stamp).encode()):
        return "X-HubSpot-Signature-v3 does not match the request (wrong secret, or the body or URL was changed)"
    return None


def hmac_sha256(secret: str, body: bytes, timestamp: str | None = None) -> str:
    """The generic signature: hex HMAC-SHA256 of the body, or of `timestamp.body` when a timestamp is sent."""
    message = body if timestamp is None else timestamp.encode() + b"." + body
    return hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()


def check_hmac_sha256(
    secret: str, body: bytes, headers: Mapping[str, str], now: float, header: str, timestamp_header: str | None = None
) -> str | None:
    """None when `header` holds the body's HMAC-SHA256 (hex, `sha256=` allowed); with `timestamp_header`, within the window."""
    sig = headers.get(header.lower())
    if not sig:
        return f"no {header} header"
    stamp = None
    if timestamp_header:
        stamp, why = _window(headers.get(timestamp_header.lower()), now, millis=False)
        if stamp is None:
            return f"{timestamp_header}: {why}"
    sig = sig.strip()
    if sig.lower().startswith("sha256="):
        sig = sig[7:]
    if not hmac.compare_digest(sig.lower().encode(), hmac_sha256(secret, body, stamp).encode()):
        return f"{header} does not match the body (wrong secret, or the body was changed)"
    return None
