"""Entra's SCIM wire format in one place: the request bodies its provisioning engine sends.

Everything here is a pure function over plain data, so the exact shape of every request can be
compared field by field with the samples Microsoft publishes (fixtures/protocol/
entra-engine-expected-requests.json) without a server. Each departure from RFC 7644 is commented
with the section of ../shared/reference/entra-and-galaxy.md it follows and that section's source
key (S1 = "use SCIM to provision users and groups", S2 = "known issues with SCIM 2.0 compliance").

Target values are `{target_path: value}` dicts in Entra's target attribute paths (reference
§1.5): `userName`, `name.givenName`, `emails[type eq "work"].value`,
`urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department`, and so on.

Two wire modes exist (reference §1.1, §4 item 2):
- the default (no flag): capitalised ops, `active` as the string "True"/"False", member removal
  as a value array without a filter;
- `aadOptscim062020` on the Tenant URL: lowercase ops, `active` as a boolean, simple attributes
  merged into one path-less `replace`, member removal by a `members[value eq "..."]` filter path.
On-demand provisioning ignores the flag: use `on_demand_mode()` there.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

from emulator.scim.schema import CORE_GROUP, CORE_USER, ENTERPRISE_USER, PATCH_OP

__all__ = [
    "ADSCIM_GROUP",
    "DEFAULT_MEMBER_BATCH",
    "DOWNGRADE_FLAG",
    "MANAGER_PATH",
    "RFC_PATCH_FLAG",
    "Change",
    "WireMode",
    "active_patch_body",
    "create_group_body",
    "create_user_body",
    "group_patch_body",
    "members_patch_bodies",
    "on_demand_mode",
    "parse_tenant_url",
    "same_value",
    "user_patch_body",
    "value_at",
]

# Reference §1.6 "Create group" (S1): Entra adds this Microsoft schema URI to every group it creates.
ADSCIM_GROUP = "http://schemas.microsoft.com/2006/11/ResourceManagement/ADSCIM/2.0/Group"

# Reference §1.1 (S2; the query-string form is from S18): the Tenant URL flags.
RFC_PATCH_FLAG = "aadOptscim062020"
DOWNGRADE_FLAG = "AzureAdScimPatch2017"

# Target path of the manager reference in the default mapping (reference §1.5).
MANAGER_PATH = f"{ENTERPRISE_USER}:manager"

# How many member ids go into one PATCH body. The gallery checklist asks SPs to take several
# memberships in one PATCH (reference §1.6, S1) but Entra's real batch size is not documented:
# [U], so this is only a default; the engine may pass its own `batch_size`.
DEFAULT_MEMBER_BATCH = 100

_FILTERED = re.compile(r'^(?P<attr>[A-Za-z][\w$-]*)\[(?P<key>\w+) eq "(?P<val>[^"]*)"\](?:\.(?P<sub>\w+))?$')

# Sub-attribute order of `name` in the create body: the S1 "Create User" sample writes formatted,
# familyName, givenName (not alphabetical); the rest follow in RFC 7643 §4.1.1 order.
_NAME_ORDER = ("formatted", "familyName", "givenName", "middleName", "honorificPrefix", "honorificSuffix")

# Key order of the create body: S1's sample puts schemas, externalId, userName, active first and
# the rest alphabetically (emails, meta, name, roles; the older S1 Example 2 confirms it with
# addresses, displayName, emails, meta, name, phoneNumbers, preferredLanguage, title).
_LEADING_USER_KEYS = ("schemas", "externalId", "userName", "active")


@dataclass(frozen=True)
class WireMode:
    """Which of Entra's two PATCH dialects to speak to one Tenant URL (reference §1.1)."""

    rfc_patch: bool = False

    def op(self, name: str) -> str:
        """An op name as this mode spells it: `Add`/`Replace`/`Remove` by default (reference
        §1.3, S1: "Microsoft Entra ID emits the values of op as Add, Replace, and Remove"),
        lowercase with the flag (§1.6, S2)."""
        return name.lower() if self.rfc_patch else name.capitalize()


