"""The numbers a policy may write: the one rule, applied where number tokens become values.

Integers lie within +-10^15 (below 2^53, so they stay exact when compared with a
decimal); a decimal also lies within +-10^15 and has at most 15 significant digits,
so the float the engine compares is the value written. The check reads the digits
before converting, so a 5000-digit literal never reaches `int()` (whose digit limit
would raise) and a 400-digit decimal never becomes a float infinity.
"""

from __future__ import annotations

LIMIT = 10**15
MAX_DIGITS = 15
_LIMIT_TEXT = str(LIMIT)


class NumberError(ValueError):
    """A literal outside the language's numbers; `code`, message and `hint` make the diagnostic."""

    def __init__(self, code: str, message: str, hint: str):
        super().__init__(message)
        self.code, self.message, self.hint = code, message, hint


def _shown(text: str) -> str:
    digits = sum(c.isdigit() for c in text)
    return f"`{text}`" if len(text) <= 24 else f"`{text[:16]}...` ({digits} digits)"


def number_value(text: str) -> int | float:
    """The value of a NUMBER token (`-?digits(.digits)?`): an int, or a float for a decimal.

    Raises NumberError (P010 out of range, P011 too many significant digits).
    """
    whole, _, frac = text.lstrip("-").partition(".")
    whole = whole.lstrip("0")
    if len(whole) > len(_LIMIT_TEXT) or (len(whole) == len(_LIMIT_TEXT) and (whole > _LIMIT_TEXT or frac.strip("0"))):
        raise NumberError(
            "P010",
            f"the number {_shown(text)} is out of range; expected a number between -{_LIMIT_TEXT} and {_LIMIT_TEXT}",
            "numbers in a policy lie within -10^15..10^15 (docs/language.md)",
        )
    if "." not in text:
        return int(text)
    significant = len((whole + frac).lstrip("0")) if whole else len(frac.lstrip("0"))
    if significant > MAX_DIGITS:
        raise NumberError(
            "P011",
            f"the number {_shown(text)} has {significant} significant digits; expected at most {MAX_DIGITS}",
            f"round it to {MAX_DIGITS} significant digits",
        )
    return float(text)
