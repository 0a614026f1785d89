"""The mock Entra tenant: users, groups, enterprise applications and their assignments.

Every change stamps the objects it affects with a tenant-wide, increasing `changeSeq` (and the
clock's time), so an incremental provisioning cycle can import exactly what changed since its
watermark, as Entra's delta queries do (reference entra-and-galaxy.md §1.4). A membership change
stamps the group and the member; removing an assignment leaves a tombstone; a hard delete leaves
a tombstone in `entra_deleted`, so the engine can send the DELETE.
"""

from __future__ import annotations

import re
import uuid
from collections.abc import Iterable
from datetime import timedelta

from emulator.clock import Clock, parse_instant
from emulator.hashing import looks_like_password_hash
from emulator.store import Store, Table

USERS = "entra_users"
GROUPS = "entra_groups"
APPS = "entra_apps"
ASSIGNMENTS = "entra_assignments"
DELETED = "entra_deleted"
TENANT = "entra_tenant"

# Soft-deleted users are purged 30 days later (reference §1.7: "hard-deleted (30 d after soft
# delete, or purged)").
SOFT_DELETE_RETENTION = timedelta(days=30)

# The plain string profile fields of a user, as Microsoft Graph spells them: what scenarios may
# set and what the default attribute mappings read (reference entra-and-galaxy.md §1.5).
USER_PROFILE_FIELDS: tuple[str, ...] = (
    "userPrincipalName",
    "mail",
    "mailNickname",
    "givenName",
    "surname",
    "displayName",
    "jobTitle",
    "department",
    "employeeId",
    "preferredLanguage",
    "physicalDeliveryOfficeName",
    "streetAddress",
    "city",
    "state",
    "postalCode",
    "country",
    "telephoneNumber",
    "mobile",
    "facsimileTelephoneNumber",
)
USER_FIELDS = frozenset({*USER_PROFILE_FIELDS, "manager", "accountEnabled", "passwordHash"})
GROUP_FIELDS = frozenset({"displayName", "description", "mailNickname"})
_ADDRESS = re.compile(r"^[^@\s]+@[^@\s]+$")  # name@domain, as the scenario loader checks it