@dataclass(frozen=True)
class Change:
    """One target attribute whose desired value differs from the one last exported.

    `old` is None when the target had no value, which makes the op an `Add` (reference §1.6, S2
    "add a single-value string attribute")."""

    path: str
    old: Any
    new: Any


def on_demand_mode() -> WireMode:
    """The mode of a provision-on-demand run: the default one whatever the Tenant URL says,
    because "this feature flag currently doesn't work with on-demand provisioning" (reference
    §1.1 and §1.9, S2/S6)."""
    return WireMode(rfc_patch=False)


def parse_tenant_url(url: str) -> tuple[str, WireMode]:
    """The base URL to which `/Users` and `/Groups` are appended, and the wire mode.

    Reference §1.1: the flag rides in the query string (`https://host/scim/?aadOptscim062020`,
    S18); how Entra joins Tenant URL, flag and `/Users` is [U], so the emulator strips the flag
    and the trailing slash and appends the resource path. `AzureAdScimPatch2017` is the
    downgrade flag and wins over the upgrade when both are present. Flags are matched
    case-insensitively ([U]). Any other query parameter or a fragment is refused rather than
    silently dropped, since we could not say where Entra would put it.
    """
    if not isinstance(url, str):
        raise ValueError("the Tenant URL must be a string")
    text = url.strip()
    if not text:
        raise ValueError("the Tenant URL is empty")
    try:
        parts = urlsplit(text)
        _ = parts.port  # raises ValueError for a port that is not a number
    except ValueError as exc:
        raise ValueError(f"the Tenant URL {text!r} is not a valid URL ({exc})") from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(f"the Tenant URL must start with https:// or http://, got {text!r}")
    if not parts.hostname:
        raise ValueError(f"the Tenant URL {text!r} has no host name")
    if parts.fragment:
        raise ValueError(f"the Tenant URL {text!r} must not contain a '#' fragment")
    upgrade = downgrade = False
    others: list[str] = []
    for key, value in parse_qsl(parts.query, keep_blank_values=True):
        if key.lower() == RFC_PATCH_FLAG.lower() and not value:
            upgrade = True
        elif key.lower() == DOWNGRADE_FLAG.lower() and not value:
            downgrade = True
        else:
            others.append(f"{key}={value}" if value else key)
    if others:
        raise ValueError(
            f"the Tenant URL may only carry the flags {RFC_PATCH_FLAG} or {DOWNGRADE_FLAG} in its query "
            f"string; remove {', '.join(others)}"
        )
    base = urlunsplit((parts.scheme.lower(), parts.netloc, parts.path.rstrip("/"), "", ""))
    return base, WireMode(rfc_patch=upgrade and not downgrade)


# ---------------------------------------------------------------------------------------------
# Create bodies


def create_user_body(values: Mapping[str, Any]) -> dict:
    """The POST /Users body Entra sends for `values` (reference §1.6 "Create user", S1).

    - `schemas` is always core User plus enterprise User, as in the sample (even when no
      enterprise attribute is mapped); another extension URN used by a path is appended.
    - `emails[type eq "work"].value` becomes `{"primary": true, "type": "work", "value": ...}`:
      the sample marks the work email primary. Other typed elements (addresses, phoneNumbers,
      other emails) get their `type` only; which of them Entra marks primary is [U].
    - `active` is a JSON boolean here although mappings yield "True"/"False" (§1.5): the sample
      shows `"active": true`.
    - the manager is a reference, resolved later by PATCH (§1.4, §1.6 "Manager"), never created.
    - null values are never sent (§1.6, S7) — the older S1 Example 2 with explicit nulls is the
      legacy behaviour.
    - `"meta": {"resourceType": "User"}` and `"roles": []` are sent as in the sample.
    """
    schemas = [CORE_USER, ENTERPRISE_USER]
    body: dict[str, Any] = {}
    extensions: dict[str, dict[str, Any]] = {}
    for path, value in values.items():
        if _is_null(value) or _is_manager(path):
            continue
        extension, attribute = _split_urn(path)
        if extension is not None and extension.lower() not in (CORE_USER.lower(), CORE_GROUP.lower()):
            if extension not in schemas:
                schemas.append(extension)
            _place(extensions.setdefault(extension, {}), attribute, value)
            continue
        if attribute.lower() == "active":
            body["active"] = _as_bool(value)
            continue
        if attribute.lower() in ("schemas", "meta", "roles", "id"):
            continue  # ours to write (meta, roles, schemas) or the server's (id)
        _place(body, attribute, value)
    body["meta"] = {"resourceType": "User"}
    body.setdefault("roles", [])
    ordered: dict[str, Any] = {"schemas": schemas}
    for key in _LEADING_USER_KEYS[1:]:
        if key in body:
            ordered[key] = body.pop(key)
    for key in sorted(body, key=str.lower):
        ordered[key] = _tidy(key, body[key])
    for extension in schemas[1:]:
        if extension in extensions:
            ordered[extension] = {k: extensions[extension][k] for k in sorted(extensions[extension])}
    return ordered


