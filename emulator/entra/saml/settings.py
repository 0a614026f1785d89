"""Per-app SAML settings, as the portal's Single sign-on blade edits them.

One document per enterprise application in the `entra_saml_settings` table, keyed by the app's
objectId, holding the three panes a person fills in:

* **Basic SAML Configuration**: Identifier (Entity ID) list, the first the default; Reply URL
  (Assertion Consumer Service URL) list, the first the default; Sign on URL (blank: My Apps
  launches IdP-initiated, reference entra-and-galaxy.md §3); Relay State; Logout Url.
* **Attributes & Claims**: the Unique User Identifier (NameID) source and format, the additional
  claims (reference §3 "Default claims"), and an optional groups claim.
* **SAML Certificates**: the signing option (assertion by default) and algorithm (SHA-256 by
  default), reference §3 "Signing".

plus the token lifetimes (70 minutes, 5 for the subject confirmation) and the app's "Assignment
required?" switch from its Properties pane. A new app has no Identifier and no Reply URL, as in
Entra, so nothing can sign in to it until they are set. `SamlSettings.to_json` is the control
API's and the scenario's form; `SamlSettingsStore.update` merges a partial change and validates
the whole, with messages that name the field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from typing import Any
from urllib.parse import urlsplit

from emulator.store import Store

TABLE = "entra_saml_settings"

NAMEID_FORMATS: dict[str, str] = {
    "emailAddress": "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    "persistent": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    "unspecified": "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified",
    "transient": "urn:oasis:names:tc:SAML:2.0:nameid-format:transient",
}
NAMEID_FORMAT_NAMES: dict[str, str] = {uri: name for name, uri in NAMEID_FORMATS.items()}

# Claim sources as the portal's "Source attribute" drop-down writes them, and the directory
# field each one reads.
USER_SOURCES: dict[str, str] = {
    "user.userprincipalname": "userPrincipalName",
    "user.mail": "mail",
    "user.givenname": "givenName",
    "user.surname": "surname",
    "user.displayname": "displayName",
    "user.objectid": "id",
    "user.mailnickname": "mailNickname",
    "user.jobtitle": "jobTitle",
    "user.department": "department",
    "user.employeeid": "employeeId",
    "user.preferredlanguage": "preferredLanguage",
    "user.physicaldeliveryofficename": "physicalDeliveryOfficeName",
    "user.streetaddress": "streetAddress",
    "user.city": "city",
    "user.state": "state",
    "user.postalcode": "postalCode",
    "user.country": "country",
    "user.telephonenumber": "telephoneNumber",
    "user.mobilephone": "mobile",
    "user.facsimiletelephonenumber": "facsimileTelephoneNumber",
}

WS_CLAIMS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
MS_CLAIMS = "http://schemas.microsoft.com/identity/claims/"
CLAIM_GIVENNAME = WS_CLAIMS + "givenname"
CLAIM_SURNAME = WS_CLAIMS + "surname"
CLAIM_EMAILADDRESS = WS_CLAIMS + "emailaddress"
CLAIM_NAME = WS_CLAIMS + "name"
CLAIM_TENANTID = MS_CLAIMS + "tenantid"
CLAIM_OBJECTIDENTIFIER = MS_CLAIMS + "objectidentifier"
CLAIM_DISPLAYNAME = MS_CLAIMS + "displayname"
CLAIM_IDENTITYPROVIDER = MS_CLAIMS + "identityprovider"
CLAIM_AUTHNMETHODSREFERENCES = "http://schemas.microsoft.com/claims/authnmethodsreferences"
CLAIM_GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
CLAIM_GROUPS_LINK = "http://schemas.microsoft.com/claims/groups.link"
CLAIM_ROLE = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"

#: Reference §3: the additional claims of a new non-gallery app, in the portal's order.
DEFAULT_CLAIMS: tuple[tuple[str, str], ...] = (
    (CLAIM_GIVENNAME, "user.givenname"),
    (CLAIM_SURNAME, "user.surname"),
    (CLAIM_EMAILADDRESS, "user.mail"),
    (CLAIM_NAME, "user.userprincipalname"),
)
#: Reference §3: claims Entra adds to every token; the portal does not let them be edited.
ALWAYS_ADDED_CLAIMS = frozenset(
    {
        CLAIM_TENANTID,
        CLAIM_OBJECTIDENTIFIER,
        CLAIM_DISPLAYNAME,
        CLAIM_IDENTITYPROVIDER,
        CLAIM_AUTHNMETHODSREFERENCES,
        CLAIM_GROUPS,
        CLAIM_GROUPS_LINK,
        CLAIM_ROLE,
    }
)

SIGNING_OPTIONS = ("assertion", "response", "both")
SIGNING_ALGORITHMS = ("SHA-256", "SHA-1")
GROUPS_CLAIM_OPTIONS = ("none", "securityGroups")

_MAX_TEXT = 1024
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.-]*:")


class SamlSettingsError(ValueError):
    """A settings change refused; the message names the field and says what is allowed."""


@dataclass(frozen=True)
class Claim:
    """One row of "Additional claims": the claim `name` (a URI, as Entra sends it) and the
    `source` user attribute."""

    name: str
    source: str

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "source": self.source}


@dataclass(frozen=True)
class SamlSettings:
    """One app's SAML settings; the defaults are those of a new non-gallery app in Entra."""

    identifiers: tuple[str, ...] = ()
    reply_urls: tuple[str, ...] = ()
    sign_on_url: str | None = None
    relay_state: str | None = None
    logout_url: str | None = None
    signing_option: str = "assertion"
    signing_algorithm: str = "SHA-256"
    name_id_source: str = "user.userprincipalname"
    name_id_format: str = "emailAddress"
    claims: tuple[Claim, ...] = field(
        default_factory=lambda: tuple(Claim(name, source) for name, source in DEFAULT_CLAIMS)
    )
    groups_claim: str = "none"
    assertion_lifetime_minutes: int = 70
    subject_confirmation_minutes: int = 5
    assignment_required: bool = True

    @property
    def default_identifier(self) -> str | None:
        return self.identifiers[0] if self.identifiers else None

    @property
    def default_reply_url(self) -> str | None:
        return self.reply_urls[0] if self.reply_urls else None

    @property
    def name_id_format_uri(self) -> str:
        return NAMEID_FORMATS[self.name_id_format]

    @property
    def sign_assertion(self) -> bool:
        return self.signing_option in ("assertion", "both")

    @property
    def sign_response(self) -> bool:
        return self.signing_option in ("response", "both")

    def to_json(self) -> dict[str, Any]:
        return {
            "identifiers": list(self.identifiers),
            "replyUrls": list(self.reply_urls),
            "signOnUrl": self.sign_on_url,
            "relayState": self.relay_state,
            "logoutUrl": self.logout_url,
            "signingOption": self.signing_option,
            "signingAlgorithm": self.signing_algorithm,
            "nameIdSource": self.name_id_source,
            "nameIdFormat": self.name_id_format,
            "claims": [claim.to_json() for claim in self.claims],
            "groupsClaim": self.groups_claim,
            "assertionLifetimeMinutes": self.assertion_lifetime_minutes,
            "subjectConfirmationMinutes": self.subject_confirmation_minutes,
            "assignmentRequired": self.assignment_required,
        }

    @classmethod
    def from_json(cls, doc: Mapping[str, Any]) -> SamlSettings:
        """Settings from their JSON form; missing keys keep their defaults. Raises
        `SamlSettingsError` on anything the portal would refuse."""
        return apply_changes(cls(), doc)