class DirectoryError(ValueError):
    """A change the directory refuses; `status` says how an API should answer it."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


class EntraDirectory:
    """The tenant's objects on the store, with the indexes the portal and the engine use."""

    def __init__(self, store: Store, clock: Clock) -> None:
        self.clock = clock
        self.users = store.table(USERS)
        self.groups = store.table(GROUPS)
        self.apps = store.table(APPS)
        self.assignments = store.table(ASSIGNMENTS)
        self.deleted = store.table(DELETED)
        self.tenant_table = store.table(TENANT)
        for table in (self.users, self.groups, self.apps, self.deleted):
            table.add_index("id", lambda d: d["id"])
        self.users.add_index("upn", lambda d: d["userPrincipalName"].lower())
        self.groups.add_index("name", lambda d: d["displayName"].lower())
        self.groups.add_index("member", lambda d: tuple(d["members"]), multi=True)
        self.apps.add_index("appId", lambda d: d["appId"])
        self.apps.add_index("name", lambda d: d["displayName"].lower())
        self.assignments.add_index("app", lambda d: d["appId"])
        self.assignments.add_index("principal", lambda d: d["principalId"])
        self._seq = max(
            (
                d.get("changeSeq", 0)
                for t in (self.users, self.groups, self.assignments, self.deleted)
                for d in t.docs.values()
            ),
            default=0,
        )

    # -- tenant ------------------------------------------------------------------------------

    @property
    def tenant(self) -> dict:
        """The tenant (one per data folder); made with a fresh GUID on first use."""
        found = self.tenant_table.get(1)
        if found is None:
            found = {
                "id": str(uuid.uuid4()),
                "displayName": "Contoso",
                "primaryDomain": "contoso.onmicrosoft.com",
            }
            self.tenant_table.put(1, found)
        return found

    def configure_tenant(self, *, tenant_id: str | None, display_name: str, primary_domain: str) -> dict:
        doc = {
            "id": tenant_id or self.tenant["id"],
            "displayName": display_name,
            "primaryDomain": primary_domain,
        }
        _check_guid(doc["id"], "tenant id")
        self.tenant_table.put(1, doc)
        return doc

    @property
    def change_seq(self) -> int:
        """The newest change stamp; a provisioning watermark is one of these."""
        return self._seq

    def reset_change_seq(self) -> None:
        """Start the change stamps over, as in a new data folder (the control API's reset, once
        every table is empty)."""
        self._seq = 0

    def _stamp(self, doc: dict) -> dict:
        self._seq += 1
        return {**doc, "changeSeq": self._seq, "modifiedDateTime": self.clock.timestamp()}

    # -- users -------------------------------------------------------------------------------

    def user(self, object_id: str) -> dict:
        found = self.users.find_one("id", object_id)
        if found is None:
            raise DirectoryError(f"no user with objectId {object_id!r}", 404)
        return found[1]

    def find_user(self, key: str) -> dict | None:
        """A user by objectId or userPrincipalName (case-insensitive)."""
        found = self.users.find_one("id", key) or self.users.find_one("upn", key.lower())
        return found[1] if found else None

    def list_users(self, *, include_deleted: bool = False) -> list[dict]:
        return [u for u in self.users.values() if include_deleted or not u.get("deletedDateTime")]

    def create_user(self, fields: dict, object_id: str | None = None) -> dict:
        """A new enabled user; userPrincipalName and displayName are required."""
        _check_fields(fields, USER_FIELDS, "user")
        upn = fields.get("userPrincipalName")
        if not isinstance(upn, str) or "@" not in upn:
            raise DirectoryError("userPrincipalName is required and must look like name@domain")
        if not fields.get("displayName"):
            raise DirectoryError("displayName is required")
        if self.users.find_one("upn", upn.lower()):
            raise DirectoryError(f"a user with userPrincipalName {upn!r} already exists", 409)
        object_id = object_id or str(uuid.uuid4())
        _check_guid(object_id, "objectId")
        if self.users.find_one("id", object_id):
            raise DirectoryError(f"objectId {object_id!r} is taken", 409)
        self._check_manager(fields.get("manager"), object_id)
        doc = {
            "id": object_id,
            "accountEnabled": True,
            "mailNickname": upn.split("@", 1)[0],
            **{k: v for k, v in fields.items() if v is not None},
            "createdDateTime": self.clock.timestamp(),
            "deletedDateTime": None,
        }
        doc = self._stamp(doc)
        self.users.insert(doc)
        return doc

    def update_user(self, object_id: str, fields: dict) -> dict:
        """Change some fields; a None value clears the field."""
        _check_fields(fields, USER_FIELDS, "user")
        doc_id, current = self._user_entry(object_id)
        upn = fields.get("userPrincipalName")
        if upn is not None:
            if not isinstance(upn, str) or "@" not in upn:
                raise DirectoryError("userPrincipalName must look like name@domain")
            other = self.users.find_one("upn", upn.lower())
            if other and other[0] != doc_id:
                raise DirectoryError(f"a user with userPrincipalName {upn!r} already exists", 409)
        if "displayName" in fields and not fields["displayName"]:
            raise DirectoryError("displayName cannot be empty")
        if "manager" in fields:
            self._check_manager(fields["manager"], object_id)
        merged = {**current, **fields}
        updated = self._stamp({k: v for k, v in merged.items() if v is not None or k == "deletedDateTime"})
        self.users.put(doc_id, updated)
        return updated

    def set_enabled(self, object_id: str, enabled: bool) -> dict:
        """Block (False) or unblock sign-in; provisioning disables a blocked user (§1.7)."""
        return self.update_user(object_id, {"accountEnabled": enabled})

    def delete_user(self, object_id: str) -> dict:
        """Soft delete: recoverable for 30 days of clock time, then purged."""
        doc_id, current = self._user_entry(object_id)
        if current.get("deletedDateTime"):
            raise DirectoryError(f"user {object_id!r} is already deleted", 409)
        updated = self._stamp({**current, "deletedDateTime": self.clock.timestamp()})
        self.users.put(doc_id, updated)
        return updated

    def restore_user(self, object_id: str) -> dict:
        doc_id, current = self._user_entry(object_id)
        if not current.get("deletedDateTime"):
            raise DirectoryError(f"user {object_id!r} is not deleted", 409)
        updated = self._stamp({**current, "deletedDateTime": None})
        self.users.put(doc_id, updated)
        return updated

    def purge_user(self, object_id: str) -> None:
        """Hard delete now: the user is gone and its memberships and assignments with it."""
        doc_id, current = self._user_entry(object_id)
        self._remove_principal(object_id)
        self.users.remove(doc_id)
        self.deleted.insert(
            self._stamp(
                {
                    "id": object_id,
                    "objectType": "User",
                    "displayName": current["displayName"],
                    "purgedDateTime": self.clock.timestamp(),
                }
            )
        )

    def purge_expired(self) -> list[str]:
        """Hard-delete users soft-deleted more than 30 days of clock time ago."""
        cutoff = self.clock.now() - SOFT_DELETE_RETENTION
        expired = [
            u["id"]
            for u in self.users.values()
            if u.get("deletedDateTime") and parse_instant(u["deletedDateTime"]) <= cutoff
        ]
        for object_id in expired:
            self.purge_user(object_id)
        return expired

    def _user_entry(self, object_id: str) -> tuple[int, dict]:
        found = self.users.find_one("id", object_id)
        if found is None:
            raise DirectoryError(f"no user with objectId {object_id!r}", 404)
        return found

    def _check_manager(self, manager: object, object_id: str) -> None:
        if manager is None:
            return
        if manager == object_id:
            raise DirectoryError("a user cannot be their own manager")
        if not isinstance(manager, str) or self.users.find_one("id", manager) is None:
            raise DirectoryError(f"manager {manager!r} is not the objectId of a user in this tenant")

    # -- groups ------------------------------------------------------------------------------

    def group(self, object_id: str) -> dict:
        return self._group_entry(object_id)[1]

    def find_group(self, key: str) -> dict | None:
        found = self.groups.find_one("id", key) or self.groups.find_one("name", key.lower())
        return found[1] if found else None

    def list_groups(self) -> list[dict]:
        return self.groups.values()

    def create_group(self, fields: dict, members: Iterable[str] = (), object_id: str | None = None) -> dict:
        _check_fields(fields, GROUP_FIELDS, "group")
        name = fields.get("displayName")
        if not isinstance(name, str) or not name.strip():
            raise DirectoryError("displayName is required")
        object_id = object_id or str(uuid.uuid4())
        _check_guid(object_id, "objectId")
        if self.groups.find_one("id", object_id) or self.users.find_one("id", object_id):
            raise DirectoryError(f"objectId {object_id!r} is taken", 409)
        member_ids = list(dict.fromkeys(members))
        for member in member_ids:
            self._check_member(member, object_id)
        doc = self._stamp(
            {
                "id": object_id,
                "mailNickname": name.replace(" ", ""),
                **{k: v for k, v in fields.items() if v is not None},
                "members": member_ids,
                "createdDateTime": self.clock.timestamp(),
            }
        )
        self.groups.insert(doc)
        self._stamp_users(m for m in member_ids if self.users.find_one("id", m))
        return doc

    def update_group(self, object_id: str, fields: dict) -> dict:
        _check_fields(fields, GROUP_FIELDS, "group")
        if "displayName" in fields and not fields["displayName"]:
            raise DirectoryError("displayName cannot be empty")
        doc_id, current = self._group_entry(object_id)
        merged = {k: v for k, v in {**current, **fields}.items() if v is not None}
        updated = self._stamp(merged)
        self.groups.put(doc_id, updated)
        return updated

    def add_member(self, group_id: str, member_id: str) -> dict:
        """Add a user or a group (nested groups are kept, and not expanded when pushed)."""
        doc_id, current = self._group_entry(group_id)
        self._check_member(member_id, group_id)
        if member_id in current["members"]:
            return current
        updated = self._stamp({**current, "members": [*current["members"], member_id]})
        self.groups.put(doc_id, updated)
        self._stamp_users([member_id])
        return updated

    def remove_member(self, group_id: str, member_id: str) -> dict:
        doc_id, current = self._group_entry(group_id)
        if member_id not in current["members"]:
            raise DirectoryError(f"{member_id!r} is not a member of group {group_id!r}", 404)
        updated = self._stamp({**current, "members": [m for m in current["members"] if m != member_id]})
        self.groups.put(doc_id, updated)
        self._stamp_users([member_id])
        return updated

    def delete_group(self, object_id: str) -> None:
        doc_id, current = self._group_entry(object_id)
        self._remove_principal(object_id)
        self.groups.remove(doc_id)
        self._stamp_users(current["members"])
        self.deleted.insert(
            self._stamp(
                {
                    "id": object_id,
                    "objectType": "Group",
                    "displayName": current["displayName"],
                    "purgedDateTime": self.clock.timestamp(),
                }
            )
        )

    def groups_of(self, object_id: str) -> list[dict]:
        """The groups that have `object_id` as a direct member."""
        return [self.groups.docs[i] for i in self.groups.lookup("member", object_id)]

    def _group_entry(self, object_id: str) -> tuple[int, dict]:
        found = self.groups.find_one("id", object_id)
        if found is None:
            raise DirectoryError(f"no group with objectId {object_id!r}", 404)
        return found

    def _check_member(self, member_id: str, group_id: str) -> None:
        if member_id == group_id:
            raise DirectoryError("a group cannot be a member of itself")
        if not self.users.find_one("id", member_id) and not self.groups.find_one("id", member_id):
            raise DirectoryError(
                f"member {member_id!r} is not the objectId of a user or group in this tenant"
            )

    def _stamp_users(self, object_ids: Iterable[str]) -> None:
        for object_id in object_ids:
            found = self.users.find_one("id", object_id)
            if found:
                self.users.put(found[0], self._stamp(found[1]))

    # -- enterprise applications and assignments ---------------------------------------------

    def _app_entry(self, key: str) -> tuple[int, dict]:
        found = (
            self.apps.find_one("id", key)
            or self.apps.find_one("appId", key)
            or self.apps.find_one("name", key.lower())
        )
        if found is None:
            raise DirectoryError(f"no enterprise application {key!r}", 404)
        return found

    def app(self, key: str) -> dict:
        """An enterprise application by objectId, appId or display name."""
        return self._app_entry(key)[1]

    def list_apps(self) -> list[dict]:
        return self.apps.values()

    def create_app(
        self, display_name: str, *, app_id: str | None = None, object_id: str | None = None
    ) -> dict:
        if not display_name.strip():
            raise DirectoryError("an application needs a display name")
        if self.apps.find_one("name", display_name.lower()):
            raise DirectoryError(f"an application named {display_name!r} already exists", 409)
        doc = {
            "id": object_id or str(uuid.uuid4()),
            "appId": app_id or str(uuid.uuid4()),
            "displayName": display_name,
            "createdDateTime": self.clock.timestamp(),
        }
        _check_guid(doc["id"], "objectId")
        _check_guid(doc["appId"], "appId")
        self.apps.insert(doc)
        return doc

    def assignments_of(self, app_id: str, *, include_removed: bool = False) -> list[dict]:
        return [
            self.assignments.docs[i]
            for i in self.assignments.lookup("app", app_id)
            if include_removed or not self.assignments.docs[i]["removed"]
        ]

    def is_assigned(self, app_id: str, principal_id: str) -> bool:
        return any(
            self.assignments.docs[i]["appId"] == app_id and not self.assignments.docs[i]["removed"]
            for i in self.assignments.lookup("principal", principal_id)
        )

    def add_app_role(self, app_id: str, value: str, display_name: str | None = None) -> dict:
        """Declare an app role (the app registration's "App roles"); assignments may then carry
        it, and Entra's SAML token lists the user's roles in the role claim (reference §3)."""
        doc_id, app = self._app_entry(app_id)
        if not isinstance(value, str) or not value.strip() or " " in value:
            raise DirectoryError("an app role needs a value without spaces, e.g. DataAdmin")
        roles = list(app.get("appRoles", []))
        if any(r["value"].lower() == value.lower() for r in roles):
            raise DirectoryError(f"the app already has a role {value!r}", 409)
        role = {"id": str(uuid.uuid4()), "value": value, "displayName": display_name or value}
        self.apps.put(doc_id, {**app, "appRoles": [*roles, role]})
        return role

    def roles_of(self, app_id: str, user_id: str) -> list[str]:
        """Role values the user holds in the app, directly or through a group's assignment."""
        app = self.app(app_id)
        by_id = {r["id"]: r["value"] for r in app.get("appRoles", [])}
        principals = [user_id, *(g["id"] for g in self.groups_of(user_id))]
        found = {
            by_id[doc["appRoleId"]]
            for principal in principals
            if (entry := self._assignment_entry(app["id"], principal))
            for doc in (entry[1],)
            if not doc["removed"] and doc.get("appRoleId") in by_id
        }
        return sorted(found)

    def assign(self, app_id: str, principal_id: str, role: str | None = None) -> dict:
        """Assign a user or a group to the app ("Users and groups > Add user/group"), with one
        of its app roles or the default access."""
        app = self.app(app_id)
        principal_type = self._principal_type(principal_id)
        role_id = None
        if role is not None:
            role_id = next(
                (r["id"] for r in app.get("appRoles", []) if r["value"].lower() == role.lower()), None
            )
            if role_id is None:
                known = ", ".join(r["value"] for r in app.get("appRoles", [])) or "none yet"
                raise DirectoryError(f"the app has no role {role!r} (roles: {known})")
        existing = self._assignment_entry(app["id"], principal_id)
        if existing and not existing[1]["removed"] and existing[1].get("appRoleId") == role_id:
            return existing[1]
        doc = self._stamp(
            {
                "id": existing[1]["id"] if existing else str(uuid.uuid4()),
                "appId": app["id"],
                "principalId": principal_id,
                "principalType": principal_type,
                "appRoleId": role_id,
                "removed": False,
                "createdDateTime": self.clock.timestamp(),
            }
        )
        if existing:
            self.assignments.put(existing[0], doc)
        else:
            self.assignments.insert(doc)
        return doc

    def unassign(self, app_id: str, principal_id: str) -> dict:
        app = self.app(app_id)
        existing = self._assignment_entry(app["id"], principal_id)
        if existing is None or existing[1]["removed"]:
            raise DirectoryError(f"{principal_id!r} is not assigned to {app['displayName']!r}", 404)
        doc = self._stamp({**existing[1], "removed": True})
        self.assignments.put(existing[0], doc)
        return doc

    def _assignment_entry(self, app_id: str, principal_id: str) -> tuple[int, dict] | None:
        for i in self.assignments.lookup("principal", principal_id):
            if self.assignments.docs[i]["appId"] == app_id:
                return i, self.assignments.docs[i]
        return None

    def _principal_type(self, principal_id: str) -> str:
        if self.users.find_one("id", principal_id):
            return "User"
        if self.groups.find_one("id", principal_id):
            return "Group"
        raise DirectoryError(f"{principal_id!r} is not the objectId of a user or group in this tenant", 404)

    def _remove_principal(self, object_id: str) -> None:
        """A purged object leaves every group and every assignment."""
        for group in self.groups_of(object_id):
            self.remove_member(group["id"], object_id)
        for i in list(self.assignments.lookup("principal", object_id)):
            doc = self.assignments.docs[i]
            if not doc["removed"]:
                self.assignments.put(i, self._stamp({**doc, "removed": True}))

    # -- delta -------------------------------------------------------------------------------

    def changed_since(self, table: Table, watermark: int) -> list[dict]:
        return [d for d in table.values() if d.get("changeSeq", 0) > watermark]


