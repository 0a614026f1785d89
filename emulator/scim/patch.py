"""PATCH (RFC 7644 §3.5.2) applied to a stored resource dict, including the forms Entra sends.

`apply_patch` works on a copy and returns it with the canonical names of what changed, so a
request that fails at its fifth operation leaves the stored resource untouched (RFC 7644 §3.5.2:
a PATCH is atomic). Values go through the caller's `coerce` (emulator.scim.values.coerce), so the
result only holds values of the declared types under canonical names.

Entra ID is the client this emulator exists for, and it does not always speak RFC 7644. Each
concession is commented where it happens, naming the source in ../shared/reference/
entra-and-galaxy.md (§1.6 request catalogue, §4 quirks checklist):

- op names in any letter case (`Add`, `Replace`, `Remove`);
- `"True"`/`"False"` strings for booleans (handled by `coerce`);
- `{"op":"Remove","path":"members","value":[{"value":"<id>"}]}` removes only the listed members;
- a one-element list as the value of a single-valued attribute (`manager`);
- add/replace through a value filter that matches nothing (`emails[type eq "work"].value` for a
  user who has no work email yet) creates the element instead of failing with noTarget.

What the result does not do: hash `password` (the caller sees "password" in the changed names),
check that member ids exist, or touch `meta`; those belong to the receiver.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from emulator.scim.errors import ScimError, invalid_syntax, invalid_value, mutability, no_target
from emulator.scim.filter import PatchPath, UnknownAttribute, parse_path
from emulator.scim.schema import COMMON, PATCH_OP, Attribute, AttributePath, ResourceType
from emulator.scim.values import equal, is_empty, without_subs

__all__ = ["Coerce", "apply_patch"]

Coerce = Callable[[Attribute, Any, str], Any]
"""`coerce(attr, value, where)`: the value checked against `attr` in canonical form (None for
absent); raises ScimError invalidValue naming `where`."""

_OPS = ("add", "replace", "remove")


def apply_patch(
    resource: dict,
    body: dict,
    rtype: ResourceType,
    *,
    ignore_unknown: bool,
    coerce: Coerce,
) -> tuple[dict, list[str]]:
    """Apply a PatchOp message to `resource`; return the new resource and what changed.

    The input is never mutated. The changed names are canonical and dotted (`userName`,
    `name.givenName`, `emails`, `urn:...:enterprise:2.0:User:employeeNumber`) and list only
    attributes whose stored value really differs. `ignore_unknown=True` is the galaxy profile:
    operations on attributes the profile does not store are skipped, as Galaxy ignores
    unsupported fields (reference §2); with False they are 400 invalidPath.
    """
    operations = _operations(body)
    patcher = _Patcher(_clone(resource), rtype, ignore_unknown, coerce)
    for number, operation in enumerate(operations, 1):
        patcher.apply(number, operation)
    patcher.finish(resource)
    return patcher.resource, _changed(resource, patcher.resource, rtype)


def _operations(body: Any) -> list[dict]:
    """The operations of a PatchOp message (RFC 7644 §3.5.2), or invalidSyntax saying what is wrong."""
    if not isinstance(body, dict):
        raise invalid_syntax("a PATCH body must be a JSON object with 'schemas' and 'Operations'")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or not any(
        isinstance(s, str) and s.lower() == PATCH_OP.lower() for s in schemas
    ):
        raise invalid_syntax(f'a PATCH body must have "schemas": ["{PATCH_OP}"]')
    # Attribute names are case-insensitive (RFC 7643 §2.1); accept "operations" as well.
    operations = next((v for k, v in body.items() if k.lower() == "operations"), None)
    if not isinstance(operations, list) or not operations:
        raise invalid_syntax("a PATCH body must have 'Operations': a non-empty list of operations")
    for number, operation in enumerate(operations, 1):
        if not isinstance(operation, dict):
            raise invalid_syntax(f"PATCH operation {number} must be a JSON object with 'op', 'path', 'value'")
    return operations


def _clone(value: Any) -> Any:
    """A deep copy of JSON data (much cheaper than copy.deepcopy)."""
    if isinstance(value, dict):
        return {k: _clone(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clone(v) for v in value]
    return value


class _Patcher:
    def __init__(self, resource: dict, rtype: ResourceType, ignore_unknown: bool, coerce: Coerce) -> None:
        self.resource = resource
        self.rtype = rtype
        self.ignore_unknown = ignore_unknown
        self.coerce = coerce

    # --- one operation --------------------------------------------------------------------------

    def apply(self, number: int, operation: dict) -> None:
        fields = {k.lower(): v for k, v in operation.items()}
        name = fields.get("op")
        # Entra sends "Add", "Replace", "Remove" (reference §1.3, §1.6, §4 item 2); RFC 7644 uses
        # lower case. Op names are compared case-insensitively.
        if not isinstance(name, str) or name.lower() not in _OPS:
            shown = f"'{name}'" if isinstance(name, str) else "missing"
            raise invalid_syntax(f"PATCH operation {number}: op is {shown}; use add, remove or replace")
        name = name.lower()
        path = fields.get("path")
        if path is not None and not isinstance(path, str):
            raise ScimError(400, f"PATCH operation {number}: 'path' must be a string", "invalidPath")
        if path is not None and not path.strip():
            path = None
        where = f"PATCH operation {number}" + (f" (path {path!r})" if path else "")
        has_value = "value" in fields
        value = fields.get("value")

        if name == "remove":
            if path is None:
                raise no_target(f"{where}: remove needs a 'path' naming what to remove (RFC 7644 §3.5.2.2)")
            schema_id = self.schema_key(path)
            if schema_id is not None and schema_id != self.rtype.schema.id:
                self.resource.pop(schema_id, None)  # the whole extension, e.g. the enterprise User
                return
            target = self.path(path, where)
            if target is not None:
                self.remove(target, where, explicit=True, listed=value if has_value else None)
            return
        if not has_value:
            raise invalid_value(f"{where}: {name} needs a 'value'")
        if path is not None and (schema_id := self.schema_key(path)) is not None:
            # Some clients name a whole schema as the path ("path": "urn:...:enterprise:2.0:User"
            # with an object of its attributes); that is the path-less form spelled differently.
            path, value = None, {schema_id: value}
        if path is None:
            self.pathless(name, value, where)
            return
        target = self.path(path, where)
        if target is not None:
            self.put(name, target, value, where, explicit=True)

    def path(self, text: str, where: str) -> PatchPath | None:
        """The resolved path, or None when it names an attribute the galaxy profile ignores."""
        try:
            return parse_path(text, self.rtype)
        except UnknownAttribute as exc:
            if self.ignore_unknown:
                # Galaxy: "unsupported fields are ignored" (reference entra-and-galaxy.md §2).
                return None
            raise UnknownAttribute(exc.name, f"{where}: {exc.detail}", "invalidPath") from None
        except ScimError as exc:
            raise ScimError(exc.status, f"{where}: {exc.detail}", exc.scim_type) from None

    def schema_key(self, key: str) -> str | None:
        """The schema id when `key` is the URN of the core schema or of an extension."""
        for schema_id in self.rtype.schema_ids:
            if key.lower() == schema_id.lower():
                return schema_id
        return None

    def pathless(self, name: str, value: Any, where: str) -> None:
        """add/replace without a path (RFC 7644 §3.5.2.1, §3.5.2.3): each key of the value object
        is a target. Entra with `aadOptscim062020` merges several attributes into one such op,
        with dotted (`name.givenName`) and URN-qualified keys (reference §1.6)."""
        if not isinstance(value, dict):
            raise invalid_value(
                f"{where}: without a 'path', the value of {name} must be an object of attribute names "
                "and values"
            )
        for key, item in value.items():
            if key.lower() == "schemas":
                continue  # the server keeps `schemas` in step with the stored extensions
            schema_id = self.schema_key(key)
            if schema_id is None:
                self.pathless_one(name, key, item, f"{where} (value key {key!r})")
                continue
            if item is None and schema_id != self.rtype.schema.id:
                self.resource.pop(schema_id, None)  # `"urn:...:User": null` clears the extension
                continue
            if not isinstance(item, dict):
                raise invalid_value(
                    f"{where}: the value of {key!r} must be an object of that schema's attributes"
                )
            for sub_key, sub_item in item.items():
                if sub_key.lower() == "schemas":
                    continue  # an extension object echoing its own `schemas`, as scim2 clients send
                full = sub_key if schema_id == self.rtype.schema.id else f"{schema_id}:{sub_key}"
                self.pathless_one(name, full, sub_item, f"{where} (value key {key!r} / {sub_key!r})")

    def pathless_one(self, name: str, key: str, item: Any, where: str) -> None:
        target = self.path(key, where)
        if target is None:
            return
        if self.read_only(target):
            # A path-less value often echoes a whole resource (id, meta, groups). RFC 7644 §3.5.1
            # has PUT ignore readOnly values; path-less PATCH gets the same treatment, while an
            # explicit path at a readOnly attribute is an error.
            return
        self.put(name, target, item, where, explicit=False)

    # --- add / replace ------------------------------------------------------------------------------

    def put(self, name: str, target: PatchPath, value: Any, where: str, *, explicit: bool) -> None:
        attr, sub = target.attribute, target.sub
        if explicit:
            self.check_writable(target, where)
        single = sub is not None or not attr.multi_valued or target.predicate is not None
        if single and isinstance(value, list):
            # Entra sends the single-valued `manager` as a one-element list:
            # {"op":"Add","path":"manager","value":[{"$ref":"…","value":"<id>"}]}
            # (reference entra-and-galaxy.md §1.6, from S1 Example 5).
            if len(value) > 1:
                raise invalid_value(
                    f"{where}: '{target.dotted()}' holds one value, got a list of {len(value)}"
                )
            value = value[0] if value else None
        if value is None or value == "":
            # RFC 7644 §3.5.2.3: replacing with null unassigns. Entra's validator clears attributes
            # with empty strings, then with nulls (reference scim.md §2.2, "null-update test").
            self.remove(target, where, explicit=explicit, listed=None)
            return
        holder = self.holder(target.extension, create=True)
        assert holder is not None
        if target.predicate is not None:
            self.put_filtered(name, target, value, where, holder)
        elif sub is not None:
            self.put_sub(target, value, where, holder)
        elif attr.multi_valued:
            self.put_multi(name, attr, value, where, holder)
        elif attr.type == "complex":
            self.put_complex(attr, value, where, holder)
        else:
            new = self.coerce(attr, value, where)
            self.check_immutable(attr, holder.get(attr.name), new, target.dotted(), where)
            holder[attr.name] = new
        _settle(holder, attr.name)

    def put_multi(self, name: str, attr: Attribute, value: Any, where: str, holder: dict) -> None:
        """add appends the values that are not there yet; replace swaps the whole list
        (RFC 7644 §3.5.2.1 and §3.5.2.3, no filter)."""
        items = self.coerce(attr, value if isinstance(value, list) else [value], where) or []
        items = self.writable_part(attr, items)
        if name == "replace":
            holder[attr.name] = items
            _settle_primary(attr, items, items)
            return
        current = holder.get(attr.name)
        merged = list(current) if isinstance(current, list) else []
        fresh = []
        for item in items:
            if not any(_same_value(attr, item, old) for old in merged):
                merged.append(item)
                fresh.append(item)
        _settle_primary(attr, merged, fresh)
        holder[attr.name] = merged

    def put_complex(self, attr: Attribute, value: Any, where: str, holder: dict) -> None:
        """Single-valued complex attribute: the given sub-attributes replace or add to the stored
        ones and the others are kept. RFC 7644 says so for add (§3.5.2.1) and for replace
        (§3.5.2.3: "Sub-attributes that are not specified in the value parameter are left
        unchanged"). A sub-attribute given as null or "" is removed."""
        new = self.writable_part(attr, self.coerce(attr, value, where) or {})
        cleared = [
            sub.name
            for key, raw in (value.items() if isinstance(value, dict) else ())
            if raw is None or raw == ""
            if (sub := attr.sub(key)) is not None
        ]
        current = holder.get(attr.name)
        current = current if isinstance(current, dict) else {}
        merged = {**current, **new}
        for key in cleared:
            merged.pop(key, None)
        self.check_element_immutables(attr, current, merged, where)
        holder[attr.name] = merged

    def put_sub(self, target: PatchPath, value: Any, where: str, holder: dict) -> None:
        """`name.givenName` (set it), or `emails.type` without a filter (set it on every value)."""
        attr, sub = target.attribute, target.sub
        assert sub is not None
        new = self.coerce(sub, value, where)
        if attr.multi_valued:
            elements = [el for el in holder.get(attr.name) or () if isinstance(el, dict)]
            if not elements:
                raise no_target(
                    f"{where}: '{attr.name}' has no values to set '{sub.name}' on; add whole values, "
                    f'or use a filter such as {attr.name}[type eq "work"].{sub.name}'
                )
            for el in elements:
                self.check_immutable(sub, el.get(sub.name), new, target.dotted(), where)
                el[sub.name] = new
            _settle_primary(attr, holder[attr.name], elements)
            return
        current = holder.get(attr.name)
        if not isinstance(current, dict):
            current = holder[attr.name] = {}
        self.check_immutable(sub, current.get(sub.name), new, target.dotted(), where)
        current[sub.name] = new

    def put_filtered(self, name: str, target: PatchPath, value: Any, where: str, holder: dict) -> None:
        """`emails[type eq "work"].value` or `emails[type eq "work"]`: change the matching values
        (RFC 7644 §3.5.2.1, §3.5.2.3), or create one when none matches. `parse_path` only lets
        value filters through on multi-valued attributes."""
        attr, sub = target.attribute, target.sub
        assert target.predicate is not None
        elements = _elements(holder.get(attr.name))
        matches = [el for el in elements if target.predicate(el)]
        if not matches:
            terms = target.eq_terms()
            if terms is None:
                raise no_target(
                    f"{where}: no value of '{attr.name}' matches the filter, and only a filter made of "
                    "'eq' tests joined by 'and' says what a new value would look like"
                )
            # RFC 7644 §3.5.2.3 answers noTarget here, but Entra sends "Add" for a previously
            # empty `emails[type eq "work"].value` and "Replace" when it believes one exists
            # (reference entra-and-galaxy.md §1.5, §1.6): a receiver that answers noTarget makes
            # Entra fail the user. Build the value from the filter's eq terms instead.
            element = self.element(attr, terms, where)
            if sub is not None:
                element[sub.name] = self.coerce(sub, value, where)
            else:
                element.update(self.writable_part(attr, self.element(attr, value, where)))
            current = holder.get(attr.name)
            holder[attr.name] = [*(current if isinstance(current, list) else ()), element]
            _settle_primary(attr, holder[attr.name], [element])
            return
        for el in matches:
            if sub is not None:
                new = self.coerce(sub, value, where)
                self.check_immutable(sub, el.get(sub.name), new, target.dotted(), where)
                el[sub.name] = new
                continue
            item = self.writable_part(attr, self.element(attr, value, where))
            after = {**el, **item} if name == "add" else item
            self.check_element_immutables(attr, el, after, where)
            el.clear()
            el.update(after)
        _settle_primary(attr, holder[attr.name], matches)

    def element(self, attr: Attribute, raw: Any, where: str) -> dict:
        """One value of complex `attr`, coerced (a fresh dict)."""
        if attr.multi_valued:
            out = self.coerce(attr, [raw], where) or []
            return dict(out[0]) if out else {}
        return dict(self.coerce(attr, raw, where) or {})

    # --- remove -----------------------------------------------------------------------------------

    def remove(self, target: PatchPath, where: str, *, explicit: bool, listed: Any) -> None:
        """RFC 7644 §3.5.2.2. Removing what is not there is a no-op: the end state the client asked
        for holds, and Entra re-sends removals of members that are already gone."""
        attr, sub = target.attribute, target.sub
        if explicit:
            self.check_writable(target, where)
        holder = self.holder(target.extension, create=False)
        if holder is None or attr.name not in holder:
            return
        current = holder[attr.name]
        if target.predicate is None and sub is None:
            if attr.multi_valued and listed is not None:
                self.remove_listed(attr, listed, where, holder)
            else:
                if attr.required:
                    raise invalid_value(f"{where}: '{target.dotted()}' is required and cannot be removed")
                if attr.mutability == "immutable":
                    raise mutability(f"{where}: '{target.dotted()}' is immutable and cannot be removed")
                del holder[attr.name]
            _settle(holder, attr.name)
            return
        elements = _elements(current)
        matches = [el for el in elements if target.predicate is None or target.predicate(el)]
        if sub is not None:
            for el in matches:
                if sub.name in el:
                    if sub.mutability == "immutable" or sub.required:
                        raise mutability(f"{where}: '{target.dotted()}' cannot be removed ({sub.mutability})")
                    del el[sub.name]
            if attr.multi_valued:
                holder[attr.name] = [el for el in elements if _worth_keeping(attr, el)]
        elif matches:
            if attr.multi_valued:
                holder[attr.name] = [el for el in current if not any(el is m for m in matches)]
            else:
                del holder[attr.name]
        _settle(holder, attr.name)

    def remove_listed(self, attr: Attribute, listed: Any, where: str, holder: dict) -> None:
        """Entra's default (non-RFC) member removal names the members in `value` with no filter:
        {"op":"Remove","path":"members","value":[{"value":"u1091"}]} means "remove u1091", not
        "remove all members" (reference entra-and-galaxy.md §1.6 "Remove members", §4 item 2;
        a naive RFC server empties the group, S16). Any multi-valued attribute gets the same reading.
        """
        wanted = self.coerce(attr, listed if isinstance(listed, list) else [listed], where) or []
        wanted = [w for w in wanted if not is_empty(w)]
        current = holder.get(attr.name)
        if not isinstance(current, list):
            return
        holder[attr.name] = [el for el in current if not any(_listed_matches(attr, w, el) for w in wanted)]

    # --- checks and helpers -------------------------------------------------------------------------

    def holder(self, extension: str | None, *, create: bool) -> dict | None:
        """The dict holding top-level attributes of `extension` (the resource itself for core)."""
        if extension is None:
            return self.resource
        found = self.resource.get(extension)
        if isinstance(found, dict):
            return found
        if not create:
            return None
        found = self.resource[extension] = {}
        return found

    @staticmethod
    def read_only(target: PatchPath) -> bool:
        return target.attribute.mutability == "readOnly" or (
            target.sub is not None and target.sub.mutability == "readOnly"
        )

    def check_writable(self, target: PatchPath, where: str) -> None:
        if self.read_only(target):
            raise mutability(
                f"{where}: '{target.dotted()}' is read-only and cannot be changed (RFC 7643 §2.2)"
            )

    @staticmethod
    def check_immutable(attr: Attribute, old: Any, new: Any, label: str, where: str) -> None:
        """RFC 7643 §2.2: an immutable attribute may be set when it has no value, never changed."""
        if attr.mutability == "immutable" and old is not None and old != new:
            raise mutability(f"{where}: '{label}' is immutable: it can be set once but not changed")

    def check_element_immutables(self, attr: Attribute, old: dict, new: dict, where: str) -> None:
        for sub in attr.sub_attributes:
            if sub.mutability == "immutable" and old.get(sub.name) is not None:
                self.check_immutable(
                    sub, old.get(sub.name), new.get(sub.name), f"{attr.name}.{sub.name}", where
                )

    @staticmethod
    def writable_part(attr: Attribute, value: Any) -> Any:
        """A complex value (or a list of them) without its readOnly sub-attributes (e.g.
        manager.displayName): the service provider sets those, and RFC 7643 §2.2 has clients'
        values for them ignored."""
        read_only = [s.name for s in attr.sub_attributes if s.mutability == "readOnly"]
        return without_subs(value, read_only) if read_only else value

    def finish(self, original: dict) -> None:
        """Drop emptied extension objects and keep `schemas` listing the extensions in use."""
        for ext, _ in self.rtype.extensions:
            if self.resource.get(ext.id) == {}:
                del self.resource[ext.id]
        schemas = self.resource.get("schemas")
        if not isinstance(schemas, list):
            return
        for ext, _ in self.rtype.extensions:
            listed = [s for s in schemas if isinstance(s, str) and s.lower() == ext.id.lower()]
            if ext.id in self.resource and not listed:
                schemas.append(ext.id)
            elif ext.id not in self.resource and listed and ext.id in original:
                self.resource["schemas"] = schemas = [s for s in schemas if s not in listed]


def _elements(value: Any) -> list[dict]:
    """The values of a complex attribute as a list of dicts (one for single-valued)."""
    if isinstance(value, list):
        return [el for el in value if isinstance(el, dict)]
    return [value] if isinstance(value, dict) else []


def _settle(holder: dict, name: str) -> None:
    """RFC 7643 §2.5: null, "" and empty lists/objects mean unassigned, so they are not stored."""
    if name in holder and is_empty(holder[name]):
        del holder[name]


def _worth_keeping(attr: Attribute, element: dict) -> bool:
    """After a sub-attribute was removed: an empty value, or one that lost the `value` that gives
    it meaning (an email without an address), is dropped."""
    if not element:
        return False
    return attr.sub("value") is None or "value" in element


def _same_value(attr: Attribute, new: Any, old: Any) -> bool:
    """Whether `new` is already among the values (add skips it). Values whose `value` is an
    immutable identifier (members) are the same when the identifiers are; others when equal."""
    if isinstance(new, dict) and isinstance(old, dict):
        key = attr.sub("value")
        if key is not None and key.mutability == "immutable" and "value" in new:
            return equal(key, new["value"], old.get("value"))
    return new == old


def _listed_matches(attr: Attribute, wanted: Any, element: Any) -> bool:
    if isinstance(wanted, dict) and isinstance(element, dict):
        if "value" in wanted:
            return equal(attr.sub("value"), wanted["value"], element.get("value"))
        return all(equal(attr.sub(k), v, element.get(k)) for k, v in wanted.items())
    return equal(attr, wanted, element)


def _settle_primary(attr: Attribute, items: list, fresh: list) -> None:
    """RFC 7643 §2.4: "primary" true appears at most once. When an operation leaves several, the
    value it set last keeps it; the others get false."""
    if attr.sub("primary") is None or not isinstance(items, list):
        return
    primaries = [el for el in items if isinstance(el, dict) and el.get("primary") is True]
    if len(primaries) < 2:
        return
    recent = [el for el in primaries if any(el is f for f in fresh)]
    keep = (recent or primaries)[-1]
    for el in primaries:
        if el is not keep:
            el["primary"] = False


def _changed(old: dict, new: dict, rtype: ResourceType) -> list[str]:
    """Canonical names of the attributes whose stored value differs, in schema order; for
    single-valued complex attributes the changed sub-attributes (`name.givenName`)."""
    names: list[str] = []

    def compare(extension: str | None, attributes: tuple[Attribute, ...], before: Any, after: Any) -> None:
        before = before if isinstance(before, dict) else {}
        after = after if isinstance(after, dict) else {}
        for attr in attributes:
            a, b = before.get(attr.name), after.get(attr.name)
            if a == b:
                continue
            if attr.type == "complex" and not attr.multi_valued:
                a = a if isinstance(a, dict) else {}
                b = b if isinstance(b, dict) else {}
                subs = [s for s in attr.sub_attributes if a.get(s.name) != b.get(s.name)]
                if subs and set(a) | set(b) <= {s.name for s in attr.sub_attributes}:
                    names.extend(AttributePath(extension, attr, s).dotted() for s in subs)
                    continue
            names.append(AttributePath(extension, attr).dotted())

    compare(None, (*COMMON, *rtype.schema.attributes), old, new)
    for ext, _ in rtype.extensions:
        compare(ext.id, ext.attributes, old.get(ext.id), new.get(ext.id))
    return names
