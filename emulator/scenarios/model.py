"""What a scenario declares, as validated, immutable data that `apply_scenario` can trust.

The loader resolves every default and every objectId before it builds these objects, so a
`Scenario` is complete: applying it needs no further decisions and cannot fail on bad input.
Mappings inside the frozen dataclasses are plain dicts for easy reading; treat them as read-only.
"""

from __future__ import annotations

from dataclasses import dataclass, field

DEFAULT_APP_NAME = "Starburst Galaxy"


@dataclass(frozen=True)
class ScenarioTenant:
    """The Entra tenant: its GUID (declared, or derived from the scenario name) and domain."""

    id: str
    display_name: str
    primary_domain: str


@dataclass(frozen=True)
class ScenarioUser:
    """One Entra user; `attributes` holds the plain Entra fields (mail, jobTitle, city, ...)."""

    id: str
    user_principal_name: str
    display_name: str
    attributes: dict[str, str] = field(default_factory=dict)
    enabled: bool = True
    manager: str | None = None  # the manager's userPrincipalName, as written in the file
    password: str | None = None  # plain text; hashed when applied (for the SAML sign-in page)
    deleted: bool = False
    # A stored PBKDF2 hash (`emulator.hashing`), kept as is: what an exported scenario carries,
    # since the plain password is not known. At most one of `password` and `password_hash`.
    password_hash: str | None = None


@dataclass(frozen=True)
class ScenarioGroup:
    """One security group; `members` are userPrincipalNames and group displayNames as written."""

    id: str
    display_name: str
    description: str | None = None
    mail_nickname: str | None = None
    members: tuple[str, ...] = ()


@dataclass(frozen=True)
class ScenarioRole:
    """An app role (the app registration's "App roles"): assignments may carry one, and Entra's
    SAML token lists the user's role values in the role claim."""

    value: str
    display_name: str | None = None


@dataclass(frozen=True)
class ScenarioApp:
    """The enterprise application, who is assigned to it, and its provisioning and SAML tables
    (opaque here: the product's settings validate them when the callbacks hand them over)."""

    id: str
    app_id: str
    display_name: str = DEFAULT_APP_NAME
    assignments: tuple[str, ...] = ()
    provisioning: dict | None = None
    saml: dict | None = None
    roles: tuple[ScenarioRole, ...] = ()
    # The role of an assignment that has one: role value (as declared in `roles`) by the
    # lower-cased principal as written in `assignments`; the others get the default access.
    assignment_roles: dict[str, str] = field(default_factory=dict)

    def role_of(self, principal: str) -> str | None:
        return self.assignment_roles.get(principal.lower())


@dataclass(frozen=True)
class GalaxyUser:
    """A Galaxy user with a direct (email and password) login, made outside SCIM."""

    email: str
    password: str | None  # plain text, or None when `password_hash` is given instead
    display_name: str | None = None
    roles: tuple[str, ...] = ()
    password_hash: str | None = None  # a stored PBKDF2 hash, as an exported scenario has it

    def as_dict(self) -> dict:
        """The plain dict handed to the `create_galaxy_user` callback: email, roles, and
        password or passwordHash, and displayName when given."""
        found: dict = {"email": self.email, "roles": list(self.roles)}
        if self.password is not None:
            found["password"] = self.password
        if self.password_hash is not None:
            found["passwordHash"] = self.password_hash
        if self.display_name is not None:
            found["displayName"] = self.display_name
        return found


@dataclass(frozen=True)
class Scenario:
    """A whole tenant to load into an empty emulator: directory, app, and Galaxy-side users."""

    name: str
    description: str
    tenant: ScenarioTenant
    users: tuple[ScenarioUser, ...]
    groups: tuple[ScenarioGroup, ...]
    app: ScenarioApp
    galaxy_users: tuple[GalaxyUser, ...] = ()
    galaxy_sso: dict | None = None  # Galaxy's SSO configuration, handed to a callback
    source: str = ""  # the file it came from, or "built-in large", for messages

    def principal_ids(self) -> dict[str, str]:
        """objectIds by lower-cased userPrincipalName and group displayName: how member and
        assignment references resolve (the loader has made sure no key is ambiguous)."""
        ids = {u.user_principal_name.lower(): u.id for u in self.users}
        ids.update((g.display_name.lower(), g.id) for g in self.groups)
        return ids

    def membership_count(self) -> int:
        return sum(len(g.members) for g in self.groups)