def create_group_body(values: Mapping[str, Any]) -> dict:
    """The POST /Groups body (reference §1.6 "Create group", S1): core Group plus the ADSCIM
    schema URI, externalId, displayName and `meta.resourceType`, in the sample's key order.

    Members are never in it: "Groups are created with an empty members list" and added
    afterwards by PATCH (§1.6, §4 item 4)."""
    body: dict[str, Any] = {"schemas": [CORE_GROUP, ADSCIM_GROUP]}
    extra: dict[str, Any] = {}
    for path, value in values.items():
        if _is_null(value):
            continue
        extension, key = _split_urn(path)
        if extension is not None and extension.lower() != CORE_GROUP.lower():
            if extension not in body["schemas"]:
                body["schemas"].append(extension)
            _place(extra.setdefault(extension, {}), key, value)
            continue
        if key.lower() in ("members", "schemas", "meta", "id", "externalid", "displayname"):
            continue
        _place(extra, key, value)
    for key in ("externalId", "displayName"):
        value = _lookup_ci(values, key)
        if not _is_null(value):
            body[key] = value
    body["meta"] = {"resourceType": "Group"}
    # Other mapped group attributes are not in the sample: [U]; sent after it, alphabetically.
    for key in sorted(extra, key=str.lower):
        body[key] = extra[key]
    return body


# ---------------------------------------------------------------------------------------------
# PATCH bodies


def user_patch_body(changes: Iterable[Change], mode: WireMode, *, base_url: str | None = None) -> dict | None:
    """One PATCH for all of a user's changed attributes, or None when nothing is to be sent.

    Default mode (reference §1.6 "Update user (default, no flag)", S1/S2): one op per changed
    attribute in the order given, `Add` when the target had no value (S2 "add a single-value
    string attribute"), `Replace` otherwise; `active` as the string "True"/"False" (§1.6
    "Disable user", S2, S15).

    With `aadOptscim062020` (§1.6, S2 "Requests to replace multiple attributes"): lowercase ops;
    `active` as a boolean in its own `{"op": "replace", "path": "active"}` (S2 "disable users" —
    kept apart because that is the only form the source shows for it); attributes addressed
    through a value filter (`emails[type eq "work"].value`) keep their own op with a path, as
    the S2 sample does; every other changed attribute goes into ONE path-less
    `{"op": "replace", "value": {...}}` whose keys are the target paths themselves (dotted
    `name.givenName`, URN-qualified enterprise attributes). Our choice where the source is
    silent ([U]): an attribute that was empty is an `add` with its own path, exactly as S2's
    "add a single-value string attribute" sample with the flag, not a key of the merged replace;
    ops with a path come first and the merged replace last, the order the S2 sample shows.

    The manager goes as `{"op": "Add"|"Replace", "path": "manager", "value": [{"$ref":
    "<base_url>/Users/<id>", "value": "<id>"}]}` (§1.6 "Manager", S1 Example 5, where `$ref` is
    the absolute `http://.../scim/Users/<id>`), so `base_url` (the Tenant URL base from
    `parse_tenant_url`) is needed when the manager changed; its `new` is the manager's TARGET id.
    The flag is not documented to change this op ([U]); only the op name is lowercased.

    A change whose new value is null is skipped: nulls are never sent or cleared (§1.4, S7).
    """
    ops = _attribute_ops(changes, mode, base_url=base_url, allow_manager=True)
    return _patch(ops)