def _check_fields(fields: dict, allowed: frozenset[str], kind: str) -> None:
    """Known fields of the right type: strings, but a boolean `accountEnabled`; `mail` looks
    like an address and `passwordHash` is one the emulator wrote (None clears a field)."""
    unknown = sorted(set(fields) - allowed)
    if unknown:
        raise DirectoryError(
            f"unknown {kind} field(s): {', '.join(unknown)}; allowed: {', '.join(sorted(allowed))}"
        )
    for key, value in fields.items():
        if value is None:
            continue
        if key == "accountEnabled":
            if not isinstance(value, bool):
                raise DirectoryError("accountEnabled must be true or false")
        elif not isinstance(value, str):
            what = "the objectId of a user" if key == "manager" else "a string"
            raise DirectoryError(f"{key} must be {what}, not {type(value).__name__}")
        elif key == "mail" and not _ADDRESS.match(value):
            raise DirectoryError(f"mail {value!r} does not look like name@domain")
        elif key == "passwordHash" and not looks_like_password_hash(value):
            raise DirectoryError("passwordHash is not a password hash the emulator wrote")


def _check_guid(value: str, what: str) -> None:
    try:
        uuid.UUID(value)
    except (ValueError, AttributeError, TypeError):
        raise DirectoryError(f"{what} must be a GUID, not {value!r}") from None
