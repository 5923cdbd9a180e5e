"""Azure SignalR's naming rules for hubs, applications, groups and users, with the messages the
service's validation answers (the emulator shares these definitions with the service)."""

from __future__ import annotations

import re

_HUB = re.compile(r"[A-Za-z][A-Za-z0-9_`,.\[\]]{0,127}")
_MAX_GROUP = 1024
_MAX_USER = 1024

INVALID_HUB = (
    "Invalid hub name. Valid hub name should be in between 1 and 128 characters long. The first"
    " character must be a letter, other characters can be letters, digits or the following"
    " symbols _`,.[]"
)
INVALID_APPLICATION = (
    "Invalid value of 'application'. Valid application name should be in between 1 and 128"
    " characters long. The first character must be a letter, other characters can be letters,"
    " digits or the following symbols _`,.[]"
)
INVALID_GROUP = (
    "Invalid group name. Valid group name should be in between 1 and 1024 characters long."
)
INVALID_USER = "Invalid user id. Valid user id should be in between 1 and 1024 characters long."


def valid_hub(name: str) -> bool:
    return _HUB.fullmatch(name) is not None


def valid_group(name: str) -> bool:
    return 0 < len(name) <= _MAX_GROUP and not name.isspace()


def valid_user(name: str) -> bool:
    return 0 < len(name) <= _MAX_USER and not name.isspace()


def hub_key(hub: str, application: str | None = None) -> str:
    """Hubs are case-insensitive (the Management SDK lower-cases them); an application
    namespaces its hubs as `{application}_{hub}`, which is also the hub clients connect to."""
    return (f"{application}_{hub}" if application else hub).lower()
