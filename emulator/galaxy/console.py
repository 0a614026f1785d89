"""Galaxy's console under Access: Users, Groups, Provision SCIM (tokens) and Requests (the SCIM
exchanges). Signed-in account admins only; every post is a CSRF-protected form that redirects
back with a message (or re-renders with a clear error)."""

from __future__ import annotations

from aiohttp import web

from emulator.galaxy import pages
from emulator.galaxy.scim_routes import GALAXY_SCIM, GalaxyScim
from emulator.galaxy.sso.direct_users import ACCOUNTADMIN_ROLE, DirectUserError
from emulator.web.lists import paged
from emulator.web.templates import page

SCIM_PATH = "/scim/v2"


def add_console(app: web.Application) -> None:
    r = app.router
    r.add_get("/access", access_root, name="galaxy-access")
    r.add_get("/access/users", users_page, name="galaxy-users")
    r.add_post("/access/users", user_create, name="galaxy-user-create")
    r.add_post("/access/users/edit", user_edit, name="galaxy-user-edit")
    r.add_post("/access/users/delete", user_delete, name="galaxy-user-delete")
    r.add_get("/access/groups", groups_page, name="galaxy-groups")
    r.add_get("/access/sso/scim", scim_page, name="galaxy-scim")
    r.add_post("/access/sso/scim/tokens", token_create, name="galaxy-token-create")
    r.add_post("/access/sso/scim/tokens/revoke", token_revoke, name="galaxy-token-revoke")
    r.add_post("/access/sso/scim/tokens/regenerate", token_regenerate, name="galaxy-token-regenerate")
    r.add_get("/access/requests", requests_page, name="galaxy-requests")


async def access_root(request: web.Request) -> web.Response:
    return await _go(request, "/access/users")


def _scim(request: web.Request) -> GalaxyScim:
    return request.config_dict[GALAXY_SCIM]


def _admin(request: web.Request) -> dict:
    """The signed-in account admin; anyone else goes to the login page."""
    session = pages._current(request)
    if session is None or ACCOUNTADMIN_ROLE not in session.data.get("roles", ()):
        raise pages._login_redirect(request)
    return session.data


# The notice the next page shows, kept in the signed-in session (not in the URL, where a crafted
# link could make the console say anything).
NOTICE = "notice"


async def _go(request: web.Request, path: str, notice: str | None = None) -> web.Response:
    """Redirect after a post (303), with a notice for the page it lands on."""
    if notice:
        _admin(request)[NOTICE] = notice
    raise web.HTTPSeeOther(f"{pages._mount(request)}{path}")


def _render(
    request: web.Request, template: str, section: str, context: dict, status: int = 200
) -> web.Response:
    return page(
        request,
        template,
        {
            "mount": pages._mount(request),
            "user": _admin(request),
            "section": section,
            "notice": _admin(request).pop(NOTICE, None),
            "error": None,
            **context,
        },
        status=status,
    )


def _text(form, name: str) -> str:
    value = form.get(name)
    return value.strip() if isinstance(value, str) else ""


# -- Users -----------------------------------------------------------------------------------------


def _user_rows(request: web.Request, search: str) -> list[dict]:
    rows = []
    for user in _scim(request).directory.users.table.values():
        rows.append(
            {
                "email": user.get("userName", ""),
                "displayName": user.get("displayName") or "",
                "active": user.get("active", True) is not False,
                "sso": True,
            }
        )
    for user in pages._sso(request).direct_users.list():
        rows.append(
            {
                "email": user["email"],
                "displayName": user["displayName"],
                "active": True,
                "sso": False,
                "roles": user["roles"],
            }
        )
    needle = search.lower()
    if needle:
        rows = [r for r in rows if needle in r["email"].lower() or needle in r["displayName"].lower()]
    return sorted(rows, key=lambda r: r["email"].lower())


async def users_page(request: web.Request) -> web.Response:
    _admin(request)
    return _users(request, error=None, status=200)


def _users(request: web.Request, *, error: str | None, status: int) -> web.Response:
    search = request.query.get("q", "").strip()
    href = f"{pages._mount(request)}/access/users"
    pager = paged(_user_rows(request, search), request.query.get("page", ""), href, {"q": search})
    return _render(
        request,
        "users.html",
        "users",
        {"pager": pager, "search": search, "error": error},
        status=status,
    )