def group_patch_body(changes: Iterable[Change], mode: WireMode) -> dict | None:
    """One PATCH for a group's non-member attributes (displayName, externalId), or None.

    Default mode follows §1.6 "Rename group" (S1): `{"op": "Replace", "path": "displayName"}`.
    With the flag the source only shows users; the emulator applies the same rules as for users
    (path-less merged `replace`, separate `add` for previously empty attributes): [U].
    Memberships go through `members_patch_bodies`."""
    changes = list(changes)
    for change in changes:
        if _split_urn(change.path)[1].lower() == "members":
            raise ValueError("group members are patched with members_patch_bodies, not group_patch_body")
    return _patch(_attribute_ops(changes, mode, base_url=None, allow_manager=False))


def active_patch_body(active: bool, mode: WireMode) -> dict:
    """The PATCH that disables (or re-enables) a user (reference §1.6 "Disable user", S2).

    Default: `{"op": "Replace", "path": "active", "value": "False"}` — a **string**, confirmed by
    an MS engineer (S15); with the flag: `{"op": "replace", "path": "active", "value": false}`.
    Re-enabling sends the same op with "True"/true ([U], §1.6). The S1 tutorial's "Disable User"
    sample shows a boolean without the flag; the reference records that as a doc inconsistency
    and follows S2."""
    value: Any = bool(active) if mode.rfc_patch else _as_text_bool(active)
    return _patch([{"op": mode.op("replace"), "path": "active", "value": value}]) or {}


def members_patch_bodies(
    add: Sequence[str],
    remove: Sequence[str],
    mode: WireMode,
    *,
    batch_size: int = DEFAULT_MEMBER_BATCH,
) -> list[dict]:
    """The PATCH bodies that add and remove group members (by TARGET user id), in order:
    additions first, then removals, each split into bodies of at most `batch_size` members.

    Default mode (reference §1.6, S1/S2):
    - add: `{"op": "Add", "path": "members", "value": [{"$ref": null, "value": id}, ...]}`, several
      members in one op (S1's gallery checklist asks SPs to accept that);
    - remove: `{"op": "Remove", "path": "members", "value": [{"value": id}, ...]}` — a value array
      and no filter, which a naive RFC server reads as "remove all members" (S16). This is S2's
      "without feature flag" form; S1's tutorial adds `"$ref": null` to each element.
    With the flag (S2): lowercase `add` with the same value array (the flag is not documented to
    change additions, so the element shape stays: [U]), and one
    `{"op": "remove", "path": "members[value eq \\"id\\"]"}` per removed member.
    Returns [] when there is nothing to send.
    """
    if batch_size < 1:
        raise ValueError("batch_size must be at least 1")
    bodies: list[dict] = []
    for chunk in _chunks(_unique(add), batch_size):
        value = [{"$ref": None, "value": member} for member in chunk]
        bodies.append(_patch([{"op": mode.op("add"), "path": "members", "value": value}]) or {})
    for chunk in _chunks(_unique(remove), batch_size):
        if mode.rfc_patch:
            ops = [{"op": "remove", "path": f'members[value eq "{_escape(m)}"]'} for m in chunk]
        else:
            ops = [{"op": "Remove", "path": "members", "value": [{"value": m} for m in chunk]}]
        bodies.append(_patch(ops) or {})
    return bodies


# ---------------------------------------------------------------------------------------------
# Reading a target resource


