"""The one jinja2 Environment: templates are package data, HTML is autoescaped."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


def _autoescape(name: str | None) -> bool:
    return name is not None and ".html" in name


@lru_cache(maxsize=1)
def environment() -> Environment:
    env = Environment(
        loader=PackageLoader("policyd.render", "templates"),
        undefined=StrictUndefined,
        autoescape=_autoescape,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["pad"] = lambda s, n: str(s).ljust(n)
    env.filters["rpad"] = lambda s, n: str(s).rjust(n)
    env.filters["signed"] = lambda n: f"+{n}" if n >= 0 else str(n)
    env.filters["zip_values"] = lambda _names, values: ", ".join(f"{v['field']} = {v['text']}" for v in values)
    return env


def render_template(name: str, data: dict[str, Any]) -> str:
    return environment().get_template(name).render(**data)
