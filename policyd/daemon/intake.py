"""Mapped intake: what a CRM or a web form sends, through a replay mapping file, as a lead.

A source is a mapping file, the same TOML a replay reads (replay/mapping.py; mapped
by replay/history.py, so one mapping module serves both), served at
`POST /v1/intake/NAME` (`policyd serve --map NAME=FILE`; a bare `--map FILE` is
`POST /v1/intake`). Beside the replay's tables it may have:

    [intake]
    signature = "hubspot-v3"        # or "hmac-sha256"; the signature then replaces the bearer token
    secret_env = "HUBSPOT_CLIENT_SECRET"   # the secret is read from the environment, never kept in the file
    header = "X-Signature"          # hmac-sha256: the header holding the signature
    timestamp_header = "X-Timestamp" # hmac-sha256: optional, signed as `timestamp.body`, 5-minute window
    public_url = "https://leads.example.com"  # hubspot-v3 signs the URL the sender called (behind a proxy)
    ignore = ["properties.hs_*"]    # with strict = true, a payload value neither mapped nor ignored is refused
    strict = false

    [owners]                        # the CRM's ids of each rep, carried by the decision's answer
    alice = { hubspot_owner_id = "75298514" }

`[history] arrival` is not needed here (a lead arrives when it is posted). The file is
read again when it changes on disk, so an admin can fix a mapping and re-submit the
requests it refused.
"""

from __future__ import annotations

import fnmatch
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..engine.schema import LeadSchema
from ..replay.history import History
from ..replay.mapping import MappingSpec, mapping_from_dict, read_toml
from ..replay.records import MappingError, RowError

SIGNATURES = ("hubspot-v3", "hmac-sha256")
_INTAKE = {"signature", "secret_env", "header", "timestamp_header", "public_url", "ignore", "strict"}
DEFAULT_SOURCE = "default"


@dataclass(frozen=True)
class IntakeOptions:
    signature: str | None = None
    secret: str | None = None
    header: str = "X-Signature"
    timestamp_header: str | None = None
    public_url: str | None = None
    ignore: tuple[str, ...] = ()
    strict: bool = False


@dataclass
class Source:
    """One source: its mapping, options and owner ids, re-read when the file changes."""

    name: str
    file: str
    spec: MappingSpec
    options: IntakeOptions
    owners: dict[str, dict[str, str]]
    mtime: float
    _mappers: dict[int, tuple[LeadSchema, History]] = field(default_factory=dict)

    def mapper(self, schema: LeadSchema) -> History:
        """The mapping checked against this schema (MappingError when the policy needs a field it does not map)."""
        hit = self._mappers.get(id(schema))
        if hit is None or hit[0] is not schema:  # the schema itself is kept, so a reused id never finds a stale mapper
            if len(self._mappers) >= 8:  # a front door's schema and its teams' schemas, not every schema ever seen
                self._mappers.clear()
            hit = self._mappers[id(schema)] = (schema, History.for_payloads(self.spec, schema, Path(self.file).parent))
        return hit[1]

    def map(self, payload: Any, schema: LeadSchema) -> tuple[dict, list[str]]:
        """(lead, mapping notes); RowError naming the field when the payload cannot be mapped."""
        if not isinstance(payload, dict):
            raise RowError("", "expected a JSON object")
        lead, notes = self.mapper(schema).map_payload(payload)
        if self.options.strict:
            check_extras(payload, self.spec, self.options.ignore)
        return lead, notes


def _err(file: str, key: str, expected: str) -> MappingError:
    return MappingError(f"{file}: {key}: expected {expected}")


def _options(file: str, data: Any, env: Mapping[str, str]) -> IntakeOptions:
    if not isinstance(data, dict):
        raise _err(file, "intake", "a table")
    for k in data:
        if k not in _INTAKE:
            raise MappingError(f"{file}: intake.{k}: unknown key; expected one of {', '.join(sorted(_INTAKE))}")
    sig = data.get("signature")
    if sig is not None and sig not in SIGNATURES:
        raise _err(file, "intake.signature", "one of " + ", ".join(SIGNATURES))
    for k in ("secret_env", "header", "timestamp_header", "public_url"):
        if k in data and (not isinstance(data[k], str) or not data[k]):
            raise _err(file, f"intake.{k}", "a text")
    secret = None
    if sig is not None:
        name = data.get("secret_env")
        if name is None:
            raise MappingError(
                f"{file}: intake.secret_env: missing; a signature needs the name of the environment variable holding its secret"
            )
        secret = env.get(name)
        if not secret:
            raise MappingError(f"{file}: intake.secret_env: the environment variable {name} is not set (it holds the {sig} secret)")
    ignore = data.get("ignore", [])
    if not isinstance(ignore, list) or not all(isinstance(x, str) for x in ignore):
        raise _err(file, "intake.ignore", 'a list of paths, * allowed (e.g. ["properties.hs_*"])')
    strict = data.get("strict", False)
    if not isinstance(strict, bool):
        raise _err(file, "intake.strict", "true or false")
    return IntakeOptions(
        sig, secret, data.get("header", "X-Signature"), data.get("timestamp_header"), data.get("public_url"), tuple(ignore), strict
    )