def value_at(resource: Mapping[str, Any], path: str) -> Any:
    """The value at an Entra target path in a SCIM resource as the server returned it, or None.

    Used to compare a matched target with the desired values. Attribute names are matched
    case-insensitively (RFC 7643 §2.1); `emails[type eq "work"].value` picks the element whose
    `type` equals "work" (case-insensitively, as RFC 7644 §3.4.2.2 compares strings unless
    caseExact); enterprise paths read the nested extension object; `manager` (or its URN path)
    gives the manager's `value` — from an object, or from the one-element list form Entra itself
    sends (§1.6 "Manager"); `members` gives the list of member ids.
    """
    extension, attribute = _split_urn(path)
    holder: Any = resource
    if extension is not None and extension.lower() not in (CORE_USER.lower(), CORE_GROUP.lower()):
        holder = _lookup_ci(resource, extension)
        if not isinstance(holder, Mapping):
            return None
    if attribute.lower() == "manager":
        found = _lookup_ci(holder, "manager")
        if found is None and extension is None:
            # A bare `manager` (the PATCH path of §1.6 "Manager") lives in the enterprise extension.
            enterprise = _lookup_ci(resource, ENTERPRISE_USER)
            found = _lookup_ci(enterprise, "manager") if isinstance(enterprise, Mapping) else None
        return _reference_value(found)
    if attribute.lower() == "members" and holder is resource:
        members = _lookup_ci(resource, "members")
        if not isinstance(members, list):
            return None
        return [m.get("value") for m in members if isinstance(m, Mapping)]
    match = _FILTERED.match(attribute)
    if match:
        elements = _lookup_ci(holder, match["attr"])
        if not isinstance(elements, list):
            return None
        for element in elements:
            if not isinstance(element, Mapping):
                continue
            key_value = _lookup_ci(element, match["key"])
            if isinstance(key_value, str) and key_value.lower() == match["val"].lower():
                return _lookup_ci(element, match["sub"]) if match["sub"] else element
        return None
    current: Any = holder
    for part in attribute.split("."):
        if not isinstance(current, Mapping):
            return None
        current = _lookup_ci(current, part)
    return current


def same_value(path: str, desired: Any, actual: Any) -> bool:
    """Whether a target's value already equals the desired one, as the engine should judge it:
    `active` compares as booleans (mappings yield "True"/"False" strings, §1.5, while servers
    return booleans), null and empty string are both "no value", everything else compares
    equal as given."""
    if _is_null(desired) and _is_null(actual):
        return True
    if _split_urn(path)[1].lower() == "active":
        try:
            return _as_bool(desired) == _as_bool(actual)
        except ValueError:
            return False
    return desired == actual


# ---------------------------------------------------------------------------------------------
# Helpers


def _attribute_ops(
    changes: Iterable[Change], mode: WireMode, *, base_url: str | None, allow_manager: bool
) -> list[dict]:
    path_ops: list[dict] = []
    merged: dict[str, Any] = {}
    for change in changes:
        if _is_null(change.new):
            continue  # nulls are never sent, never cleared (§1.4, S7)
        if same_value(change.path, change.new, change.old):
            continue
        op = "add" if _is_null(change.old) else "replace"
        if _is_manager(change.path):
            if not allow_manager:
                raise ValueError(f"{change.path!r} is a user attribute")
            path_ops.append(_manager_op(change.new, op, mode, base_url))
            continue
        attribute = _split_urn(change.path)[1]
        if attribute.lower() == "active":
            value: Any = _as_bool(change.new) if mode.rfc_patch else _as_text_bool(change.new)
            path_ops.append({"op": mode.op(op), "path": "active", "value": value})
            continue
        if not mode.rfc_patch or op == "add" or _FILTERED.match(attribute):
            path_ops.append({"op": mode.op(op), "path": change.path, "value": change.new})
            continue
        merged[change.path] = change.new
    if merged:
        path_ops.append({"op": "replace", "value": merged})
    return path_ops


def _manager_op(target_id: Any, op: str, mode: WireMode, base_url: str | None) -> dict:
    # Reference §1.6 "Manager" (S1 Example 5): path "manager" (not URN-qualified) and a
    # one-element array holding the absolute $ref and the manager's target id.
    if base_url is None:
        raise ValueError("a manager change needs base_url, the Tenant URL base used for its $ref")
    manager_id = _reference_value(target_id)
    if not isinstance(manager_id, str) or not manager_id:
        raise ValueError(f"the manager must be given as its target id, got {target_id!r}")
    ref = f"{base_url.rstrip('/')}/Users/{manager_id}"
    return {"op": mode.op(op), "path": "manager", "value": [{"$ref": ref, "value": manager_id}]}


