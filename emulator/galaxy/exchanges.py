"""A bounded record of every SCIM exchange the receiver answered, with secrets redacted.

This is what a developer reads to see exactly what their identity provider (or the mock
Entra engine) sent, the way Mailpit shows every message it caught.
"""

from __future__ import annotations

import itertools
import logging
from collections import deque
from collections.abc import Iterable

import orjson

SECRET_KEYS = frozenset({"password", "secret", "token", "secrettoken", "access_token", "client_secret"})
REDACTED = "[redacted]"
NESTED = "<nested>"
MAX_KEPT_BODY = 64 * 1024
# Deeper than any SCIM message (a PATCH value inside an extension is about 5 levels), and shallow
# enough that redacting, and the stdlib JSON encoder of the listing, never recurse too far.
MAX_DEPTH = 64

log = logging.getLogger(__name__)


def _secret_name(name: object) -> bool:
    """A secret-looking member name, in any letter case and URN-qualified or not
    (`Password`, `urn:ietf:params:scim:schemas:core:2.0:User:password`)."""
    return isinstance(name, str) and name.rsplit(":", 1)[-1].strip().lower() in SECRET_KEYS


def redact(value: object, depth: int = 0) -> object:
    """A copy of a JSON value with every secret-looking member replaced, and anything nested
    deeper than MAX_DEPTH replaced by NESTED.

    A PATCH operation whose path names a secret (`{"Op": "Replace", "Path": "password", "Value":
    "x"}`, member names in any case, the path URN-qualified or not) has its value hidden too.
    """
    if depth >= MAX_DEPTH and isinstance(value, (dict, list)):
        return NESTED
    if isinstance(value, dict):
        out = {}
        secret_path = False
        for key, item in value.items():
            if _secret_name(key):
                out[key] = REDACTED
                continue
            out[key] = redact(item, depth + 1)
            if isinstance(key, str) and key.lower() == "path" and isinstance(item, str):
                secret_path = secret_path or _secret_name(item.split("[", 1)[0])
        if secret_path:
            for key in out:
                if isinstance(key, str) and key.lower() == "value":
                    out[key] = REDACTED
        return out
    if isinstance(value, list):
        return [redact(item, depth + 1) for item in value]
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


def _bounded(body: bytes | None) -> bytes | str | None:
    """The body to keep: the bytes, or for a large one a placeholder string."""
    if body and len(body) > MAX_KEPT_BODY:
        return f"<{len(body)} bytes, not kept>"
    return body or None


def _public(entry: dict) -> dict:
    request_body, response_body = entry["_bodies"]
    out = {k: v for k, v in entry.items() if k != "_bodies"}
    out["path"] = redact_path(entry["path"])
    out["request"] = {**entry.get("request", {}), "body": _shown(request_body)}
    out["response"] = {**entry.get("response", {}), "body": _shown(response_body)}
    return out


def redact_path(path_qs: str) -> str:
    """A request path whose query names a secret attribute (a filter on `password`, which the
    receiver refuses anyway) with its query values hidden."""
    path, sep, query = path_qs.partition("?")
    if not sep or not any(word in query.lower() for word in SECRET_KEYS):
        return path_qs
    hidden = "&".join(f"{part.partition('=')[0]}={REDACTED}" for part in query.split("&"))
    return f"{path}?{hidden}"


def _shown(body: bytes | str | None) -> object:
    """A kept body as the listing shows it: decoded and redacted JSON, or a placeholder.

    A body that is not JSON is never shown as text: it may be a JSON document with a password
    that merely failed to parse. Reading the log must not fail whatever a client sent, so any
    surprise becomes a placeholder too (and a log line)."""
    if body is None or isinstance(body, str):
        return body
    try:
        decoded = orjson.loads(body)
    except orjson.JSONDecodeError:
        return f"<{len(body)} bytes, not JSON>"
    try:
        return redact(decoded)
    except Exception:  # a bug must not take the whole listing down
        log.exception("could not redact a recorded body")
        return f"<{len(body)} bytes, not shown>"
