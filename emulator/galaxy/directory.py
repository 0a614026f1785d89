"""Galaxy's SCIM-provisioned users and groups: the service behind the SCIM receiver routes.

Everything here is synchronous and works on plain dicts; the routes only translate HTTP. Each
mutation validates fully before it touches the store, so a request that fails changes nothing.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass

from emulator.clock import Clock
from emulator.hashing import hash_password
from emulator.scim import errors
from emulator.scim.errors import ScimError
from emulator.scim.etags import etag_matches
from emulator.scim.filter import UnknownAttribute, compile_filter, equality_lookup
from emulator.scim.patch import apply_patch
from emulator.scim.projection import make_projector, parse_attribute_list, sort_key, union_sort_keys
from emulator.scim.resource import parse_resource, refresh_schemas, validate_resource
from emulator.scim.schema import Profile, ResourceType
from emulator.scim.values import coerce
from emulator.store import Store, Table

USERS_TABLE = "galaxy_users"
GROUPS_TABLE = "galaxy_groups"


@dataclass(frozen=True)
class Page:
    resources: list[dict]
    total: int
    start_index: int


def _lower(value: object) -> object:
    return value.lower() if isinstance(value, str) else value


class Collection:
    """One resource type (Users or Groups) on its table, with the indexes SCIM clients hit."""

    def __init__(self, store: Store, table: str, rtype: ResourceType, unique: str) -> None:
        self.rtype = rtype
        self.table: Table = store.table(table)
        self.unique = unique  # userName or displayName: unique, compared case-insensitively
        self.table.add_index("id", lambda d: d["id"])
        self.table.add_index("externalId", lambda d: d.get("externalId"))
        self.table.add_index(unique, lambda d: _lower(d.get(unique)))

    def find(self, resource_id: str) -> tuple[int, dict]:
        found = self.table.find_one("id", resource_id)
        if found is None:
            raise errors.not_found(f"{self.rtype.name} {resource_id!r} not found")
        return found

    def check_unique(self, resource: dict, own_doc_id: int | None) -> None:
        value = resource.get(self.unique)
        for doc_id in self.table.lookup(self.unique, _lower(value)):
            if doc_id != own_doc_id:
                raise errors.uniqueness(
                    f"a {self.rtype.name} with {self.unique} {value!r} already exists "
                    f"({self.unique} is unique and compared case-insensitively)"
                )

    def candidates(self, filter_text: str | None) -> list[dict]:
        """The resources matching `filter_text` (None: all), using an index for plain equality
        filters. An empty filter is 400 invalidFilter, not "all" (see `parse_filter`)."""
        if filter_text is None:
            return self.table.values()
        lookup = equality_lookup(filter_text, self.rtype)
        if lookup is not None:
            name, value = lookup
            if name in self.table.indexes and isinstance(value, str):
                key = value.lower() if name == self.unique else value
                return [self.table.docs[i] for i in self.table.lookup(name, key)]
        predicate = compile_filter(filter_text, self.rtype)
        return [doc for doc in self.table.docs.values() if predicate(doc)]


class GalaxyDirectory:
    """Users and groups as Starburst Galaxy keeps them, in the active SCIM profile."""

    def __init__(self, store: Store, clock: Clock, profile: Profile) -> None:
        self.clock = clock
        self.profile = profile
        self.ignore_unknown = profile.name == "galaxy"
        self.users = Collection(store, USERS_TABLE, profile.user, "userName")
        self.groups = Collection(store, GROUPS_TABLE, profile.group, "displayName")
        self.groups.table.add_index(
            "member", lambda d: tuple(m["value"] for m in d.get("members", ())), multi=True
        )

    def collection(self, name: str) -> Collection:
        return self.users if name == "User" else self.groups

    # -- writes ------------------------------------------------------------------------------

    def create(self, kind: str, body: object) -> dict:
        col = self.collection(kind)
        resource = parse_resource(body, col.rtype, ignore_unknown=self.ignore_unknown)
        self._prepare(col, resource, None, None)
        now = self.clock.timestamp()
        resource["id"] = str(uuid.uuid4())
        resource["meta"] = {
            "resourceType": col.rtype.name,
            "created": now,
            "lastModified": now,
            "version": 'W/"1"',
        }
        col.table.insert(resource)
        return resource

    def replace(self, kind: str, resource_id: str, body: object, if_match: str | None) -> dict:
        col = self.collection(kind)
        doc_id, current = col.find(resource_id)
        check_version(current, if_match)
        resource = parse_resource(body, col.rtype, ignore_unknown=self.ignore_unknown, existing=current)
        self._prepare(col, resource, doc_id, current)
        return self._store_update(col, doc_id, current, resource)

    def patch(self, kind: str, resource_id: str, body: object, if_match: str | None) -> dict:
        col = self.collection(kind)
        doc_id, current = col.find(resource_id)
        check_version(current, if_match)
        resource, changed = apply_patch(
            current, body, col.rtype, ignore_unknown=self.ignore_unknown, coerce=coerce
        )
        if not changed:
            # Nothing differs (Entra re-sends memberships and values it already set): the
            # resource, its version and lastModified stay as they are, and nothing is written.
            return current
        validate_resource(resource, col.rtype)
        refresh_schemas(resource, col.rtype)
        self._prepare(col, resource, doc_id, current)
        return self._store_update(col, doc_id, current, resource)

    def delete(self, kind: str, resource_id: str, if_match: str | None) -> None:
        col = self.collection(kind)
        doc_id, current = col.find(resource_id)
        check_version(current, if_match)
        if col is self.users:
            self._drop_memberships(resource_id)
        col.table.remove(doc_id)

    def _prepare(self, col: Collection, resource: dict, doc_id: int | None, current: dict | None) -> None:
        """Checks shared by create, replace and patch, and the password hash."""
        if not resource.get(col.unique):
            raise errors.invalid_value(f"{col.unique} is required and must not be empty")
        col.check_unique(resource, doc_id)
        if col is self.groups:
            self._check_members(resource)
        password = resource.get("password")
        if password is not None and (current is None or password != current.get("password")):
            resource["password"] = hash_password(password)

    def _check_members(self, resource: dict) -> None:
        seen: dict[str, dict] = {}
        for member in resource.get("members", ()):
            value = member.get("value")
            if not value:
                raise errors.invalid_value("every member needs a 'value' holding the id of a User")
            if self.users.table.find_one("id", value) is None:
                raise errors.invalid_value(f"member {value!r} is not the id of a stored User")
            seen.setdefault(value, {**member, "type": "User"})
        if "members" in resource:
            resource["members"] = list(seen.values())

    def _store_update(self, col: Collection, doc_id: int, current: dict, resource: dict) -> dict:
        meta = current["meta"]
        version = int(meta["version"][3:-1]) + 1
        resource["id"] = current["id"]
        resource["meta"] = {**meta, "lastModified": self.clock.timestamp(), "version": f'W/"{version}"'}
        col.table.put(doc_id, resource)
        return resource

    def _drop_memberships(self, user_id: str) -> None:
        """RFC 7644 §3.6: a deleted user no longer appears in any group's members."""
        for group_doc_id in self.groups.table.lookup("member", user_id):
            group = self.groups.table.docs[group_doc_id]
            members = [m for m in group["members"] if m["value"] != user_id]
            self._store_update(self.groups, group_doc_id, group, {**group, "members": members})

    # -- reads -------------------------------------------------------------------------------

    def get(self, kind: str, resource_id: str) -> dict:
        return self.collection(kind).find(resource_id)[1]

    def search(
        self,
        kind: str,
        filter_text: str | None,
        sort_by: str | None,
        descending: bool,
        start_index: int,
        count: int,
    ) -> Page:
        col = self.collection(kind)
        matches = col.candidates(filter_text)
        if sort_by:
            matches = sorted(matches, key=sort_key(col.rtype, sort_by), reverse=descending)
        return Page(matches[start_index - 1 : start_index - 1 + count], len(matches), start_index)

    def search_across(
        self,
        kinds: list[str],
        filter_text: str | None,
        sort_by: str | None,
        descending: bool,
        start_index: int,
        count: int,
    ) -> tuple[list[tuple[str, dict]], int]:
        """A search over several resource types as one result set (POST /.search at the root,
        RFC 7644 §3.4.3): one page of (kind, resource) pairs and the total.

        A filter naming an attribute one type lacks makes that type contribute nothing; any other
        filter mistake, or a filter no type understands, is an error. `sort_by` orders the union;
        resources of a type without that attribute sort as missing (`union_sort_keys`). Without
        it, the types follow each other in the order of `kinds`."""
        matched: list[tuple[str, list[dict]]] = []
        unknown: UnknownAttribute | None = None
        for kind in kinds:
            try:
                matched.append((kind, self.collection(kind).candidates(filter_text)))
            except UnknownAttribute as exc:
                unknown = unknown or exc
        if not matched and unknown is not None:
            raise unknown
        if sort_by:
            rtypes = [self.collection(kind).rtype for kind in kinds]
            keys = dict(zip(kinds, union_sort_keys(rtypes, sort_by), strict=True))
            keyed = [(keys[kind](r), kind, r) for kind, found in matched for r in found]
            keyed.sort(key=lambda item: item[0], reverse=descending)
            union = [(kind, r) for _, kind, r in keyed]
        else:
            union = [(kind, r) for kind, found in matched for r in found]
        return union[start_index - 1 : start_index - 1 + count], len(union)

    def projector(
        self,
        kind: str,
        attributes: str | list | None,
        excluded: str | list | None,
        *,
        known_only: bool = False,
    ) -> Callable[[dict, str], dict]:
        """A function rendering stored resources of `kind` as a client sees them: computed
        `meta.location`, member `$ref` and `display`, the user's `groups` where the profile has
        them, then the `attributes`/`excludedAttributes` projection (RFC 7644 §3.9). Invalid
        names raise before anything else happens, unless `known_only` (a search across resource
        types, RFC 7644 §3.4.3) asks to skip names this type does not have."""
        col = self.collection(kind)
        if known_only:
            attributes = _known(attributes, col.rtype, fallback=["id"])
            excluded = _known(excluded, col.rtype, fallback=None)
        project = make_projector(
            col.rtype,
            parse_attribute_list(attributes, col.rtype),
            parse_attribute_list(excluded, col.rtype, param="excludedAttributes"),
        )
        return lambda resource, base_url: project(self._expand(col, resource, base_url))

    def _expand(self, col: Collection, resource: dict, base_url: str) -> dict:
        out = dict(resource)
        out["meta"] = {**resource["meta"], "location": f"{base_url}{col.rtype.endpoint}/{resource['id']}"}
        if col is self.groups and "members" in resource:
            out["members"] = [self._member_view(m, base_url) for m in resource["members"]]
        elif col is self.users and col.rtype.schema.attribute("groups") is not None:
            groups = [self.groups.table.docs[i] for i in self.groups.table.lookup("member", resource["id"])]
            if groups:
                out["groups"] = [
                    {
                        "value": g["id"],
                        "$ref": f"{base_url}/Groups/{g['id']}",
                        "display": g["displayName"],
                        "type": "direct",
                    }
                    for g in groups
                ]
        return out

    def _member_view(self, member: dict, base_url: str) -> dict:
        return {**member, "$ref": f"{base_url}/Users/{member['value']}"}


def _known(names: object, rtype: ResourceType, fallback: list[str] | None) -> object:
    """The names `rtype` has; `fallback` when names were given but none applies here. A value
    that is not a string or a list of strings is returned as it is, for parse_attribute_list to
    reject with a 400 that names it."""
    if names is None or names == "" or names == []:
        return None
    if isinstance(names, str):
        items = names.split(",")
    elif isinstance(names, list) and all(isinstance(n, str) for n in names):
        items = [part for n in names for part in n.split(",")]
    else:
        return names
    schemas = {urn.lower() for urn in rtype.schema_ids}
    return [n for n in items if rtype.resolve(n.strip()) or n.strip().lower() in schemas] or fallback


def check_version(resource: dict, if_match: str | None) -> None:
    """RFC 7644 §3.14: a stale If-Match is 412 Precondition Failed and nothing changes."""
    if if_match is None or not if_match.strip():
        return
    if etag_matches(resource["meta"]["version"], if_match):
        return
    raise ScimError(
        412,
        f"If-Match {if_match} does not match the current version {resource['meta']['version']}; "
        "read the resource again and retry",
    )