_FIELDS = {
    "identifiers": "identifiers",
    "replyUrls": "reply_urls",
    "signOnUrl": "sign_on_url",
    "relayState": "relay_state",
    "logoutUrl": "logout_url",
    "signingOption": "signing_option",
    "signingAlgorithm": "signing_algorithm",
    "nameIdSource": "name_id_source",
    "nameIdFormat": "name_id_format",
    "claims": "claims",
    "groupsClaim": "groups_claim",
    "assertionLifetimeMinutes": "assertion_lifetime_minutes",
    "subjectConfirmationMinutes": "subject_confirmation_minutes",
    "assignmentRequired": "assignment_required",
}


def apply_changes(current: SamlSettings, changes: Mapping[str, Any]) -> SamlSettings:
    """`current` with the JSON fields in `changes` replaced (a PATCH), each one validated."""
    if not isinstance(changes, Mapping):
        raise SamlSettingsError("the SAML settings must be a JSON object")
    unknown = sorted(set(changes) - set(_FIELDS) - {"appObjectId"})
    if unknown:
        raise SamlSettingsError(
            f"unknown SAML setting(s): {', '.join(unknown)}; allowed: {', '.join(_FIELDS)}"
        )
    parsers = {
        "identifiers": _identifiers,
        "replyUrls": _reply_urls,
        "signOnUrl": lambda v: _optional_url(v, "signOnUrl"),
        "relayState": _relay_state,
        "logoutUrl": lambda v: _optional_url(v, "logoutUrl"),
        "signingOption": lambda v: _choice(v, "signingOption", SIGNING_OPTIONS),
        "signingAlgorithm": _signing_algorithm,
        "nameIdSource": lambda v: _source(v, "nameIdSource"),
        "nameIdFormat": _name_id_format,
        "claims": _claims,
        "groupsClaim": lambda v: _choice(v, "groupsClaim", GROUPS_CLAIM_OPTIONS),
        "assertionLifetimeMinutes": lambda v: _minutes(v, "assertionLifetimeMinutes", 10, 1440),
        "subjectConfirmationMinutes": lambda v: _minutes(v, "subjectConfirmationMinutes", 1, 60),
        "assignmentRequired": _boolean,
    }
    updates = {_FIELDS[key]: parsers[key](value) for key, value in changes.items() if key in _FIELDS}
    return replace(current, **updates)


