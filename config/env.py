"""Typed readers for environment variables.

Every setting Vigil takes comes through one of these helpers, so a bad value
stops the process at start with a message that names the variable.
"""

from __future__ import annotations

import os
from urllib.parse import urlsplit


class ConfigurationError(Exception):
    """A configuration variable is missing or has a value Vigil cannot use."""


_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


def _raw(name: str) -> str | None:
    value = os.environ.get(name)
    return None if value is None else value.strip()


def env_str(name: str, default: str) -> str:
    """Return the variable as a string, or `default` when it is unset."""
    value = _raw(name)
    return default if value is None or value == "" else value


def env_bool(name: str, *, default: bool) -> bool:
    """Return the variable as a boolean (1/0, true/false, yes/no, on/off)."""
    value = _raw(name)
    if value is None:
        return default
    lowered = value.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise ConfigurationError(
        f"{name}={value!r} is not a boolean: use one of 1/0, true/false, yes/no, on/off"
    )


def env_int(
    name: str, default: int, *, minimum: int = 0, maximum: int | None = None
) -> int:
    """Return the variable as an integer from `minimum` to `maximum`."""
    value = _raw(name)
    if value is None or value == "":
        return default
    try:
        number = int(value)
    except ValueError:
        raise ConfigurationError(f"{name}={value!r} is not a whole number") from None
    if number < minimum:
        raise ConfigurationError(f"{name}={number} is below the minimum of {minimum}")
    if maximum is not None and number > maximum:
        raise ConfigurationError(f"{name}={number} is above the maximum of {maximum}")
    return number


def env_list(name: str, default: list[str]) -> list[str]:
    """Return a comma-separated variable as a list of non-empty items."""
    value = _raw(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_url(name: str, default: str, *, schemes: set[str]) -> str:
    """Return the variable as a URL whose scheme is one of `schemes`."""
    value = env_str(name, default)
    scheme = urlsplit(value).scheme
    if scheme not in schemes:
        allowed = ", ".join(sorted(schemes))
        raise ConfigurationError(
            f"{name}={value!r} has scheme {scheme!r}; expected one of: {allowed}"
        )
    return value


def env_choice(name: str, default: str, *, choices: set[str]) -> str:
    """Return the variable when it is one of `choices`."""
    value = env_str(name, default)
    if value not in choices:
        allowed = ", ".join(sorted(choices))
        raise ConfigurationError(f"{name}={value!r} is not one of: {allowed}")
    return value