async def _change_direct_user(request: web.Request, what: str, done: str, change) -> web.Response:
    """Apply `change(direct_users, email, form)` for the Users page's forms, then show the list
    again with a notice, or with the reason the change was refused."""
    _admin(request)
    form = await request.post()
    email = _text(form, "email")
    try:
        change(pages._sso(request).direct_users, email, form)
    except DirectUserError as exc:
        return _users(request, error=f"The user could not be {what}: {exc}.", status=400)
    await _scim(request).commit()
    return await _go(request, "/access/users", notice=f"{done} {email}.")


async def user_create(request: web.Request) -> web.Response:
    return await _change_direct_user(
        request,
        "created",
        "Created",
        lambda users, email, form: users.add(
            email, _text(form, "password"), display_name=_text(form, "displayName") or None
        ),
    )


async def user_edit(request: web.Request) -> web.Response:
    return await _change_direct_user(
        request,
        "changed",
        "Saved",
        lambda users, email, form: users.update(
            email, display_name=_text(form, "displayName"), password=_text(form, "password")
        ),
    )


async def user_delete(request: web.Request) -> web.Response:
    return await _change_direct_user(
        request, "deleted", "Deleted", lambda users, email, form: users.remove(email)
    )


# -- Groups ----------------------------------------------------------------------------------------


async def groups_page(request: web.Request) -> web.Response:
    _admin(request)
    directory = _scim(request).directory
    names = {u.get("id"): u.get("userName") for u in directory.users.table.values()}
    groups = []
    for group in directory.groups.table.values():
        members = [
            names.get(m.get("value"), m.get("display") or m.get("value")) for m in group.get("members") or ()
        ]
        groups.append(
            {"displayName": group.get("displayName", ""), "members": sorted(str(m) for m in members)}
        )
    groups.sort(key=lambda g: g["displayName"].lower())
    return _render(request, "groups.html", "groups", {"groups": groups})


# -- Single sign-on > Provision SCIM ---------------------------------------------------------------


def _scim_view(
    request: web.Request,
    new_token: str | None = None,
    status: int = 200,
    error: str | None = None,
) -> web.Response:
    scim_url = f"{request.scheme}://{request.host}{pages._mount(request)}{SCIM_PATH}"
    tokens = sorted(_scim(request).tokens.list(), key=lambda t: t["created"], reverse=True)
    return _render(
        request,
        "scim.html",
        "sso",
        {"scim_url": scim_url, "tokens": tokens, "new_token": new_token, "error": error},
        status=status,
    )


# Where a generated token waits, in the signed-in session (memory only), for the one page view
# that shows it: the post redirects (so a reload never generates another), the page pops it.
SHOWN_ONCE = "tokenShownOnce"


async def scim_page(request: web.Request) -> web.Response:
    return _scim_view(request, new_token=_admin(request).pop(SHOWN_ONCE, None))


async def token_create(request: web.Request) -> web.Response:
    _admin(request)
    form = await request.post()
    scim = _scim(request)
    new = scim.tokens.create(_text(form, "name") or "Generated in the console")
    await scim.commit()
    _admin(request)[SHOWN_ONCE] = new.secret
    return await _go(request, "/access/sso/scim")


async def token_revoke(request: web.Request) -> web.Response:
    _admin(request)
    form = await request.post()
    scim = _scim(request)
    token_id = _text(form, "id")
    if scim.tokens.revoke(token_id) is None:
        return _scim_view(
            request, status=404, error=f"No token with the id {token_id!r}: nothing was revoked."
        )
    await scim.commit()
    return await _go(request, "/access/sso/scim", notice="The token was revoked.")


async def token_regenerate(request: web.Request) -> web.Response:
    """Regenerate: the old token stops working now, the new one is shown once (as on create)."""
    _admin(request)
    form = await request.post()
    scim = _scim(request)
    token_id = _text(form, "id")
    new = scim.tokens.regenerate(token_id)
    if new is None:
        return _scim_view(
            request, status=404, error=f"No active token with the id {token_id!r}: nothing was regenerated."
        )
    await scim.commit()
    _admin(request)[SHOWN_ONCE] = new.secret
    return await _go(request, "/access/sso/scim", notice="The old token was revoked; this one replaces it.")


# -- Requests --------------------------------------------------------------------------------------


async def requests_page(request: web.Request) -> web.Response:
    _admin(request)
    entries = _scim(request).exchanges.query(limit=100)
    entries.reverse()
    return _render(request, "requests.html", "requests", {"entries": entries})
