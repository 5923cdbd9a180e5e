"""Settings errors as one line: every service (cloud and edge) reads its settings from
environment variables under a prefix of its own, and a missing or invalid one stops it with exit
code 2 and a line naming the variable, never its value."""

from __future__ import annotations

import sys
from typing import TypeVar

from pydantic import ValidationError
from pydantic_settings import BaseSettings

S = TypeVar("S", bound=BaseSettings)


def describe(error: ValidationError, prefix: str) -> str:
    """The first problem as one line naming the environment variable, never its value."""
    first = error.errors(include_input=False, include_url=False)[0]
    location = [str(part) for part in first["loc"]]
    message = first["msg"].removeprefix("Value error, ")
    if not location:
        return f"invalid settings: {message}"
    variable = prefix + "__".join(location).upper()
    if first["type"] == "missing":
        return f"missing setting {variable}"
    return f"invalid setting {variable}: {message}"


def prefix_of(cls: type[BaseSettings]) -> str:
    return str(cls.model_config.get("env_prefix", ""))


def load_settings(cls: type[S], service: str) -> S:
    try:
        return cls()
    except ValidationError as error:
        print(f"{service}: {describe(error, prefix_of(cls))}", file=sys.stderr, flush=True)
        raise SystemExit(2) from None
