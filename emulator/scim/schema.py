"""Attribute definitions (RFC 7643 §2, §7) and the lookups every other SCIM module needs.

A `ResourceType` knows its core schema, its extensions and the common attributes (id,
externalId, meta), and resolves attribute paths case-insensitively (RFC 7643 §2.1) to the
canonical names used in stored resources. Stored resources are plain JSON dicts in the SCIM wire
shape: extension attributes live in a nested dict under the extension's URN.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, TypeVar

_T = TypeVar("_T")

CORE_USER = "urn:ietf:params:scim:schemas:core:2.0:User"
CORE_GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE_USER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
SCHEMA_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Schema"
RESOURCE_TYPE_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ResourceType"
SPC_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:ServiceProviderConfig"
LIST_RESPONSE = "urn:ietf:params:scim:api:messages:2.0:ListResponse"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
SEARCH_REQUEST = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


@dataclass(frozen=True)
class Attribute:
    """One attribute definition, as RFC 7643 §7 describes it in /Schemas."""

    name: str
    type: str = "string"  # string boolean decimal integer dateTime reference complex binary
    multi_valued: bool = False
    required: bool = False
    case_exact: bool = False
    mutability: str = "readWrite"  # readOnly readWrite immutable writeOnly
    returned: str = "default"  # always never default request
    uniqueness: str = "none"  # none server global
    description: str = ""
    canonical_values: tuple[str, ...] = ()
    reference_types: tuple[str, ...] = ()
    sub_attributes: tuple[Attribute, ...] = ()
    _subs: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._subs.update({a.name.lower(): a for a in self.sub_attributes})

    def sub(self, name: str) -> Attribute | None:
        """The sub-attribute called `name`, compared case-insensitively."""
        return self._subs.get(name.lower())

    def to_json(self) -> dict:
        """This definition in the /Schemas representation (RFC 7643 §7)."""
        body: dict = {
            "name": self.name,
            "type": self.type,
            "multiValued": self.multi_valued,
            "description": self.description,
            "required": self.required,
            "caseExact": self.case_exact,
            "mutability": self.mutability,
            "returned": self.returned,
            "uniqueness": self.uniqueness,
        }
        if self.canonical_values:
            body["canonicalValues"] = list(self.canonical_values)
        if self.reference_types:
            body["referenceTypes"] = list(self.reference_types)
        if self.sub_attributes:
            body["subAttributes"] = [a.to_json() for a in self.sub_attributes]
        return body


@dataclass(frozen=True)
class Schema:
    """A schema (core or extension) with the attributes the active profile stores."""

    id: str
    name: str
    description: str
    attributes: tuple[Attribute, ...]
    _by_name: dict[str, Attribute] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._by_name.update({a.name.lower(): a for a in self.attributes})

    def attribute(self, name: str) -> Attribute | None:
        return self._by_name.get(name.lower())

    def to_json(self, base_url: str = "") -> dict:
        return {
            "schemas": [SCHEMA_SCHEMA],
            "id": self.id,
            "name": self.name,
            "description": self.description,
            "attributes": [a.to_json() for a in self.attributes],
            "meta": {"resourceType": "Schema", "location": f"{base_url}/Schemas/{self.id}"},
        }


@dataclass(frozen=True)
class AttributePath:
    """A resolved attribute reference: `extension` is the URN holding it (None for core and
    common attributes), `attribute` the top-level definition, `sub` the sub-attribute if named."""

    extension: str | None
    attribute: Attribute
    sub: Attribute | None = None

    @property
    def leaf(self) -> Attribute:
        return self.sub or self.attribute

    def dotted(self) -> str:
        """The canonical full name, e.g. `name.givenName` or `urn:...:User:employeeNumber`."""
        name = self.attribute.name + (f".{self.sub.name}" if self.sub else "")
        return f"{self.extension}:{name}" if self.extension else name

    def container(self, resource: dict) -> dict | None:
        """The dict holding the top-level attribute (the resource, or its extension dict)."""
        if self.extension is None:
            return resource
        ext = resource.get(self.extension)
        return ext if isinstance(ext, dict) else None


# --- common attributes (RFC 7643 §3.1) -------------------------------------------------------

META = Attribute(
    "meta",
    "complex",
    mutability="readOnly",
    description="Resource metadata maintained by the service provider.",
    sub_attributes=(
        Attribute("resourceType", mutability="readOnly", case_exact=True),
        Attribute("created", "dateTime", mutability="readOnly"),
        Attribute("lastModified", "dateTime", mutability="readOnly"),
        Attribute("location", "reference", mutability="readOnly", case_exact=True, reference_types=("uri",)),
        Attribute("version", mutability="readOnly", case_exact=True),
    ),
)
ID = Attribute(
    "id",
    mutability="readOnly",
    returned="always",
    uniqueness="server",
    case_exact=True,
    description="Unique identifier assigned by the service provider.",
)
EXTERNAL_ID = Attribute(
    "externalId", case_exact=True, description="Identifier of the resource in the provisioning client."
)
COMMON = (ID, EXTERNAL_ID, META)


# --- core User (RFC 7643 §4.1) ---------------------------------------------------------------


def _multi(name: str, types: tuple[str, ...], value_type: str = "string", extra: tuple = ()) -> Attribute:
    """A multi-valued complex attribute with the usual value/display/type/primary shape."""
    return Attribute(
        name,
        "complex",
        multi_valued=True,
        sub_attributes=(
            Attribute("value", value_type),
            Attribute("display"),
            Attribute("type", canonical_values=types),
            Attribute("primary", "boolean"),
            *extra,
        ),
    )


NAME_GALAXY = (
    Attribute("givenName", description="Given name."),
    Attribute("familyName", description="Family name."),
    Attribute("honorificPrefix", description="Honorific prefix, e.g. 'Ms.'."),
    Attribute("honorificSuffix", description="Honorific suffix, e.g. 'III'."),
)
NAME_FULL = (
    Attribute("formatted", description="The full name, formatted for display."),
    *NAME_GALAXY[:2],
    Attribute("middleName", description="Middle name."),
    *NAME_GALAXY[2:],
)
USER_NAME = Attribute(
    "userName",
    required=True,
    uniqueness="server",
    description="Unique identifier for the user, used to sign in; compared case-insensitively.",
)
ACTIVE = Attribute("active", "boolean", description="Whether the user may sign in.")
DISPLAY_NAME = Attribute("displayName", description="Name of the user, suitable for display.")
PASSWORD = Attribute(
    "password",
    mutability="writeOnly",
    returned="never",
    description="Cleartext password on input; stored as a hash and never returned.",
)

FULL_USER_ATTRIBUTES = (
    USER_NAME,
    Attribute("name", "complex", description="The components of the user's name.", sub_attributes=NAME_FULL),
    DISPLAY_NAME,
    Attribute("nickName"),
    Attribute("profileUrl", "reference", reference_types=("external",)),
    Attribute("title"),
    Attribute("userType"),
    Attribute("preferredLanguage"),
    Attribute("locale"),
    Attribute("timezone"),
    ACTIVE,
    PASSWORD,
    _multi("emails", ("work", "home", "other")),
    _multi("phoneNumbers", ("work", "home", "mobile", "fax", "pager", "other")),
    _multi("ims", ("aim", "gtalk", "icq", "xmpp", "msn", "skype", "qq", "yahoo")),
    _multi("photos", ("photo", "thumbnail"), "reference"),
    Attribute(
        "addresses",
        "complex",
        multi_valued=True,
        sub_attributes=(
            Attribute("formatted"),
            Attribute("streetAddress"),
            Attribute("locality"),
            Attribute("region"),
            Attribute("postalCode"),
            Attribute("country"),
            Attribute("type", canonical_values=("work", "home", "other")),
            Attribute("primary", "boolean"),
        ),
    ),
    Attribute(
        "groups",
        "complex",
        multi_valued=True,
        mutability="readOnly",
        sub_attributes=(
            Attribute("value", mutability="readOnly"),
            Attribute("$ref", "reference", mutability="readOnly", reference_types=("Group",)),
            Attribute("display", mutability="readOnly"),
            Attribute("type", mutability="readOnly", canonical_values=("direct", "indirect")),
        ),
    ),
    _multi("entitlements", ()),
    _multi("roles", ()),
    _multi("x509Certificates", (), "binary"),
)

GALAXY_USER_ATTRIBUTES = (
    USER_NAME,
    Attribute(
        "name", "complex", description="The components of the user's name.", sub_attributes=NAME_GALAXY
    ),
    DISPLAY_NAME,
    ACTIVE,
    PASSWORD,
)

ENTERPRISE_ATTRIBUTES = (
    Attribute("employeeNumber"),
    Attribute("costCenter"),
    Attribute("organization"),
    Attribute("division"),
    Attribute("department"),
    Attribute(
        "manager",
        "complex",
        sub_attributes=(
            Attribute("value"),
            Attribute("$ref", "reference", reference_types=("User",)),
            Attribute("displayName", mutability="readOnly"),
        ),
    ),
)

MEMBERS = Attribute(
    "members",
    "complex",
    multi_valued=True,
    description="Members of the group; each value is the id of a stored User.",
    sub_attributes=(
        Attribute("value", mutability="immutable", case_exact=True),
        Attribute("$ref", "reference", mutability="immutable", reference_types=("User", "Group")),
        Attribute("display"),
        Attribute("type", mutability="immutable", canonical_values=("User", "Group")),
    ),
)
GROUP_ATTRIBUTES = (
    Attribute("displayName", required=True, uniqueness="server", description="Name of the group."),
    MEMBERS,
)


@dataclass(frozen=True)
class ResourceType:
    """A SCIM resource type (RFC 7643 §6) with path resolution over its schemas."""

    name: str
    endpoint: str
    description: str
    schema: Schema
    extensions: tuple[tuple[Schema, bool], ...] = ()
    _derived: dict[Callable[[Any], Any], Any] = field(
        default_factory=dict, init=False, compare=False, repr=False
    )

    def derived(self, build: Callable[[ResourceType], _T]) -> _T:
        """`build(self)`, computed on the first call and kept for the life of this resource type.

        Other modules keep their per-type lookup tables here (keyed by the function that builds
        them): resource.py its input plan, projection.py what the default representation hides.
        A resource type never changes, so neither do they.
        """
        try:
            return self._derived[build]
        except KeyError:
            value = self._derived[build] = build(self)
            return value

    @property
    def schema_ids(self) -> list[str]:
        return [self.schema.id, *(s.id for s, _ in self.extensions)]

    def extension(self, urn: str) -> Schema | None:
        for ext, _ in self.extensions:
            if ext.id.lower() == urn.lower():
                return ext
        return None

    def top_level(self, name: str) -> AttributePath | None:
        """A core or common top-level attribute by bare name."""
        for attr in COMMON:
            if attr.name.lower() == name.lower():
                return AttributePath(None, attr)
        attr = self.schema.attribute(name)
        return AttributePath(None, attr) if attr else None

    def _unqualified_extension(self, name: str) -> AttributePath | None:
        """An extension attribute named without its URN, when exactly one extension has it.

        Entra sends the manager reference as a bare `manager` path (reference
        entra-and-galaxy.md §1.6, "Manager", from S1 Example 5), though RFC 7644 §3.10 asks
        for the URN prefix.
        """
        found = [AttributePath(ext.id, a) for ext, _ in self.extensions if (a := ext.attribute(name))]
        return found[0] if len(found) == 1 else None

    def resolve(self, path: str) -> AttributePath | None:
        """Resolve `attr`, `attr.sub`, or a URN-qualified form of either; None if unknown.

        URN prefixes are matched case-insensitively against the core schema and the
        extensions (RFC 7644 §3.10); the core URN prefix is optional.
        """
        extension: str | None = None
        rest = path
        lowered = path.lower()
        for urn in self.schema_ids:
            if lowered.startswith(urn.lower() + ":"):
                rest = path[len(urn) + 1 :]
                extension = None if urn == self.schema.id else urn
                break
        head, _, tail = rest.partition(".")
        if extension:
            ext = self.extension(extension)
            attr = ext.attribute(head) if ext else None
            base = AttributePath(ext.id, attr) if ext and attr else None
        else:
            base = self.top_level(head) or self._unqualified_extension(head)
        if base is None:
            return None
        if not tail:
            return base
        sub = base.attribute.sub(tail)
        return AttributePath(base.extension, base.attribute, sub) if sub else None

    def to_json(self, base_url: str = "") -> dict:
        body: dict = {
            "schemas": [RESOURCE_TYPE_SCHEMA],
            "id": self.name,
            "name": self.name,
            "endpoint": self.endpoint,
            "description": self.description,
            "schema": self.schema.id,
            "meta": {"resourceType": "ResourceType", "location": f"{base_url}/ResourceTypes/{self.name}"},
        }
        if self.extensions:
            body["schemaExtensions"] = [{"schema": s.id, "required": req} for s, req in self.extensions]
        return body


@dataclass(frozen=True)
class Profile:
    """What a receiver stores: `galaxy` (Starburst Galaxy's supported fields) or `full`."""

    name: str
    user: ResourceType
    group: ResourceType

    @property
    def resource_types(self) -> tuple[ResourceType, ResourceType]:
        return (self.user, self.group)

    @property
    def schemas(self) -> list[Schema]:
        out: list[Schema] = []
        for rt in self.resource_types:
            out.append(rt.schema)
            out.extend(s for s, _ in rt.extensions)
        return out


def build_profile(name: str) -> Profile:
    """The profile called `name`; `galaxy` keeps only what Starburst Galaxy supports
    (reference entra-and-galaxy.md §2), `full` the whole core User and enterprise extension."""
    if name not in PROFILES:
        raise ValueError(f"unknown SCIM profile {name!r}; choose 'galaxy' or 'full'")
    full = name == "full"
    user_schema = Schema(
        CORE_USER, "User", "User Account", FULL_USER_ATTRIBUTES if full else GALAXY_USER_ATTRIBUTES
    )
    extensions = (
        ((Schema(ENTERPRISE_USER, "EnterpriseUser", "Enterprise User", ENTERPRISE_ATTRIBUTES), False),)
        if full
        else ()
    )
    user = ResourceType("User", "/Users", "User Account", user_schema, extensions)
    group = ResourceType("Group", "/Groups", "Group", Schema(CORE_GROUP, "Group", "Group", GROUP_ATTRIBUTES))
    return Profile(name, user, group)


PROFILES = ("galaxy", "full")
