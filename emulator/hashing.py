"""One-way hashes for the secrets the emulator keeps: access tokens and passwords."""

from __future__ import annotations

import base64
import hashlib
import hmac
import os

# About 6 ms here: passwords are hashed on the event loop as clients write them (Okta pushes one
# with every user), so the cost must stay small; the hashes guard demo and test accounts.
_PBKDF2_ROUNDS = 20_000


def hash_token(token: str) -> str:
    """A token is 256 random bits, so one SHA-256 is enough; slow hashing is for passwords."""
    return hashlib.sha256(token.encode()).hexdigest()


def token_matches(token: str, stored_hash: str) -> bool:
    return hmac.compare_digest(hash_token(token), stored_hash)


def hash_password(password: str) -> str:
    """PBKDF2-SHA256 with a random salt, in a `pbkdf2_sha256$rounds$salt$hash` string."""
    salt = os.urandom(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _PBKDF2_ROUNDS)
    return "$".join(
        (
            "pbkdf2_sha256",
            str(_PBKDF2_ROUNDS),
            base64.b64encode(salt).decode(),
            base64.b64encode(digest).decode(),
        )
    )


def password_matches(password: str, stored: str) -> bool:
    try:
        scheme, rounds, salt, digest = stored.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac("sha256", password.encode(), base64.b64decode(salt), int(rounds))
    return hmac.compare_digest(candidate, base64.b64decode(digest))


def looks_like_password_hash(stored: str) -> bool:
    """Whether `stored` has the shape `hash_password` writes (a scenario may carry one)."""
    parts = stored.split("$")
    if len(parts) != 4 or parts[0] != "pbkdf2_sha256" or not parts[1].isdigit() or int(parts[1]) < 1:
        return False
    try:
        salt, digest = base64.b64decode(parts[2], validate=True), base64.b64decode(parts[3], validate=True)
    except ValueError:
        return False
    return bool(salt) and len(digest) == hashlib.sha256().digest_size
