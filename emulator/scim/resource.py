"""Turning POST and PUT bodies into stored resources (RFC 7643 §2-§3, RFC 7644 §3.3, §3.5.1).

A client body is checked and rewritten into the canonical stored shape: canonical attribute
names, extension attributes nested under their URN, readOnly input dropped, values coerced by
`values.coerce`. The store adds `id` and `meta`. Lookup tables are computed once per resource
type, because this runs on every create and the receiver must sustain over 1,000 creates/s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.scim.errors import invalid_syntax, invalid_value, mutability
from emulator.scim.schema import COMMON, Attribute, ResourceType
from emulator.scim.values import coerce, equal, is_empty, without_subs

_WHERE = "request body"


@dataclass(frozen=True, slots=True)
class _Container:
    """The writable attributes of one schema (the core one, or one extension)."""

    urn: str | None  # None for the core schema (attributes at the top level of the resource)
    writable: dict[str, Attribute]  # lowered name -> definition, readOnly ones excluded
    read_only: frozenset[str]  # lowered names of readOnly attributes, ignored on input
    read_only_subs: dict[str, frozenset[str]]  # canonical name -> canonical readOnly sub names
    required: tuple[Attribute, ...]
    immutable: tuple[Attribute, ...]
    write_only: tuple[Attribute, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    core_urn: str
    core: _Container
    extensions: dict[str, _Container]  # lowered URN -> container
    urns: tuple[str, ...]  # canonical URNs of the core schema and every extension


def _container(urn: str | None, attributes: tuple[Attribute, ...]) -> _Container:
    writable: dict[str, Attribute] = {}
    read_only: set[str] = set()
    read_only_subs: dict[str, frozenset[str]] = {}
    for attr in attributes:
        if attr.mutability == "readOnly":
            read_only.add(attr.name.lower())
            continue
        writable[attr.name.lower()] = attr
        subs = frozenset(s.name for s in attr.sub_attributes if s.mutability == "readOnly")
        if subs:
            read_only_subs[attr.name] = subs
    return _Container(
        urn,
        writable,
        frozenset(read_only),
        read_only_subs,
        tuple(a for a in writable.values() if a.required),
        tuple(a for a in writable.values() if a.mutability == "immutable"),
        tuple(a for a in writable.values() if a.mutability == "writeOnly"),
    )


def _build_plan(rtype: ResourceType) -> _Plan:
    return _Plan(
        rtype.schema.id,
        _container(None, (*COMMON, *rtype.schema.attributes)),
        {ext.id.lower(): _container(ext.id, ext.attributes) for ext, _ in rtype.extensions},
        tuple(rtype.schema_ids),
    )


def _plan(rtype: ResourceType) -> _Plan:
    return rtype.derived(_build_plan)


def _fill(
    target: dict, source: dict, box: _Container, rtype: ResourceType, plan: _Plan, ignore_unknown: bool
) -> None:
    """Copy the attributes of `box` found in `source` into `target`, coerced and renamed."""
    writable = box.writable
    for key, value in source.items():
        lowered = key.lower()
        attr = writable.get(lowered)
        if attr is not None:
            if value is None or value == "":
                continue  # no value (see values.is_empty), whatever the attribute's type
            name = attr.name if box.urn is None else f"{box.urn}:{attr.name}"
            value = coerce(attr, value, _WHERE, name=name)
            strip = box.read_only_subs.get(attr.name)
            if strip:
                value = without_subs(value, strip)
            if is_empty(value):
                continue
            target[attr.name] = value
        elif lowered in box.read_only:
            continue  # RFC 7643 §2.2: readOnly values in input SHALL be ignored (id, meta, groups)
        elif box.urn is None:
            _top_level_extra(target, key, value, rtype, plan, ignore_unknown)
        elif not ignore_unknown and value is not None:
            raise invalid_syntax(f"{_WHERE}: unknown attribute '{box.urn}:{key}'")


def _top_level_extra(
    target: dict, key: str, value: Any, rtype: ResourceType, plan: _Plan, ignore_unknown: bool
) -> None:
    """A top-level key that is not a core attribute: an extension object, a URN-qualified
    attribute name (some clients flatten extension attributes), `schemas`, or unknown."""
    lowered = key.lower()
    if lowered == "schemas":
        return  # checked by parse_resource
    box = plan.extensions.get(lowered)
    if box is not None:
        if value is None:
            return
        if not isinstance(value, dict):
            raise invalid_value(f"{_WHERE}: the extension '{box.urn}' must be a JSON object")
        ext = target.get(box.urn)
        if ext is None:
            ext = target[box.urn] = {}
        _fill(ext, value, box, rtype, plan, ignore_unknown)
        return
    if ":" in key:
        path = rtype.resolve(key)
        if path is not None and path.sub is None:
            if path.extension is None:
                _fill(target, {path.attribute.name: value}, plan.core, rtype, plan, ignore_unknown)
            else:
                _top_level_extra(
                    target, path.extension, {path.attribute.name: value}, rtype, plan, ignore_unknown
                )
            return
    # A null unknown attribute carries nothing to store; older Entra bodies send explicit nulls
    # (reference entra-and-galaxy.md §1.6, "older MS example shows explicit nulls").
    if not ignore_unknown and value is not None:
        raise invalid_syntax(
            f"{_WHERE}: unknown attribute '{key}' for resource type {rtype.name} "
            f"(see /Schemas for the attributes this server stores)"
        )


def _check_schemas(body: dict, plan: _Plan) -> None:
    schemas = None
    for key, value in body.items():
        if key.lower() == "schemas":
            schemas = value
            break
    if schemas is None:
        raise invalid_syntax(f"{_WHERE}: 'schemas' is required and must list '{plan.core_urn}' (RFC 7643 §3)")
    if not isinstance(schemas, list) or not all(isinstance(s, str) for s in schemas):
        raise invalid_syntax(f"{_WHERE}: 'schemas' must be an array of schema URNs")
    core = plan.core_urn.lower()
    # Unknown URNs are accepted: Entra lists the enterprise URN for every user and its own
    # ".../ADSCIM/2.0/Group" URN for groups (reference entra-and-galaxy.md §1.6).
    for urn in schemas:
        if urn.lower() == core:
            return
    raise invalid_syntax(f"{_WHERE}: 'schemas' must include '{plan.core_urn}' (RFC 7643 §3)")


def _missing(value: Any) -> bool:
    return is_empty(value) or (isinstance(value, str) and not value.strip())


def _check_required(resource: dict, plan: _Plan) -> None:
    for attr in plan.core.required:
        if _missing(resource.get(attr.name)):
            raise invalid_value(f"{_WHERE}: required attribute '{attr.name}' is missing or empty")
    for box in plan.extensions.values():
        if box.required:
            ext = resource.get(box.urn) or {}
            for attr in box.required:
                if _missing(ext.get(attr.name)):
                    raise invalid_value(
                        f"{_WHERE}: required attribute '{box.urn}:{attr.name}' is missing or empty"
                    )


def _check_immutable(resource: dict, existing: dict, plan: _Plan) -> None:
    """RFC 7644 §3.5.1: an immutable attribute that has a value must be sent unchanged on PUT.

    An omitted immutable attribute keeps its stored value (PUT cannot unset it either)."""
    boxes = [(resource, existing, plan.core)]
    for box in plan.extensions.values():
        if box.immutable:
            old = existing.get(box.urn)
            if isinstance(old, dict):
                boxes.append((resource.setdefault(box.urn, {}), old, box))
    for new, old, box in boxes:
        for attr in box.immutable:
            before = old.get(attr.name)
            if is_empty(before):
                continue
            after = new.get(attr.name)
            if after is None:
                new[attr.name] = before
            elif not equal(attr, after, before):
                name = attr.name if box.urn is None else f"{box.urn}:{attr.name}"
                raise mutability(f"{_WHERE}: attribute '{name}' is immutable and cannot be changed")
    for box in plan.extensions.values():
        if resource.get(box.urn) == {}:
            del resource[box.urn]


def _keep_write_only(resource: dict, existing: dict, plan: _Plan) -> None:
    """A PUT that omits a writeOnly attribute (password) keeps the stored value.

    A client cannot read a writeOnly value back, so it cannot echo it in a PUT; RFC 7644 §3.5.1
    lets the service provider decide what omitted attributes become, and clearing the password on
    every PUT of a user's other attributes would lock the user out."""
    for attr in plan.core.write_only:
        if attr.name not in resource and attr.name in existing:
            resource[attr.name] = existing[attr.name]
    for box in plan.extensions.values():
        old = existing.get(box.urn)
        for attr in box.write_only:
            if isinstance(old, dict) and attr.name in old:
                resource.setdefault(box.urn, {}).setdefault(attr.name, old[attr.name])


