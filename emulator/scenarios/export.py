"""The current state of an emulator as a scenario file, so a state built by hand (in the portal,
the CLI or the control API) can become a test fixture: `load_scenario` reads it back, and a
reset with it rebuilds the same directory, the same app and the same settings.

What is written: the tenant; every user (soft-deleted ones with `deleted = true`) with its
profile, `enabled`, `manager` and password hash; every group with its members; the app with its
roles, assignments, provisioning and SAML settings; Galaxy's SSO configuration and direct users
(with password hashes). Ids are written, so the objectIds stay the same.

What is not (a fresh state does not have it, or it cannot be carried in a file): Galaxy's SCIM
users and groups (what provisioning made: run a cycle again), tokens and their secrets, the
provisioning job (started or not, watermark, links, escrows, logs), the Galaxy exchange log,
hard-deleted objects, sessions, the signing keys, and Galaxy's own `accountadmin@galaxy.example`
(made anew with a new password by every start and reset). Values that name this emulator
(its Galaxy SCIM URL, Galaxy's SAML values, Entra's certificate, Login URL and Identifier) are
written as the placeholders a scenario uses for the built-in counterpart, so the file works on
any port; a provisioning Secret Token is never written in clear (see `_provisioning`).
"""

from __future__ import annotations

import base64
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning.settings import DEFAULTS as PROVISIONING_DEFAULTS
from emulator.entra.provisioning.settings import default_settings
from emulator.entra.provisioning.state import ProvisioningState
from emulator.entra.saml.service import EntraSaml
from emulator.entra.saml.settings import SamlSettings
from emulator.galaxy.sso import GalaxySso
from emulator.galaxy.sso.direct_users import ACCOUNTADMIN_EMAIL
from emulator.galaxy.sso.settings import SOURCE_METADATA_URL
from emulator.scenarios.loader import USER_ATTRIBUTES, ScenarioError, scenario_from_dict

EXPORT_SOURCE = "the exported state"


class ExportError(Exception):
    """The state cannot be written as a scenario (the format is stricter than the directory:
    group names must be unique, for example); the message says what to change."""


@dataclass(frozen=True)
class ExportedScenario:
    """The scenario as parsed TOML would hold it (`data`), and as a file (`text`); `notes` list
    what was left out or replaced, as the file's header comment also says."""

    name: str
    data: dict
    text: str
    notes: tuple[str, ...]


def export_scenario(
    *,
    name: str,
    directory: EntraDirectory,
    provisioning: ProvisioningState,
    saml: EntraSaml,
    sso: GalaxySso,
    galaxy_scim_url: str,
    description: str | None = None,
    now: str = "",
) -> ExportedScenario:
    """Describe the current state as a scenario, check that `load_scenario` would accept it,
    and write it as TOML; raises `ExportError` when the format cannot express the state."""
    notes: list[str] = []
    placeholders = _placeholders(sso, saml, galaxy_scim_url)
    tenant = directory.tenant
    data: dict[str, Any] = {
        "scenario": {
            "name": name,
            "description": description or f"Exported from scim-emulator{f' at {now}' if now else ''}.",
        },
        "tenant": {
            "id": tenant["id"],
            "displayName": tenant["displayName"],
            "primaryDomain": tenant["primaryDomain"],
        },
    }
    users, names = _users(directory, notes)
    groups = _groups(directory, names)
    if users:
        data["users"] = users
    if groups:
        data["groups"] = groups
    data["app"] = _app(directory, provisioning, saml, placeholders, galaxy_scim_url, names, notes)
    galaxy = _galaxy(sso, saml, placeholders, notes)
    if galaxy:
        data["galaxy"] = galaxy
    try:
        scenario_from_dict(data, source=EXPORT_SOURCE, default_name=name)
    except ScenarioError as exc:
        raise ExportError(
            "the current state cannot be written as a scenario file: "
            + "; ".join(exc.problems)
            + " (the scenario format names users by userPrincipalName and groups by displayName)"
        ) from None
    header = [
        f"Scenario exported from scim-emulator{f' at {now}' if now else ''}; load it with",
        f"`scim-emulator serve --scenario {name}.toml` or POST /_emulator/reset",
        '{"scenario": "<path>"} (format: fixtures/scenarios/README.md in the repository).',
        "",
        "Not in this file: Galaxy's SCIM users and groups (run a provisioning cycle again), tokens,",
        "the provisioning job's state and logs, hard-deleted objects, sessions, signing keys, and",
        "accountadmin@galaxy.example (made anew, with a new password, on every start and reset).",
        "Placeholders such as {galaxy_scim_url} stand for the emulator that loads the file.",
        "Passwords are kept as the emulator's PBKDF2 hashes (passwordHash): treat this file like",
        "the data folder it came from.",
        *(["", *notes] if notes else []),
    ]
    return ExportedScenario(name, data, to_toml(data, header=header), tuple(notes))


