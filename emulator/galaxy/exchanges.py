"""A bounded record of every SCIM exchange the receiver answered, with secrets redacted.

This is what a developer reads to see exactly what their identity provider (or the mock
Entra engine) sent, the way Mailpit shows every message it caught.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

SECRET_KEYS = frozenset({"password", "secret", "token", "secrettoken", "access_token", "client_secret"})
REDACTED = "[redacted]"


def redact(value: object) -> object:
    """A copy of a JSON value with every secret-looking member replaced; PATCH operations on a
    `password` path have their value hidden too."""
    if isinstance(value, dict):
        out = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SECRET_KEYS:
                out[key] = REDACTED
            else:
                out[key] = redact(item)
        path = value.get("path")
        if isinstance(path, str) and path.lower().rsplit(":", 1)[-1] == "password" and "value" in out:
            out["value"] = REDACTED
        return out
    if isinstance(value, list):
        return [redact(item) for item in value]
    return value


class ExchangeLog:
    """The newest `size` exchanges, oldest first; each gets a sequence number for polling."""

    def __init__(self, size: int) -> None:
        self._entries: deque[dict] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def record(self, entry: dict) -> dict:
        entry = {"seq": next(self._seq), **entry}
        entry["request"] = {**entry.get("request", {}), "body": redact(entry.get("request", {}).get("body"))}
        entry["response"] = {
            **entry.get("response", {}),
            "body": redact(entry.get("response", {}).get("body")),
        }
        self._entries.append(entry)
        return entry

    def clear(self) -> None:
        self._entries.clear()

    def query(
        self,
        *,
        limit: int = 100,
        method: str | None = None,
        status: int | None = None,
        path_contains: str | None = None,
        since: int = 0,
    ) -> list[dict]:
        """The newest `limit` entries matching every given condition, oldest first."""
        matches: Iterable[dict] = (
            e
            for e in reversed(self._entries)
            if e["seq"] > since
            and (method is None or e["method"] == method.upper())
            and (status is None or e["status"] == status)
            and (path_contains is None or path_contains in e["path"])
        )
        picked = list(itertools.islice(matches, limit))
        picked.reverse()
        return picked