def is_uri(value: str) -> bool:
    """Whether an Identifier is a URI, for the `spn:` rule of the Audience (reference §3): a
    scheme (`https:`, `urn:`, `api:`...) makes it one; a bare app id GUID is not."""
    return bool(_SCHEME.match(value))


# -- field parsers ---------------------------------------------------------------------------------


def _text(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise SamlSettingsError(f"{name} must be a string")
    value = value.strip()
    if len(value) > _MAX_TEXT:
        raise SamlSettingsError(f"{name} is longer than {_MAX_TEXT} characters")
    return value


def _string_list(value: object, name: str) -> list[str]:
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list | tuple):
        raise SamlSettingsError(f"{name} must be a list of strings (the first one is the default)")
    items = [_text(item, f"each of {name}") for item in value]
    if any(not item for item in items):
        raise SamlSettingsError(f"{name} cannot hold an empty value")
    seen: set[str] = set()
    for item in items:
        if item.lower() in seen:
            raise SamlSettingsError(f"{name} lists {item!r} twice")
        seen.add(item.lower())
    return items


def _identifiers(value: object) -> tuple[str, ...]:
    items = _string_list(value, "identifiers")
    for item in items:
        if any(ch.isspace() for ch in item):
            raise SamlSettingsError(f"identifiers: {item!r} contains white space")
    return tuple(items)


def _url(value: str, name: str) -> str:
    parts = urlsplit(value)
    # Entra wants https except for localhost; the emulator itself serves plain HTTP (and so do
    # the SPs people test with it), so http is accepted on any host.
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise SamlSettingsError(f"{name}: {value!r} must be an absolute http:// or https:// URL")
    if "*" in value:
        raise SamlSettingsError(f"{name}: {value!r} contains a wildcard, which SAML reply URLs cannot")
    return value


def _reply_urls(value: object) -> tuple[str, ...]:
    return tuple(_url(item, "replyUrls") for item in _string_list(value, "replyUrls"))


def _optional_url(value: object, name: str) -> str | None:
    if value is None:
        return None
    text = _text(value, name)
    return _url(text, name) if text else None


def _relay_state(value: object) -> str | None:
    if value is None:
        return None
    return _text(value, "relayState") or None


def _choice(value: object, name: str, allowed: tuple[str, ...]) -> str:
    if value not in allowed:
        raise SamlSettingsError(f"{name} must be one of {', '.join(allowed)}, not {value!r}")
    return str(value)


def _signing_algorithm(value: object) -> str:
    if isinstance(value, str):
        normalized = value.strip().upper().replace("_", "-").removeprefix("RSA-")
        normalized = {"SHA256": "SHA-256", "SHA1": "SHA-1"}.get(normalized, normalized)
        if normalized in SIGNING_ALGORITHMS:
            return normalized
    raise SamlSettingsError(f"signingAlgorithm must be SHA-256 or SHA-1, not {value!r}")


