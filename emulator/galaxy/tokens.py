"""Galaxy's SCIM access tokens: shown once at creation, then kept only as a SHA-256 hash.

Galaxy's "Generate access token" (reference entra-and-galaxy.md §2) can be pressed again at any
time; here every generated token stays valid until revoked, so several can be live at once.
"""

from __future__ import annotations

import hmac
import secrets
import uuid
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.hashing import hash_token
from emulator.store import Store

TABLE = "galaxy_tokens"
TOKEN_PREFIX = "gxscim_"


@dataclass(frozen=True)
class NewToken:
    record: dict
    secret: str


class TokenRegistry:
    """Creates, lists, revokes and checks tokens; plus an optional fixed token for CI."""

    def __init__(self, store: Store, clock: Clock, fixed_token: str | None = None) -> None:
        self.table = store.table(TABLE)
        self.table.add_index("id", lambda d: d["id"])
        self.clock = clock
        self._fixed_hash = hash_token(fixed_token) if fixed_token else None

    def create(self, name: str = "") -> NewToken:
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        record = {
            "id": str(uuid.uuid4()),
            "name": name or "SCIM access token",
            "hash": hash_token(secret),
            "hint": secret[: len(TOKEN_PREFIX) + 4] + "…",
            "created": self.clock.timestamp(),
            "revoked": None,
        }
        self.table.insert(record)
        return NewToken(record, secret)

    def list(self) -> list[dict]:
        """Public views of every token (never the hash)."""
        return [public_view(doc) for doc in self.table.values()]

    def revoke(self, token_id: str) -> dict | None:
        found = self.table.find_one("id", token_id)
        if found is None:
            return None
        doc_id, doc = found
        if doc["revoked"] is None:
            doc = {**doc, "revoked": self.clock.timestamp()}
            self.table.put(doc_id, doc)
        return public_view(doc)

    def regenerate(self, token_id: str) -> NewToken | None:
        """A new secret under the same name, and the old one revoked: one click when a token
        has leaked or been lost. The new token is written first, so a crash in between leaves
        two valid tokens rather than none. None when there is no live token with that id."""
        found = self.table.find_one("id", token_id)
        if found is None or found[1]["revoked"] is not None:
            return None
        new = self.create(found[1]["name"])
        self.revoke(token_id)
        return new

    def check(self, presented: str) -> bool:
        """True when `presented` is the fixed token or a live one; every candidate is compared
        with `hmac.compare_digest`, and all of them are compared, so timing reveals nothing."""
        digest = hash_token(presented)
        ok = False
        if self._fixed_hash is not None:
            ok |= hmac.compare_digest(digest, self._fixed_hash)
        for doc in self.table.docs.values():
            ok |= hmac.compare_digest(digest, doc["hash"]) and doc["revoked"] is None
        return ok


def public_view(doc: dict) -> dict:
    return {k: doc[k] for k in ("id", "name", "hint", "created", "revoked")}