def _patch(ops: list[dict]) -> dict | None:
    if not ops:
        return None
    # The PatchOp schema URN comes first and Operations second, as in every S1/S2 sample but
    # S1's "Disable User" (which lists Operations first; JSON object order carries no meaning).
    return {"schemas": [PATCH_OP], "Operations": ops}


def _split_urn(path: str) -> tuple[str | None, str]:
    """(`urn:...:User`, `department`) for a URN-qualified path; (None, path) for a plain one.

    RFC 7644 §3.10: the attribute follows the last colon of the URN. Filter text is set aside
    first (it may hold colons), and the URN's own dots (`2.0`) come before that colon, so
    `urn:...:User:name.givenName` keeps its dotted sub-attribute."""
    if not path.lower().startswith("urn:"):
        return None, path
    head, bracket, rest = path.partition("[")
    urn, _, attribute = head.rpartition(":")
    return urn, attribute + bracket + rest


def _is_manager(path: str) -> bool:
    extension, attribute = _split_urn(path)
    if attribute.lower() != "manager":
        return False
    return extension is None or extension.lower() == ENTERPRISE_USER.lower()


def _place(holder: dict[str, Any], attribute: str, value: Any) -> None:
    """Put `value` at an Entra target path inside a body being assembled."""
    match = _FILTERED.match(attribute)
    if match:
        elements: list[dict] = holder.setdefault(match["attr"], [])
        key, wanted = match["key"], match["val"]
        element = next((e for e in elements if e.get(key) == wanted), None)
        if element is None:
            element = {key: wanted}
            # Reference §1.6 "Create user" (S1): the work email is marked primary.
            if match["attr"].lower() == "emails" and key == "type" and wanted.lower() == "work":
                element["primary"] = True
            elements.append(element)
        element[match["sub"] or "value"] = value
        return
    parts = attribute.split(".")
    current = holder
    for part in parts[:-1]:
        current = current.setdefault(part, {})
    current[parts[-1]] = value


def _tidy(key: str, value: Any) -> Any:
    """Sub-keys in the sample's order: `name` as in S1, typed elements alphabetically (S1 writes
    `primary`, `type`, `value`)."""
    if key == "name" and isinstance(value, dict):
        known = [k for k in _NAME_ORDER if k in value]
        return {k: value[k] for k in known + sorted(k for k in value if k not in _NAME_ORDER)}
    if isinstance(value, list):
        return [{k: e[k] for k in sorted(e)} if isinstance(e, dict) else e for e in value]
    if isinstance(value, dict):
        return {k: value[k] for k in sorted(value)}
    return value


def _lookup_ci(mapping: Mapping[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    for name, value in mapping.items():
        if isinstance(name, str) and name.lower() == lowered:
            return value
    return None


def _reference_value(value: Any) -> Any:
    if isinstance(value, list):
        value = value[0] if len(value) == 1 else None
    if isinstance(value, Mapping):
        return _lookup_ci(value, "value")
    return value


def _is_null(value: Any) -> bool:
    return value is None or value == "" or value == []


def _as_bool(value: Any) -> bool:
    """A mapping's "True"/"False" (reference §1.5: the default Switch mapping yields strings)
    or a real boolean, as a boolean."""
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in ("true", "false"):
        return value.strip().lower() == "true"
    raise ValueError(f"'active' must be true/false or the string True/False, got {value!r}")


def _as_text_bool(value: Any) -> str:
    # Reference §1.6 "Disable user" (S2, S15): the default mode sends "True"/"False" strings.
    return "True" if _as_bool(value) else "False"


def _escape(value: str) -> str:
    # A filter's comparison value is a JSON string (RFC 7644 §3.4.2.2).
    return value.replace("\\", "\\\\").replace('"', '\\"')


def _unique(ids: Iterable[str]) -> list[str]:
    seen: dict[str, None] = {}
    for member in ids:
        seen.setdefault(member, None)
    return list(seen)


def _chunks(items: list[str], size: int) -> list[list[str]]:
    return [items[i : i + size] for i in range(0, len(items), size)]