def _source(value: object, name: str) -> str:
    if isinstance(value, str) and value.strip().lower() in USER_SOURCES:
        return value.strip().lower()
    raise SamlSettingsError(
        f"{name} must be a user attribute such as user.userprincipalname, user.mail or "
        f"user.objectid (one of {', '.join(USER_SOURCES)}), not {value!r}"
    )


def _name_id_format(value: object) -> str:
    if isinstance(value, str):
        if value in NAMEID_FORMATS:
            return value
        if value in NAMEID_FORMAT_NAMES:
            return NAMEID_FORMAT_NAMES[value]
        for name in NAMEID_FORMATS:
            if name.lower() == value.strip().lower():
                return name
    raise SamlSettingsError(
        f"nameIdFormat must be one of {', '.join(NAMEID_FORMATS)} (or its URN), not {value!r}"
    )


def _claims(value: object) -> tuple[Claim, ...]:
    if not isinstance(value, list | tuple):
        raise SamlSettingsError('claims must be a list of {"name": claim URI, "source": user attribute}')
    claims: list[Claim] = []
    seen: set[str] = set()
    for index, item in enumerate(value):
        where = f"claims[{index}]"
        if not isinstance(item, Mapping) or set(item) - {"name", "source"}:
            raise SamlSettingsError(f'{where} must be {{"name": claim URI, "source": user attribute}}')
        name = _text(item.get("name"), f"{where}.name")
        if not name or any(ch.isspace() for ch in name):
            raise SamlSettingsError(f"{where}.name must be a claim name without white space")
        if name in ALWAYS_ADDED_CLAIMS:
            raise SamlSettingsError(
                f"{where}.name {name!r} is a claim Entra adds by itself; it cannot be configured here"
            )
        if name.lower() in seen:
            raise SamlSettingsError(f"{where}.name {name!r} is listed twice")
        seen.add(name.lower())
        claims.append(Claim(name, _source(item.get("source"), f"{where}.source")))
    return tuple(claims)


def _minutes(value: object, name: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise SamlSettingsError(f"{name} must be a whole number of minutes from {low} to {high}")
    return value


def _boolean(value: object) -> bool:
    if not isinstance(value, bool):
        raise SamlSettingsError("assignmentRequired must be true or false")
    return value


# -- the table -------------------------------------------------------------------------------------


class SamlSettingsStore:
    """The `entra_saml_settings` table: one document per app objectId (absent: the defaults)."""

    def __init__(self, store: Store) -> None:
        self.table = store.table(TABLE)
        self.table.add_index("app", lambda d: d["appObjectId"])

    def get(self, app_object_id: str) -> SamlSettings:
        found = self.table.find_one("app", app_object_id)
        if found is None:
            return SamlSettings()
        return SamlSettings.from_json(found[1])

    def update(self, app_object_id: str, changes: Mapping[str, Any]) -> SamlSettings:
        """Merge `changes` into the app's settings and save them; raises `SamlSettingsError`.

        An Identifier belongs to one app in a tenant, as Entra insists, or a request's Issuer
        could not tell which app it is for."""
        settings = apply_changes(self.get(app_object_id), changes)
        for identifier in settings.identifiers:
            owner = self.app_for_identifier(identifier)
            if owner is not None and owner != app_object_id:
                raise SamlSettingsError(
                    f"identifiers: {identifier!r} is already used by another application in this tenant"
                )
        doc = {"appObjectId": app_object_id, **settings.to_json()}
        found = self.table.find_one("app", app_object_id)
        if found is None:
            self.table.insert(doc)
        else:
            self.table.put(found[0], doc)
        return settings

    def app_for_identifier(self, identifier: str) -> str | None:
        """The objectId of the app one of whose Identifiers is exactly `identifier` (an
        AuthnRequest's Issuer "must exactly match one of the ServicePrincipalNames", entra-docs
        single-sign-on-saml-protocol)."""
        for doc in self.table.values():
            if identifier in doc.get("identifiers", ()):
                return doc["appObjectId"]
        return None
