"""The Entra admin center's tenant pages for the mock directory, mounted under `/entra/portal/`:
Users (All users, New user, Deleted users, a user's profile) and Groups (All groups, New group, a
group's properties and members), so a person can change the tenant by clicking rather than by
calling the control API.

    GET  /portal/users[?q=]                       All users, searched by display name or UPN
    GET  /portal/users/new                        the New user form
    POST /portal/users/new                        create the user
    GET  /portal/users/deleted                    Deleted users (soft-deleted, restorable for 30 days)
    POST /portal/users/{user}/restore             Restore
    POST /portal/users/{user}/purge               Delete permanently
    GET  /portal/users/{user}                     the profile, sign-in state and groups
    POST /portal/users/{user}                     save the profile
    POST /portal/users/{user}/sign-in             Block sign-in (enabled=false) / Allow sign-in (true)
    POST /portal/users/{user}/delete              Delete (soft)
    GET  /portal/groups                           All groups
    GET  /portal/groups/new                       the New group form
    POST /portal/groups/new                       create the group with its first members
    GET  /portal/groups/{group}                   properties and members
    POST /portal/groups/{group}                   save the name and description
    POST /portal/groups/{group}/delete            Delete (at once: groups are not restorable)
    POST /portal/groups/{group}/members           Add members
    POST /portal/groups/{group}/members/remove    Remove a member

Like the enterprise-app pages these add no logic of their own: each write is the directory call
the control API (emulator/control/entra_routes.py) makes for the same action, and a refusal of the
directory is shown on the page (status 200, see `portal._users_page`), with what was typed kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from urllib.parse import quote

from aiohttp import web

from emulator.clock import format_instant, parse_instant
from emulator.entra.directory import SOFT_DELETE_RETENTION, DirectoryError, EntraDirectory
from emulator.entra.portal import _entra, _mount, _when, principal_picker, write_and_go
from emulator.hashing import hash_password
from emulator.web.lists import by_name, matching, paged
from emulator.web.templates import page

# The profile fields the New user form and a user's profile show: (Graph name, the portal's label).
PROFILE_FIELDS: tuple[tuple[str, str], ...] = (
    ("displayName", "Display name"),
    ("userPrincipalName", "User principal name"),
    ("givenName", "First name"),
    ("surname", "Last name"),
    ("mail", "Email"),
    ("jobTitle", "Job title"),
    ("department", "Department"),
    ("employeeId", "Employee ID"),
    ("physicalDeliveryOfficeName", "Office location"),
    ("city", "City"),
    ("country", "Country or region"),
    ("telephoneNumber", "Business phone"),
    ("mobile", "Mobile phone"),
)
# Blanking these is sent as "" (which the directory refuses), never as None (which clears a field).
REQUIRED_FIELDS = frozenset({"displayName", "userPrincipalName"})
PROFILE_KEYS = tuple(key for key, _ in PROFILE_FIELDS)
GROUP_FORM_FIELDS = ("displayName", "description")

DONE_WORDS = {
    "user-created": "User created.",
    "user-saved": "Profile saved.",
    "user-unchanged": "Nothing to save: no field was changed.",
    "blocked": "Sign-in blocked: the user can no longer sign in.",
    "allowed": "Sign-in allowed.",
    "user-deleted": "User deleted. It can be restored from Deleted users for 30 days.",
    "restored": "User restored: it is back in All users.",
    "purged": "User deleted permanently.",
    "group-created": "Group created.",
    "group-saved": "Group saved.",
    "group-unchanged": "Nothing to save: no field was changed.",
    "group-deleted": "Group deleted.",
    "member-added": "Member added.",
    "member-removed": "Member removed.",
}


def _directory(request: web.Request) -> EntraDirectory:
    return _entra(request).directory


def _portal(request: web.Request) -> str:
    return f"{_mount(request)}/portal"


def _user_href(request: web.Request, object_id: str) -> str:
    return f"{_portal(request)}/users/{quote(object_id, safe='')}"


def _group_href(request: web.Request, object_id: str) -> str:
    return f"{_portal(request)}/groups/{quote(object_id, safe='')}"


def _context(request: web.Request, section: str, **extra: object) -> dict:
    """What every directory page needs: no app is selected, so portal_base shows the tenant menu."""
    return {
        "mount": _mount(request),
        "portal": _portal(request),
        "app": None,
        "section": section,
        "when": _when,
        "done": DONE_WORDS.get(request.query.get("done", "")),
        **extra,
    }


def _typed(data: Mapping[str, object], keys: tuple[str, ...]) -> dict[str, str]:
    """The fields the form sent, trimmed; a field left out of the post is left out here too, so a
    partial post never clears what it did not show."""
    return {key: str(data[key]).strip() for key in keys if key in data}


def _changes(current: dict, typed: dict[str, str], required: frozenset[str] = frozenset()) -> dict:
    """The fields whose typed value differs from the stored one; a blanked optional field is None
    (the directory's "clear this field")."""
    return {
        key: value if value or key in required else None
        for key, value in typed.items()
        if value != (current.get(key) or "")
    }


# -- users -----------------------------------------------------------------------------------------


def _user(request: web.Request) -> dict:
    try:
        return _directory(request).user(request.match_info["user"])
    except DirectoryError:
        raise web.HTTPNotFound() from None


def _purge_on(user: dict) -> str:
    """When a soft-deleted user is purged for good (30 days of clock time after the delete)."""
    return _when(format_instant(parse_instant(user["deletedDateTime"]) + SOFT_DELETE_RETENTION))


async def users_list(request: web.Request) -> web.StreamResponse:
    """All users (not the soft-deleted ones), searched by display name or user principal name."""
    q = request.query.get("q", "").strip()
    users = _directory(request).list_users()
    needle = q.lower()
    found = [
        u for u in users if needle in u["displayName"].lower() or needle in u["userPrincipalName"].lower()
    ]
    rows = [{"user": u, "href": _user_href(request, u["id"])} for u in by_name(found)]
    pager = paged(rows, request.query.get("page", ""), f"{_portal(request)}/users", {"q": q})
    return page(
        request, "portal_dir_users.html", _context(request, "dir-users", pager=pager, q=q, total=len(users))
    )


def _new_user_page(request: web.Request, values: dict, error: str | None = None) -> web.Response:
    context = _context(
        request, "dir-users", fields=PROFILE_FIELDS, required=REQUIRED_FIELDS, values=values, error=error
    )
    return page(request, "portal_dir_user_new.html", context)


async def user_new(request: web.Request) -> web.StreamResponse:
    return _new_user_page(request, {})


async def user_create(request: web.Request) -> web.StreamResponse:
    """New user: the control API's create_user with the non-blank fields; a typed password is
    stored as the emulator's password hash, as a scenario's `password` is."""
    data = await request.post()
    values = _typed(data, PROFILE_KEYS)
    fields: dict = {key: value for key, value in values.items() if value}
    password = str(data.get("password", ""))
    if password:
        fields["passwordHash"] = hash_password(password)
    # A password is never sent back to the browser, so a refused form says to type it again.
    retype = " The password was not kept: type it again." if password else ""
    deleted = _directory(request).find_user(fields.get("userPrincipalName", ""))
    if deleted is not None and deleted.get("deletedDateTime"):
        retype = " That user is in Deleted users: restore it, or delete it permanently first." + retype
    return await write_and_go(
        request,
        lambda: _directory(request).create_user(fields),
        lambda exc: _new_user_page(request, values, error=f"The user was not created: {exc}{retype}"),
        lambda user: f"{_user_href(request, user['id'])}?done=user-created",
    )


def _user_page(
    request: web.Request, user: dict, *, error: str | None = None, typed: dict | None = None
) -> web.Response:
    directory = _directory(request)
    values = {key: user.get(key) or "" for key, _ in PROFILE_FIELDS} | (typed or {})
    groups = [
        {"group": g, "href": _group_href(request, g["id"])} for g in by_name(directory.groups_of(user["id"]))
    ]
    return page(
        request,
        "portal_dir_user.html",
        _context(
            request,
            "dir-users",
            user=user,
            href=_user_href(request, user["id"]),
            fields=PROFILE_FIELDS,
            required=REQUIRED_FIELDS,
            values=values,
            groups=groups,
            purge_on=_purge_on(user) if user.get("deletedDateTime") else None,
            error=error,
        ),
    )


async def user_detail(request: web.Request) -> web.StreamResponse:
    return _user_page(request, _user(request))


async def user_sign_in(request: web.Request) -> web.StreamResponse:
    """Block sign-in (enabled=false) or Allow sign-in (enabled=true): accountEnabled."""
    user = _user(request)
    enabled = (await request.post()).get("enabled")
    if enabled not in ("true", "false"):
        return _user_page(request, user, error="Use Block sign-in or Allow sign-in.")
    done = "allowed" if enabled == "true" else "blocked"
    return await write_and_go(
        request,
        lambda: _directory(request).set_enabled(user["id"], enabled == "true"),
        lambda exc: _user_page(request, user, error=f"Sign-in was not changed: {exc}"),
        f"{_user_href(request, user['id'])}?done={done}",
    )


async def user_delete(request: web.Request) -> web.StreamResponse:
    """Delete: the control API's soft delete, restorable from Deleted users for 30 days."""
    user = _user(request)
    return await write_and_go(
        request,
        lambda: _directory(request).delete_user(user["id"]),
        lambda exc: _user_page(request, user, error=f"The user was not deleted: {exc}"),
        f"{_portal(request)}/users?done=user-deleted",
    )


def _deleted_page(request: web.Request, error: str | None = None) -> web.Response:
    deleted = [u for u in _directory(request).list_users(include_deleted=True) if u.get("deletedDateTime")]
    rows = [
        {"user": u, "href": _user_href(request, u["id"]), "purgeOn": _purge_on(u)} for u in by_name(deleted)
    ]
    return page(request, "portal_dir_deleted.html", _context(request, "dir-users", rows=rows, error=error))


async def users_deleted(request: web.Request) -> web.StreamResponse:
    return _deleted_page(request)


def _recycle(action: str, done: str, failed: str) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Restore or Delete permanently from Deleted users (restore_user / purge_user)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        user = _user(request)
        return await write_and_go(
            request,
            lambda: getattr(_directory(request), action)(user["id"]),
            lambda exc: _deleted_page(request, error=f"{failed}: {exc}"),
            f"{_portal(request)}/users/deleted?done={done}",
        )

    return handler


# -- groups ----------------------------------------------------------------------------------------


def _group(request: web.Request) -> dict:
    try:
        return _directory(request).group(request.match_info["group"])
    except DirectoryError:
        raise web.HTTPNotFound() from None


def _groups_page(request: web.Request, error: str | None = None) -> web.Response:
    rows = [
        {"group": g, "href": _group_href(request, g["id"])}
        for g in by_name(_directory(request).list_groups())
    ]
    pager = paged(rows, request.query.get("page", ""), f"{_portal(request)}/groups", {})
    return page(request, "portal_dir_groups.html", _context(request, "dir-groups", pager=pager, error=error))


async def groups_list(request: web.Request) -> web.StreamResponse:
    return _groups_page(request)


def _new_group_page(
    request: web.Request, values: dict, members: list[str], error: str | None = None, find: str = ""
) -> web.Response:
    """New group. Its member search posts the whole form back (op=search), so what was typed and
    the members already picked stay; picked members stay listed whatever the search."""
    directory = _directory(request)
    users, total = matching(directory.list_users(), find)
    shown = {u["id"] for u in users}
    picked = [u for m in members if m not in shown and (u := directory.find_user(m))]
    users = picked + users
    context = _context(
        request,
        "dir-groups",
        values=values,
        members=members,
        users=users,
        error=error,
        find=find,
        total=total,
    )
    return page(request, "portal_dir_group_new.html", context)


async def group_new(request: web.Request) -> web.StreamResponse:
    return _new_group_page(request, {}, [])


async def group_create(request: web.Request) -> web.StreamResponse:
    """New group: the control API's create_group with its first members."""
    data = await request.post()
    values = _typed(data, GROUP_FORM_FIELDS)
    members = [str(m) for m in data.getall("members", [])]
    if data.get("op") == "search":
        return _new_group_page(request, values, members, find=str(data.get("find", "")).strip())
    fields = {key: value for key, value in values.items() if value}
    return await write_and_go(
        request,
        lambda: _directory(request).create_group(fields, members),
        lambda exc: _new_group_page(request, values, members, error=f"The group was not created: {exc}"),
        lambda group: f"{_group_href(request, group['id'])}?done=group-created",
    )


async def group_delete(request: web.Request) -> web.StreamResponse:
    """Delete a group from All groups or its own page (delete_group: at once, not restorable)."""
    group = _group(request)
    return await write_and_go(
        request,
        lambda: _directory(request).delete_group(group["id"]),
        lambda exc: _groups_page(request, error=f"The group was not deleted: {exc}"),
        f"{_portal(request)}/groups?done=group-deleted",
    )


def _member_row(request: web.Request, directory: EntraDirectory, object_id: str) -> dict:
    """A member as the Members list shows it: a user (with its UPN) or a nested group."""
    user = directory.users.find_one("id", object_id)
    if user is not None:
        doc = user[1]
        return {
            "id": object_id,
            "name": doc["displayName"],
            "type": "User",
            "detail": doc["userPrincipalName"],
            "deleted": bool(doc.get("deletedDateTime")),
            "href": _user_href(request, object_id),
        }
    group = directory.groups.find_one("id", object_id)
    name = group[1]["displayName"] if group else object_id
    return {
        "id": object_id,
        "name": name,
        "type": "Group",
        "detail": "",
        "deleted": False,
        "href": _group_href(request, object_id),
    }


def _group_page(
    request: web.Request, group: dict, *, error: str | None = None, typed: dict | None = None
) -> web.Response:
    directory = _directory(request)
    members = sorted(
        (_member_row(request, directory, m) for m in group["members"]),
        key=lambda r: (r["type"], r["name"].lower()),
    )
    picker = principal_picker(request, {*group["members"], group["id"]})
    return page(
        request,
        "portal_dir_group.html",
        _context(
            request,
            "dir-groups",
            group=group,
            href=_group_href(request, group["id"]),
            values={key: group.get(key) or "" for key in GROUP_FORM_FIELDS} | (typed or {}),
            members=members,
            **picker,
            error=error,
        ),
    )


async def group_detail(request: web.Request) -> web.StreamResponse:
    return _group_page(request, _group(request))


async def member_add(request: web.Request) -> web.StreamResponse:
    """Add members: the control API's add_member with the user or group picked."""
    group = _group(request)
    member = str((await request.post()).get("member", "")).strip()
    if not member:
        return _group_page(request, group, error="Select a user or group to add.")
    return await write_and_go(
        request,
        lambda: _directory(request).add_member(group["id"], member),
        lambda exc: _group_page(request, group, error=f"The member was not added: {exc}"),
        f"{_group_href(request, group['id'])}?done=member-added",
    )


async def member_remove(request: web.Request) -> web.StreamResponse:
    group = _group(request)
    member = str((await request.post()).get("member", "")).strip()
    return await write_and_go(
        request,
        lambda: _directory(request).remove_member(group["id"], member),
        lambda exc: _group_page(request, group, error=f"The member was not removed: {exc}"),
        f"{_group_href(request, group['id'])}?done=member-removed",
    )


# -- both ------------------------------------------------------------------------------------------


def _save_changes(
    kind: str, keys: tuple[str, ...], required: frozenset[str], refusal: str
) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
    """Save a user's profile or a group's name and description (`kind` "user" or "group"): the
    control API's update_user / update_group with only the fields that changed; when none did,
    nothing is written and the page says so."""

    async def handler(request: web.Request) -> web.StreamResponse:
        find, href_of, shown = (
            (_user, _user_href, _user_page) if kind == "user" else (_group, _group_href, _group_page)
        )
        doc = find(request)
        typed = _typed(await request.post(), keys)
        changes = _changes(doc, typed, required)
        href = href_of(request, doc["id"])
        if not changes:
            raise web.HTTPSeeOther(f"{href}?done={kind}-unchanged")
        return await write_and_go(
            request,
            lambda: getattr(_directory(request), f"update_{kind}")(doc["id"], changes),
            lambda exc: shown(request, doc, error=f"{refusal}: {exc}", typed=typed),
            f"{href}?done={kind}-saved",
        )

    return handler


def add_directory_routes(app: web.Application) -> None:
    """Mount the Users and Groups pages; the fixed paths come before the `{user}`/`{group}` ones."""
    r = app.router
    r.add_get("/portal/users", users_list)
    r.add_get("/portal/users/new", user_new)
    r.add_post("/portal/users/new", user_create)
    r.add_get("/portal/users/deleted", users_deleted)
    r.add_get("/portal/users/{user}", user_detail)
    r.add_post(
        "/portal/users/{user}",
        _save_changes("user", PROFILE_KEYS, REQUIRED_FIELDS, "The profile was not saved"),
    )
    r.add_post("/portal/users/{user}/sign-in", user_sign_in)
    r.add_post("/portal/users/{user}/delete", user_delete)
    r.add_post(
        "/portal/users/{user}/restore", _recycle("restore_user", "restored", "The user was not restored")
    )
    r.add_post("/portal/users/{user}/purge", _recycle("purge_user", "purged", "The user was not deleted"))
    r.add_get("/portal/groups", groups_list)
    r.add_get("/portal/groups/new", group_new)
    r.add_post("/portal/groups/new", group_create)
    r.add_get("/portal/groups/{group}", group_detail)
    r.add_post(
        "/portal/groups/{group}",
        _save_changes("group", GROUP_FORM_FIELDS, frozenset({"displayName"}), "The group was not saved"),
    )
    r.add_post("/portal/groups/{group}/delete", group_delete)
    r.add_post("/portal/groups/{group}/members", member_add)
    r.add_post("/portal/groups/{group}/members/remove", member_remove)