# -- the directory -------------------------------------------------------------------------------


def _users(directory: EntraDirectory, notes: list[str]) -> tuple[list[dict], dict[str, str]]:
    """The users, and the name of every user and group by objectId (for references)."""
    names = {u["id"]: u["userPrincipalName"] for u in directory.users.values()}
    names.update((g["id"], g["displayName"]) for g in directory.groups.values())
    users = []
    for doc in directory.users.values():
        upn = doc["userPrincipalName"]
        user: dict[str, Any] = {"id": doc["id"], "userPrincipalName": upn, "displayName": doc["displayName"]}
        for key in USER_ATTRIBUTES:
            value = doc.get(key)
            if not isinstance(value, str) or not value.strip():
                continue
            if key == "mailNickname" and value == upn.split("@", 1)[0]:
                continue  # the default: the part of the UPN before @
            user[key] = value
        if doc.get("accountEnabled") is False:
            user["enabled"] = False
        manager = doc.get("manager")
        if manager:
            if manager in names and manager != doc["id"]:
                user["manager"] = names[manager]
            else:
                notes.append(f"{upn}: its manager {manager} no longer exists and was left out.")
        if doc.get("deletedDateTime"):
            user["deleted"] = True
        if doc.get("passwordHash"):
            user["passwordHash"] = doc["passwordHash"]
        users.append(user)
    return users, names


def _groups(directory: EntraDirectory, names: Mapping[str, str]) -> list[dict]:
    groups = []
    for doc in directory.groups.values():
        group: dict[str, Any] = {"id": doc["id"], "displayName": doc["displayName"]}
        if doc.get("description"):
            group["description"] = doc["description"]
        nickname = doc.get("mailNickname")
        if nickname and nickname != doc["displayName"].replace(" ", ""):
            group["mailNickname"] = nickname
        members = [names[m] for m in doc.get("members", []) if m in names]
        if members:
            group["members"] = members
        groups.append(group)
    return groups


# -- the enterprise app --------------------------------------------------------------------------


def _app(
    directory: EntraDirectory,
    provisioning: ProvisioningState,
    saml: EntraSaml,
    placeholders: Mapping[str, str],
    galaxy_scim_url: str,
    names: Mapping[str, str],
    notes: list[str],
) -> dict:
    apps = directory.list_apps()
    if len(apps) != 1:
        raise ExportError(f"a scenario holds exactly one enterprise application, this tenant has {len(apps)}")
    app = apps[0]
    table: dict[str, Any] = {"id": app["id"], "appId": app["appId"], "displayName": app["displayName"]}
    roles = app.get("appRoles", [])
    if roles:
        table["roles"] = [
            {
                "value": r["value"],
                **({"displayName": r["displayName"]} if r["displayName"] != r["value"] else {}),
            }
            for r in roles
        ]
    role_values = {r["id"]: r["value"] for r in roles}
    assignments: list[Any] = []
    for doc in directory.assignments_of(app["id"]):
        principal = names.get(doc["principalId"])
        if principal is None:
            continue
        role = role_values.get(doc.get("appRoleId"))
        assignments.append(principal if role is None else {"principal": principal, "role": role})
    if assignments:
        table["assignments"] = assignments
    settings = _provisioning(provisioning.get_settings(app["id"]), galaxy_scim_url, notes)
    if settings:
        table["provisioning"] = settings
    if saml.settings.table.find_one("app", app["id"]) is not None:
        changed = _changed(saml.settings.get(app["id"]).to_json(), SamlSettings().to_json())
        if changed:
            table["saml"] = _with_placeholders(changed, placeholders)
    return table