def _owners(file: str, data: Any) -> dict[str, dict[str, str]]:
    if not isinstance(data, dict):
        raise _err(file, "owners", "a table of rep = { id name = id }")
    out = {}
    for rep, ids in data.items():
        if not isinstance(ids, dict) or not all(isinstance(v, (str, int)) and not isinstance(v, bool) for v in ids.values()):
            raise _err(file, f"owners.{rep}", '{ hubspot_owner_id = "75298514", salesforce_owner_id = "005..." }')
        out[rep] = {k: str(v) for k, v in ids.items()}
    return out


def load_source(name: str, file: str, env: Mapping[str, str] | None = None) -> Source:
    """Read a source's mapping file; MappingError naming the file, the key and what was expected."""
    try:
        mtime = os.stat(file).st_mtime
    except OSError as err:
        raise MappingError(f"{file}: cannot read the mapping file: {err.strerror}") from None
    data = read_toml(file)
    options = _options(file, data.pop("intake", {}), os.environ if env is None else env)
    owners = _owners(file, data.pop("owners", {}))
    hist = data.setdefault("history", {})
    if isinstance(hist, dict):
        hist.setdefault("arrival", "arrival")  # unused: an intake lead arrives when it is posted
    return Source(name, file, mapping_from_dict(data, file), options, owners, mtime)


def load_owners(file: str) -> dict[str, dict[str, str]]:
    """An owners file: `[alice] hubspot_owner_id = "75298514"` per rep (`policyd serve --owners FILE`)."""
    data = read_toml(file, "owners file")
    return _owners(file, data.get("owners", data))


def _leaves(value: Any, prefix: str = "") -> list[str]:
    if isinstance(value, dict) and value:
        return [p for k, v in value.items() for p in _leaves(v, f"{prefix}{k}." if prefix or k else "")]
    return [prefix[:-1]] if prefix else []


def check_extras(payload: dict, spec: MappingSpec, ignore: tuple[str, ...]) -> None:
    """Strict intake: every value of the payload is mapped or ignored (RowError naming the first that is neither)."""
    used = {f.column for f in spec.fields.values() if f.column}
    if spec.id:
        used.add(spec.id)
    for leaf in _leaves(payload):
        if any(leaf == u or leaf.startswith(u + ".") for u in used):
            continue
        if any(fnmatch.fnmatchcase(leaf, pat) for pat in ignore):
            continue
        raise RowError(leaf, "not mapped and not in [intake] ignore (strict = true)")


class Sources:
    """The daemon's sources by name; each re-read when its file changes (a reload that fails keeps the last good one)."""

    def __init__(self, maps: Mapping[str, str] | None = None, owners: Mapping[str, dict[str, str]] | None = None, env=None):
        self.env = env
        self.files = dict(maps or {})
        self.global_owners = dict(owners or {})
        self.by_name = {name: load_source(name, f, env) for name, f in self.files.items()}
        self.errors: dict[str, str] = {}

    def get(self, name: str) -> Source | None:
        src = self.by_name.get(name)
        if src is None:
            return None
        try:
            changed = os.stat(src.file).st_mtime != src.mtime
        except OSError:
            changed = False
        if changed:
            try:
                src = self.by_name[name] = load_source(name, src.file, self.env)
                self.errors.pop(name, None)
            except MappingError as err:
                self.errors[name] = str(err)
        return src

    def owner_ids(self, rep: str | None, source: Source | None = None) -> dict[str, str]:
        """The CRM ids of `rep`: the owners file's, then the source's own over them."""
        if rep is None:
            return {}
        return {**self.global_owners.get(rep, {}), **(source.owners.get(rep, {}) if source else {})}
