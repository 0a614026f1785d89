"""A bounded record of every SCIM exchange the receiver answered, with secrets redacted.

This is what a developer reads to see exactly what their identity provider (or the mock
Entra engine) sent, the way Mailpit shows every message it caught.
"""

from __future__ import annotations

import itertools
from collections import deque
from collections.abc import Iterable

import orjson

SECRET_KEYS = frozenset({"password", "secret", "token", "secrettoken", "access_token", "client_secret"})
REDACTED = "[redacted]"
MAX_KEPT_BODY = 64 * 1024


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
    """The newest `size` exchanges, oldest first; each gets a sequence number for polling.

    Bodies are kept as the raw bytes that crossed the wire and decoded (and redacted) only when
    someone reads the log, so recording costs the request almost nothing.
    """

    def __init__(self, size: int) -> None:
        self._entries: deque[dict] = deque(maxlen=size)
        self._seq = itertools.count(1)

    def record(self, entry: dict, request_body: bytes | None, response_body: bytes | None) -> None:
        entry["seq"] = next(self._seq)
        entry["_bodies"] = (_bounded(request_body), _bounded(response_body))
        self._entries.append(entry)

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
        picked = [_public(e) for e in itertools.islice(matches, limit)]
        picked.reverse()
        return picked


def _bounded(body: bytes | None) -> bytes | None:
    if body and len(body) > MAX_KEPT_BODY:
        return f"<{len(body)} bytes, not kept>".encode()
    return body or None


def _public(entry: dict) -> dict:
    request_body, response_body = entry["_bodies"]
    out = {k: v for k, v in entry.items() if k != "_bodies"}
    out["request"] = {**entry.get("request", {}), "body": redact(_decode(request_body))}
    out["response"] = {**entry.get("response", {}), "body": redact(_decode(response_body))}
    return out


def _decode(body: bytes | None) -> object:
    if body is None:
        return None
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        return body[:2048].decode("utf-8", "replace")