def _provisioning(settings: dict | None, galaxy_scim_url: str, notes: list[str]) -> dict:
    """The provisioning settings that differ from a new app's. A Tenant URL of the built-in
    receiver becomes `{galaxy_scim_url}` and its Secret Token `{galaxy_token}` (a new token is
    generated when the file is loaded); the token of any other Tenant URL is left out, since a
    scenario file must never carry a secret in clear."""
    if settings is None:
        return {}
    changed = _changed(settings, default_settings())
    url = settings.get("tenantUrl")
    builtin = isinstance(url, str) and _is_under(url, galaxy_scim_url)
    if builtin:
        changed["tenantUrl"] = "{galaxy_scim_url}" + url[len(galaxy_scim_url) :]
    if settings.get("secretToken"):
        if builtin:
            changed["secretToken"] = "{galaxy_token}"
        else:
            changed.pop("secretToken", None)
            notes.append(
                f"[app.provisioning] secretToken for {url} was left out (never written in clear): "
                "add it to the file, or send it with PATCH .../provisioning after loading."
            )
    order = [*PROVISIONING_DEFAULTS, "userMappings", "groupMappings"]
    return {key: _without_none(changed[key]) for key in order if key in changed}


def _is_under(url: str, base: str) -> bool:
    return url == base or (url.startswith(base) and url[len(base)] in "/?")


# -- Galaxy --------------------------------------------------------------------------------------


def _galaxy(sso: GalaxySso, saml: EntraSaml, placeholders: Mapping[str, str], notes: list[str]) -> dict:
    galaxy: dict[str, Any] = {}
    users = []
    for doc in sso.direct_users.table.values():
        if doc["email"].lower() == ACCOUNTADMIN_EMAIL:
            continue
        user: dict[str, Any] = {"email": doc["email"]}
        if doc.get("displayName") and doc["displayName"] != doc["email"].split("@", 1)[0]:
            user["displayName"] = doc["displayName"]
        if doc.get("roles"):
            user["roles"] = list(doc["roles"])
        user["passwordHash"] = doc["passwordHash"]
        users.append(user)
    if users:
        galaxy["users"] = users
    configuration = sso.configuration
    if configuration is None:
        return galaxy
    trust = configuration.trust
    entra_certificates = {c.der for c in saml.keys.certificates()}
    own_certificate = saml.keys.certificate.der in trust.certificates and set(trust.certificates) <= (
        entra_certificates
    )
    table: dict[str, Any] = {}
    if configuration.source == SOURCE_METADATA_URL and not (
        own_certificate and trust.entity_id == saml.issuer
    ):
        table["metadataUrl"] = configuration.metadata_url
        notes.append("[galaxy.sso] metadataUrl is fetched when the file is loaded: it must answer then.")
    else:
        if configuration.source == SOURCE_METADATA_URL:
            notes.append(
                "[galaxy.sso] was configured from Entra's metadata URL; it is written as the manual "
                "values of the built-in Entra, which need no fetch when the file is loaded."
            )
        table["certificate"] = (
            "{entra_certificate}" if own_certificate else "".join(_pem(der) for der in trust.certificates)
        )
        table["loginUrl"] = placeholders.get(trust.login_url, trust.login_url)
        table["entraIdentifier"] = placeholders.get(trust.entity_id, trust.entity_id)
        if trust.logout_url:
            table["logoutUrl"] = placeholders.get(trust.logout_url, trust.logout_url)
    if configuration.allow_sha1:
        table["allowSha1"] = True
    if not configuration.allow_unsolicited:
        table["allowUnsolicited"] = False
    galaxy["sso"] = table
    return galaxy


# -- helpers -------------------------------------------------------------------------------------


def _placeholders(sso: GalaxySso, saml: EntraSaml, galaxy_scim_url: str) -> dict[str, str]:
    """Placeholder by value, for values that name this emulator (exact matches only)."""
    return {
        galaxy_scim_url: "{galaxy_scim_url}",
        sso.sp.entity_id: "{galaxy_entity_id}",
        sso.sp.reply_url: "{galaxy_reply_url}",
        sso.sp.relay_state: "{galaxy_relay_state}",
        saml.sso_url(): "{entra_login_url}",
        saml.issuer: "{entra_identifier}",
    }


