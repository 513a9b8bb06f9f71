"""Lead validation by the policy's `lead` schema.

A lead is refused, never repaired: an unknown field, a missing required field, a
value of the wrong type or a word outside its set each produce a FieldError that
names the field, the value and what was expected. Defaults are applied; optional
fields left out become None ("missing"), so later stages see every field.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..lang.diagnostics import did_you_mean
from ..lang.model import LeadField

# The lead ids every URL of the daemon can address (docs/security.md). The daemon refuses
# others at its door; replay and the CLI take any text, since CRM exports carry their own
# ids and no URL ever names them.
LEAD_ID = re.compile(r"[A-Za-z0-9._:@-]{1,128}\Z")


def addressable_id(value: str) -> bool:
    """Whether a lead id can be named in a URL path: the safe alphabet, 1 to 128 long, not `.` or `..`."""
    return bool(LEAD_ID.match(value)) and value not in (".", "..")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    value: Any
    expected: str
    message: str

    def to_json(self) -> dict:
        return {"field": self.field, "value": self.value, "expected": self.expected, "message": self.message}


class LeadError(ValueError):
    """A lead the schema refuses; `errors` lists every problem found, not just the first."""

    def __init__(self, errors: Sequence[FieldError]):
        self.errors = list(errors)
        super().__init__("; ".join(e.message for e in self.errors))


def _show(value: Any) -> str:
    try:
        return json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError):
        return repr(value)


def _type_of(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a true/false value"
    if isinstance(value, int):
        return "a whole number"
    if isinstance(value, float):
        return "a number"
    if isinstance(value, str):
        return "a text"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


class LeadSchema:
    """A compiled `lead { ... }` block: checks and completes raw leads."""

    def __init__(self, fields: Sequence[LeadField], rep_names: Sequence[str]):
        self.fields = tuple(fields)
        self.names = tuple(f.name for f in fields)
        self.rep_names = frozenset(rep_names)
        self._rep_list = sorted(rep_names)
        self._by_name = {f.name: f for f in fields}
        # (name, kind, optional, has_default, default, words) per field, for the hot path
        self._plan = tuple((f.name, f.type.kind, f.optional, f.has_default, f.default, frozenset(f.type.words)) for f in fields)
        self.fast = self._compile_fast()

    def _compile_fast(self):
        """`fast`: a generated function that accepts a well-formed lead in one pass, or returns None.

        It never decides a refusal: anything unusual falls back to `_validate_slow`,
        which finds and words every error. A value is tested for its type first, so a
        well-formed field costs one test; a word field is one set lookup (an
        unhashable value raises TypeError, which means "not well-formed" here).
        """
        ns: dict[str, Any] = {"_M": object(), "REPS": self.rep_names}
        lines = [
            "def fast(raw):",
            "  if raw.__class__ is not dict: return None",
            "  g = raw.get",
            "  n = 0  # fields left out",
            "  try:",
            "    pass",
        ]
        out = []
        for k, (name, kind, optional, has_default, default, words) in enumerate(self._plan):
            v = f"v{k}"
            out.append(f"{name!r}: {v}")
            ns[f"D{k}"] = default
            ns[f"W{k}"] = words
            test = {
                "int": f"{v}.__class__ is int",
                "number": f"({v}.__class__ is int or {v}.__class__ is float) and {v} == {v}",
                "text": f"{v}.__class__ is str",
                "bool": f"{v}.__class__ is bool",
                "enum": f"{v} in W{k}",
                "rep": f"{v} in REPS",
            }[kind]
            if has_default:
                missing = f"{v} = D{k}"
            elif optional:
                missing = f"{v} = None"
            else:
                missing = "return None"
            if missing == "return None":  # required: a subscript (a missing key raises KeyError: not well-formed)
                lines.append(f"    {v} = raw[{name!r}]")
                lines.append(f"    if not ({test}): return None")
                continue
            lines.append(f"    {v} = g({name!r}, _M)")
            lines.append(f"    if not ({test}):")
            lines.append(f"      if {v} is _M: {missing}; n += 1")
            # null means missing, as in _validate_slow: the default or None
            lines.append(f"      elif {v} is None: {missing}")
            lines.append("      else: return None")
        lines.append("  except (TypeError, KeyError):")
        lines.append("    return None")
        lines.append(f"  if len(raw) + n != {len(self._plan)}: return None  # a key that is not a field")
        lines.append("  return {" + ", ".join(out) + "}")
        exec("\n".join(lines), ns)  # noqa: S102 - our own generated source
        return ns["fast"]

    def expected(self, f: LeadField) -> str:
        kind = f.type.kind
        if kind == "enum":
            return "one of " + ", ".join(f.type.words)
        if kind == "rep":
            return "a rep of the team"
        return {"int": "a whole number", "number": "a number", "text": "a text", "bool": "true or false"}[kind]

    def check_value(self, f: LeadField, value: Any) -> FieldError | None:
        """None when `value` fits field `f`, else the error that says why."""
        kind = f.type.kind
        ok = True
        extra = ""
        if kind == "int":
            ok = isinstance(value, int) and not isinstance(value, bool)
        elif kind == "number":
            ok = isinstance(value, (int, float)) and not isinstance(value, bool) and value == value
        elif kind == "text":
            ok = isinstance(value, str)
        elif kind == "bool":
            ok = isinstance(value, bool)
        elif kind == "enum":
            ok = isinstance(value, str) and value in f.type.words
            if isinstance(value, str) and not ok:
                guess = did_you_mean(value, f.type.words)
                extra = f"; did you mean {guess}?" if guess else ""
        elif kind == "rep":
            ok = isinstance(value, str) and value in self.rep_names
            if isinstance(value, str) and not ok:
                guess = did_you_mean(value, self.rep_names)
                extra = f"; did you mean {guess}?" if guess else ""
        if ok:
            return None
        expected = self.expected(f)
        if kind == "enum" and isinstance(value, str):
            msg = f"field {f.name}: {_show(value)} is not one of its words; expected {expected}{extra}"
        elif kind == "rep" and isinstance(value, str):
            msg = f"field {f.name}: {_show(value)} is not a rep of the team{extra or '; the team has ' + ', '.join(self._rep_list[:8]) + (', ...' if len(self._rep_list) > 8 else '')}"
        else:
            msg = f"field {f.name}: expected {expected}, got {_type_of(value)} {_show(value)}"
        return FieldError(f.name, value, expected, msg)

    def validate(self, raw: Any) -> dict[str, Any]:
        """A complete lead (defaults applied, missing optionals as None) or LeadError."""
        lead = self.fast(raw)
        if lead is not None:
            return lead
        return self._validate_slow(raw)

    def _validate_slow(self, raw: Any) -> dict[str, Any]:
        if not isinstance(raw, Mapping):
            raise LeadError(
                [FieldError("", raw, "an object of field to value", f"a lead must be an object of field to value, got {_type_of(raw)}")]
            )
        out: dict[str, Any] = {}
        errors: list[FieldError] = []
        by_name = self._by_name
        present = 0
        for name, kind, optional, has_default, default, words in self._plan:
            if name in raw:
                present += 1
                value = raw[name]
                if value is None:  # null means missing: the default, else None for an optional field
                    if has_default:
                        out[name] = default
                        continue
                    if optional:
                        out[name] = None
                        continue
                    errors.append(FieldError(name, None, self.expected(by_name[name]), f"field {name}: is required, got null"))
                    continue
                # fast path for the common, valid cases
                if kind == "enum":
                    if value.__class__ is str and value in words:
                        out[name] = value
                        continue
                elif kind == "text":
                    if value.__class__ is str:
                        out[name] = value
                        continue
                elif kind == "int":
                    if value.__class__ is int:
                        out[name] = value
                        continue
                err = self.check_value(by_name[name], value)
                if err:
                    errors.append(err)
                else:
                    out[name] = value
            elif has_default:
                out[name] = default
            elif optional:
                out[name] = None
            else:
                errors.append(
                    FieldError(
                        name,
                        None,
                        self.expected(by_name[name]),
                        f"field {name}: is required but missing; expected {self.expected(by_name[name])}",
                    )
                )
        if present < len(raw):
            for key in raw:
                if key not in by_name:
                    guess = did_you_mean(str(key), self.names)
                    hint = f"; did you mean {guess}?" if guess else f"; the schema has: {', '.join(self.names)}"
                    errors.append(FieldError(str(key), raw[key], "a field of the lead schema", f"field {key}: unknown field{hint}"))
        if errors:
            raise LeadError(errors)
        return out