def refresh_schemas(resource: dict, rtype: ResourceType) -> None:
    """Set `schemas` to the core URN plus the extensions the resource actually holds, as RFC
    7643 §3 asks; call it after anything (PUT, PATCH) that may add or empty an extension."""
    plan = _plan(rtype)
    schemas = [plan.core_urn]
    for box in plan.extensions.values():
        ext = resource.get(box.urn)
        if ext:
            schemas.append(box.urn)
        elif ext is not None:
            del resource[box.urn]
    resource["schemas"] = schemas


def parse_resource(
    body: Any, rtype: ResourceType, *, ignore_unknown: bool, existing: dict | None = None
) -> dict:
    """The stored shape (without `id`/`meta`) of a POST or PUT body for `rtype`.

    Top-level names and extension URNs are matched case-insensitively (RFC 7643 §2.1);
    readOnly input (id, meta, groups, members.display) is ignored (RFC 7643 §2.2); unknown
    attributes are dropped when `ignore_unknown` (Galaxy ignores unsupported fields, reference
    entra-and-galaxy.md §2) and are 400 invalidSyntax otherwise. `password` is returned as sent,
    under "password", for the caller to hash. `existing` (the stored resource, on PUT) enables
    the immutability check, and a writeOnly attribute the body omits (or sends as null) keeps
    its stored value, so a PUT without `password` keeps the stored hash; PATCH `remove` clears
    it. Raises ScimError: invalidSyntax for a malformed body or `schemas`, invalidValue for
    wrong types or a missing required attribute, mutability on PUT.
    """
    if not isinstance(body, dict):
        raise invalid_syntax(f"{_WHERE}: expected a JSON object, got {type(body).__name__}")
    plan = _plan(rtype)
    _check_schemas(body, plan)
    resource: dict = {"schemas": None}
    _fill(resource, body, plan.core, rtype, plan, ignore_unknown)
    if existing is not None:
        _check_immutable(resource, existing, plan)
        _keep_write_only(resource, existing, plan)
    _check_required(resource, plan)
    if plan.extensions:
        refresh_schemas(resource, rtype)
    else:
        resource["schemas"] = [plan.core_urn]
    return resource


def validate_resource(resource: dict, rtype: ResourceType) -> None:
    """Re-check a resource after PATCH: every required attribute still has a value.

    Raises 400 invalidValue naming the attribute (e.g. a PATCH that removed `userName`)."""
    _check_required(resource, _plan(rtype))