def _with_placeholders(value: Any, placeholders: Mapping[str, str]) -> Any:
    if isinstance(value, dict):
        return {k: _with_placeholders(v, placeholders) for k, v in value.items()}
    if isinstance(value, list):
        return [_with_placeholders(v, placeholders) for v in value]
    if isinstance(value, str):
        return placeholders.get(value, value)
    return value


def _changed(current: Mapping[str, Any], defaults: Mapping[str, Any]) -> dict:
    """The keys of `current` whose value is not the default (TOML has no null, and a default
    need not be written)."""
    return {
        key: value
        for key, value in current.items()
        if value is not None and (key not in defaults or value != defaults[key])
    }


def _without_none(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _without_none(v) for k, v in value.items() if v is not None}
    if isinstance(value, list):
        return [_without_none(v) for v in value]
    return value


def _pem(der: bytes) -> str:
    body = base64.b64encode(der).decode("ascii")
    lines = "\n".join(body[i : i + 64] for i in range(0, len(body), 64))
    return f"-----BEGIN CERTIFICATE-----\n{lines}\n-----END CERTIFICATE-----\n"


# -- TOML ----------------------------------------------------------------------------------------
# A small writer for what a scenario holds (tables, arrays of tables, strings, booleans, numbers
# and arrays of them): a writer of our own, so the file reads as the hand-written ones do, with
# `[[users]]` entries and a header comment (tomllib, in the standard library, only reads).

_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_ESCAPES = {'"': '\\"', "\\": "\\\\", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}


def to_toml(data: Mapping[str, Any], *, header: Sequence[str] = ()) -> str:
    """`data` as a TOML 1.0 document that `tomllib.loads` reads back equal; `header` lines
    become a comment at the top. Values must be str, bool, int, float, lists or dicts."""
    lines = [f"# {line}".rstrip() for line in header]
    _table(lines, (), data)
    return "\n".join(lines).lstrip("\n") + "\n"


def _table(lines: list[str], path: tuple[str, ...], table: Mapping[str, Any], *, array: bool = False) -> None:
    inline = {k: v for k, v in table.items() if not _is_table(v) and not _is_table_array(v)}
    if path and (array or inline or not table):
        lines.append("")
        name = ".".join(_key(p) for p in path)
        lines.append(f"[[{name}]]" if array else f"[{name}]")
    for key, value in inline.items():
        lines.append(f"{_key(key)} = {_value(value, top=True)}")
    for key, value in table.items():
        if _is_table(value):
            _table(lines, (*path, key), value)
        elif _is_table_array(value):
            for entry in value:
                _table(lines, (*path, key), entry, array=True)


def _is_table(value: Any) -> bool:
    return isinstance(value, Mapping)


def _is_table_array(value: Any) -> bool:
    return isinstance(value, list) and bool(value) and all(isinstance(v, Mapping) for v in value)


def _key(key: str) -> str:
    return key if _BARE_KEY.match(key) else _string(key)


def _value(value: Any, *, top: bool = False) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value):
            return "nan"
        if math.isinf(value):
            return "inf" if value > 0 else "-inf"
        return repr(value)
    if isinstance(value, str):
        return _multiline(value) if top and "\n" in value else _string(value)
    if isinstance(value, Mapping):
        return (
            "{ " + ", ".join(f"{_key(k)} = {_value(v)}" for k, v in value.items()) + " }" if value else "{}"
        )
    if isinstance(value, list | tuple):
        items = [_value(v) for v in value]
        one_line = "[" + ", ".join(items) + "]"
        if len(one_line) <= 90:
            return one_line
        return "[\n" + "".join(f"    {item},\n" for item in items) + "]"
    raise TypeError(f"TOML cannot hold {type(value).__name__}")


def _string(text: str) -> str:
    return '"' + "".join(_escape(c) for c in text) + '"'


def _multiline(text: str) -> str:
    """A multi-line basic string (a PEM certificate reads as one): newlines kept as they are,
    quotes and every other control character escaped."""
    return '"""\n' + "".join(c if c == "\n" else _escape(c) for c in text) + '"""'


def _escape(c: str) -> str:
    if c in _ESCAPES:
        return _ESCAPES[c]
    if ord(c) < 0x20 or ord(c) == 0x7F:
        return f"\\u{ord(c):04X}"
    return c
