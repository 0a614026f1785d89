"""Galaxy's direct users: people who sign in with an email and a password, outside SCIM and SSO.

Galaxy keeps direct (email and password) logins working beside single sign-on, and an account's
`accountadmin` needs one to repair a broken SSO configuration (reference entra-and-galaxy.md
§2). They come from scenarios (`[[galaxy.users]]`), from the CLI, and one `accountadmin` is made
on a data folder's first start with a generated password that is shown once. Passwords are kept
only as PBKDF2 hashes (`emulator.hashing`).
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable

from emulator.clock import Clock
from emulator.hashing import hash_password, looks_like_password_hash, password_matches
from emulator.store import Store

TABLE = "galaxy_direct_users"
ACCOUNTADMIN_EMAIL = "accountadmin@galaxy.example"
ACCOUNTADMIN_ROLE = "accountadmin"

# Loose on purpose: Galaxy logins are email addresses, and the check is there to catch typos such
# as a user name without a domain, not to validate RFC 5322.
EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s]+")

# A hash of a random password, compared against when the email is unknown, so that a wrong email
# costs as much time as a wrong password and timing does not tell which one was wrong.
_DUMMY_HASH = hash_password(secrets.token_urlsafe(16))


class DirectUserError(ValueError):
    """A direct user that cannot be added; the message says why."""


def looks_like_email(value: str) -> bool:
    return bool(EMAIL.fullmatch(value))


class DirectUsers:
    """The `galaxy_direct_users` table: email, displayName, password hash and roles."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.table = store.table(TABLE)
        self.table.add_index("email", lambda d: d["email"].lower())
        self.clock = clock

    def add(
        self,
        email: str,
        password: str,
        *,
        display_name: str | None = None,
        roles: Iterable[str] = (),
        password_hash: str | None = None,
    ) -> dict:
        """Add a user and return its public view; the email is unique, case-insensitively.
        `password_hash` (a stored hash, from an exported scenario) stands in for `password`."""
        email = email.strip()
        if not looks_like_email(email):
            raise DirectUserError(f"{email!r} is not an email address; Galaxy logins are email addresses")
        if password_hash is not None:
            if not looks_like_password_hash(password_hash):
                raise DirectUserError("the password hash is not one the emulator wrote")
        elif not password:
            raise DirectUserError("a direct user needs a password")
        if self.find(email) is not None:
            raise DirectUserError(f"a direct user with the email {email!r} already exists")
        doc = {
            "email": email,
            "displayName": display_name or email.split("@", 1)[0],
            "passwordHash": password_hash if password_hash is not None else hash_password(password),
            "roles": list(roles),
            "created": self.clock.timestamp(),
        }
        self.table.insert(doc)
        return public_view(doc)

    def add_scenario_user(self, entry: dict) -> None:
        """The `create_galaxy_user` callback of `emulator.scenarios.apply_scenario`: one
        `[[galaxy.users]]` entry (email, password or passwordHash, roles and optionally
        displayName)."""
        self.add(
            entry["email"],
            entry.get("password", ""),
            display_name=entry.get("displayName"),
            roles=entry.get("roles", ()),
            password_hash=entry.get("passwordHash"),
        )

    def find(self, email: str) -> dict | None:
        found = self.table.find_one("email", email.strip().lower())
        return None if found is None else found[1]

    def authenticate(self, email: str, password: str) -> dict | None:
        """The user's public view when the password is right, else None (never says which part
        was wrong)."""
        doc = self.find(email) if email else None
        if doc is None:
            password_matches(password, _DUMMY_HASH)
            return None
        return public_view(doc) if password_matches(password, doc["passwordHash"]) else None

    def list(self) -> list[dict]:
        return [public_view(doc) for doc in self.table.values()]

    def update(self, email: str, *, display_name: str, password: str = "") -> dict:
        """Change a direct user's display name and, when given, its password."""
        found = self.table.find_one("email", email.strip().lower())
        if found is None:
            raise DirectUserError(f"no direct user with the email {email!r}")
        if not display_name.strip():
            raise DirectUserError("the display name cannot be empty")
        doc = {**found[1], "displayName": display_name.strip()}
        if password:
            doc["passwordHash"] = hash_password(password)
        self.table.put(found[0], doc)
        return public_view(doc)

    def remove(self, email: str) -> dict:
        """Delete a direct user; the accountadmin stays, since deleting SSO needs it (§2)."""
        found = self.table.find_one("email", email.strip().lower())
        if found is None:
            raise DirectUserError(f"no direct user with the email {email!r}")
        if found[1]["email"].lower() == ACCOUNTADMIN_EMAIL:
            raise DirectUserError("the accountadmin user cannot be deleted")
        self.table.remove(found[0])
        return public_view(found[1])

    def ensure_accountadmin(self) -> str | None:
        """Create `accountadmin@galaxy.example` with a generated password when it does not exist
        (a data folder's first start) and return that password, which is never shown again;
        None when the user already exists."""
        if self.find(ACCOUNTADMIN_EMAIL) is not None:
            return None
        password = secrets.token_urlsafe(15)
        self.add(ACCOUNTADMIN_EMAIL, password, display_name="Account admin", roles=[ACCOUNTADMIN_ROLE])
        return password


def public_view(doc: dict) -> dict:
    """A direct user without its password hash."""
    return {k: doc[k] for k in ("email", "displayName", "roles", "created")}
