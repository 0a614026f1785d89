"""The Entra admin portal's pages for an enterprise app, mounted under `/entra/portal/`:
Enterprise applications, the app's Overview, Users and groups, Single sign-on, and its
Provisioning blade (welcome pane, the Provisioning Mode / Admin Credentials / Mappings pane, the
status page with Start, Stop and Restart, and the provisioning logs).

    GET  /portal/                                        -> Enterprise applications
    GET  /portal/enterprise-apps                         the list
    GET  /portal/apps/{app}/overview                     Overview with the Provision User Accounts tile
    GET  /portal/apps/{app}/provisioning[?edit=1]        welcome, status page, or the edit pane
    POST /portal/apps/{app}/provisioning                 Test Connection (op=test) or Save (op=save)
    POST /portal/apps/{app}/provisioning/{start|stop|restart}
    GET  /portal/apps/{app}/provisioning/logs            logs with status, action and identity filters
    GET  /portal/apps/{app}/users                        Users and groups: the assignments
    POST /portal/apps/{app}/users                        Add user/group (assign)
    POST /portal/apps/{app}/users/remove                 Remove (unassign)
    GET  /portal/apps/{app}/sso                          Single sign-on (SAML)
    POST /portal/apps/{app}/sso                          save the Basic SAML Configuration
    .../sso/claims                                       Attributes & Claims (emulator.entra.portal_claims)

Who may use them: the emulator has no Entra admin sign-in yet, so these pages are open to the
local user; the emulator listens on 127.0.0.1 only. Every form post passes the CSRF middleware.
The pages add no logic of their own: they call the same engine, directory and logs the control
API calls, and the log downloads are the control API's own exports.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar
from urllib.parse import quote, urlencode

from aiohttp import web

from emulator.clock import format_instant
from emulator.entra.app import ENTRA, Entra
from emulator.entra.directory import DirectoryError
from emulator.entra.provisioning.engine import ProvisioningError
from emulator.entra.provisioning.logs import ACTIONS, STATUSES
from emulator.entra.provisioning.settings import SettingsError
from emulator.entra.saml.settings import SamlSettingsError
from emulator.web.lists import matching
from emulator.web.templates import page

STATUS_WORDS = {
    "NotConfigured": "Not configured",
    "NotRun": "Not started",
    "Active": "Running",
    "Paused": "Stopped",
    "Quarantine": "In quarantine",
}
DONE_WORDS = {
    "started": "Provisioning started.",
    "stopped": "Provisioning stopped.",
    "restarted": "Provisioning restarted: the next cycle is an initial cycle.",
    "saved": "Provisioning settings saved.",
    "allowed": "Deletes allowed: the next cycle sends the deletions that were held back.",
}


def _entra(request: web.Request) -> Entra:
    return request.config_dict[ENTRA]


def _mount(request: web.Request) -> str:
    return request.config_dict[ENTRA].saml.mount


async def _commit(request: web.Request) -> None:
    """Wait until the change is in the journal, like every acknowledged write of the control API."""
    await _entra(request).directory.users.store.commit()


T = TypeVar("T")


async def write_and_go(
    request: web.Request,
    change: Callable[[], T],
    refused: Callable[[Exception], web.StreamResponse],
    done: str | Callable[[T], str],
    errors: tuple[type[Exception], ...] = (DirectoryError,),
) -> web.StreamResponse:
    """Every portal form post's write, in one place so that all of them behave alike.

    `change()` is the same call the control API makes. A refusal (one of `errors`) has written
    nothing, so the page is shown again by `refused(exc)` with the reason and what was typed.
    Otherwise the write is acknowledged only once it is in the journal, as the control API's
    writes are, and the browser is sent on (303) to `done`, the page with its `?done=` notice;
    `done` may be a function of what `change()` returned, for a page naming what was created.
    """
    try:
        result = change()
    except errors as exc:
        return refused(exc)
    await _commit(request)
    raise web.HTTPSeeOther(done(result) if callable(done) else done)


def _app(request: web.Request) -> dict:
    try:
        return _entra(request).directory.app(request.match_info["app"])
    except DirectoryError:
        raise web.HTTPNotFound() from None


def _base(request: web.Request, app: dict) -> str:
    return f"{_mount(request)}/portal/apps/{quote(app['id'], safe='')}"


def _configured(settings: dict) -> bool:
    """Has the job ever been configured (the welcome pane is shown until then)?"""
    return settings["mode"] == "Automatic" or bool(settings["tenantUrl"])


def _when(instant: str | None) -> str:
    """An ISO instant as people read it on the pages: to the second, in UTC."""
    if not instant:
        return ""
    return instant[:19].replace("T", " ") + " UTC"


def _duration_words(interval: timedelta | None) -> str | None:
    """A cycle interval as the portal words it ("40 minutes"), or None for manual cycles."""
    if interval is None:
        return None
    seconds = int(interval.total_seconds())
    parts = []
    for size, unit in ((86400, "day"), (3600, "hour"), (60, "minute"), (1, "second")):
        count, seconds = divmod(seconds, size)
        if count:
            parts.append(f"{count} {unit}{'s' if count != 1 else ''}")
    return " ".join(parts) or "0 seconds"


def _context(request: web.Request, app: dict, section: str, **extra) -> dict:
    return {
        "mount": _mount(request),
        "app": app,
        "base": _base(request, app),
        "section": section,
        "when": _when,
        **extra,
    }


async def portal_home(request: web.Request) -> web.StreamResponse:
    """The portal's Home with its Azure services row, where the seed's Entra steps begin."""
    return page(request, "portal_home.html", {"mount": _mount(request), "section": "home", "app": None})


async def portal_slash(request: web.Request) -> web.StreamResponse:
    raise web.HTTPFound(f"{_mount(request)}/portal/")


async def tenant_overview(request: web.Request) -> web.StreamResponse:
    """Microsoft Entra ID > Overview: the tenant's properties (the seed's usage note sends people
    here for the Primary domain) and what it holds."""
    directory = _entra(request).directory
    tenant = directory.tenant
    counts = {
        "Users": len(directory.list_users()),
        "Groups": len(directory.list_groups()),
        "Enterprise applications": len(directory.list_apps()),
    }
    return page(
        request,
        "portal_tenant.html",
        {"mount": _mount(request), "section": "tenant", "app": None, "tenant": tenant, "counts": counts},
    )


async def enterprise_apps(request: web.Request) -> web.StreamResponse:
    apps = sorted(_entra(request).directory.list_apps(), key=lambda a: a["displayName"].lower())
    mount = _mount(request)
    rows = [{"app": a, "href": f"{mount}/portal/apps/{quote(a['id'], safe='')}/overview"} for a in apps]
    return page(request, "portal_apps.html", {"mount": mount, "rows": rows, "section": "apps", "app": None})


async def overview(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    return page(request, "portal_overview.html", _context(request, app, "overview"))


def _provisioning_page(
    request: web.Request,
    app: dict,
    *,
    edit: bool,
    notice: dict | None = None,
    error: str | None = None,
    form: dict | None = None,
) -> web.Response:
    """The Provisioning blade. A refused save or button is shown on the page with a 200, as on
    every blade (see `_users_page`): the page loaded fine, and it carries the reason."""
    engine = _entra(request).engine
    settings = engine.public_settings(app["id"])
    configured = _configured(settings)
    done = DONE_WORDS.get(request.query.get("done", ""))
    return page(
        request,
        "portal_provisioning.html",
        _context(
            request,
            app,
            "provisioning",
            settings=settings,
            configured=configured,
            welcome=not configured and not edit,
            edit=edit,
            status=engine.status(app["id"]),
            interval=_duration_words(engine.cycle_interval),
            status_words=STATUS_WORDS,
            notice=notice,
            error=error,
            done=done,
            form=form or {},
        ),
    )


async def provisioning(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    return _provisioning_page(request, app, edit=request.query.get("edit") == "1")


async def provisioning_submit(request: web.Request) -> web.StreamResponse:
    """Test Connection or Save from the Provisioning pane."""
    app = _app(request)
    engine = _entra(request).engine
    data = await request.post()
    mode = str(data.get("mode", "Manual"))
    tenant_url = str(data.get("tenantUrl", "")).strip()
    token = str(data.get("secretToken", ""))
    form = {"mode": mode, "tenantUrl": tenant_url}
    if data.get("op") == "test":
        # The values as typed; a blank token field means the saved one, as in the portal.
        result = await engine.test_connection(app["id"], tenant_url, token or None)
        form["secretToken"] = token
        return _provisioning_page(request, app, edit=True, notice=result, form=form)
    if data.get("op") != "save":
        error = "Unknown action: use Test Connection or Save."
        return _provisioning_page(request, app, edit=True, error=error, form=form)
    changes: dict = {"mode": mode, "tenantUrl": tenant_url or None}
    if token:
        changes["secretToken"] = token

    def refused(exc: Exception) -> web.Response:
        error = f"The settings were not saved: {exc}"
        return _provisioning_page(request, app, edit=True, error=error, form=form)

    if data.get("settings") == "1":
        form.update(_settings_form(data))
        try:
            changes.update(_settings_changes(form))
        except SettingsError as exc:
            return refused(exc)
    return await write_and_go(
        request,
        lambda: engine.configure(app["id"], changes),
        refused,
        f"{_base(request, app)}/provisioning?edit=1&done=saved",
        errors=(SettingsError, ProvisioningError, ValueError),
    )


def _settings_form(data) -> dict:
    """The Settings section's fields as typed (an unticked checkbox is absent from a post)."""
    return {
        "scope": str(data.get("scope", "")),
        "preventAccidentalDeletion": data.get("preventAccidentalDeletion") == "on",
        "accidentalDeletionThreshold": str(data.get("accidentalDeletionThreshold", "")).strip(),
    }


def _settings_changes(form: dict) -> dict:
    """The Settings section as engine settings; the engine validates the values themselves."""
    threshold = form["accidentalDeletionThreshold"]
    if not threshold.isdigit():
        raise SettingsError("the accidental deletion threshold must be a whole number of at least 1")
    return {
        "scope": form["scope"],
        "preventAccidentalDeletion": form["preventAccidentalDeletion"],
        "accidentalDeletionThreshold": int(threshold),
    }


def _lifecycle(action: str, done: str, words: str):
    """A status-page button: `words` names the action in a refusal ("Could not start provisioning")."""

    async def handler(request: web.Request) -> web.StreamResponse:
        app = _app(request)
        return await write_and_go(
            request,
            lambda: getattr(_entra(request).engine, action)(app["id"]),
            lambda exc: _provisioning_page(request, app, edit=False, error=f"Could not {words}: {exc}."),
            f"{_base(request, app)}/provisioning?done={done}",
            errors=(ProvisioningError,),
        )

    return handler


async def provisioning_logs(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    q = request.query
    filters = {key: q.get(key, "").strip() for key in ("status", "action", "identity")}
    error = None
    try:
        entries = _entra(request).logs.query(
            app_id=app["id"],
            status=filters["status"] or None,
            action=filters["action"] or None,
            identity=filters["identity"] or None,
            limit=500,
        )
    except ValueError as exc:
        entries, error = [], f"The filter is not valid: {exc}"
    status_code = 400 if error else 200
    selected = _log_entry(request, app, q.get("entry", ""))
    if selected is None and q.get("entry"):
        error, status_code = "That log entry does not exist (it may have expired); choose another row.", 404
    export = f"/_emulator/entra/apps/{quote(app['id'], safe='')}/provisioning/logs"
    query = urlencode({k: v for k, v in filters.items() if v})
    sep = "&" if query else ""
    return page(
        request,
        "portal_logs.html",
        _context(
            request,
            app,
            "logs",
            entries=entries,
            filters=filters,
            statuses=STATUSES,
            actions=ACTIONS,
            error=error,
            selected=selected,
            logs_href=f"{_base(request, app)}/provisioning/logs{'?' if query else ''}{query}",
            row_href=f"{_base(request, app)}/provisioning/logs?{query}{sep}entry=",
            json_href=f"{export}?{query}{sep}format=download",
            csv_href=f"{export}?{query}{sep}format=csv",
        ),
        status=status_code,
    )


def _log_entry(request: web.Request, app: dict, entry_id: str) -> dict | None:
    """The entry the detail panel shows, if it is one of this app's."""
    if not entry_id:
        return None
    entry = _entra(request).logs.get(entry_id)
    if entry is None or entry["servicePrincipal"]["id"] != app["id"]:
        return None
    return entry


USERS_DONE = {"assigned": "Assignment added.", "removed": "Assignment removed."}


def principal_picker(request: web.Request, taken: set[str]) -> dict:
    """A "User or group" picker's context: the users and groups not in `taken` that match the
    page's `find` search, a picker's worth of each, and how many matched in all."""
    directory = _entra(request).directory
    find = request.query.get("find", "")
    users, users_total = matching((u for u in directory.list_users() if u["id"] not in taken), find)
    groups, groups_total = matching((g for g in directory.list_groups() if g["id"] not in taken), find)
    return {"find": find, "users": users, "groups": groups, "total": users_total + groups_total}


def _users_page(request: web.Request, app: dict, *, error: str | None = None) -> web.Response:
    """The Users and groups blade. A refused change is shown on the page with a 200, as the
    portal shows it in a notice: a 4xx document would also be an error in the browser console."""
    directory = _entra(request).directory
    roles = {r["id"]: r.get("displayName") or r["value"] for r in app.get("appRoles", [])}
    rows = []
    for a in directory.assignments_of(app["id"]):
        if a["principalType"] == "User":
            found = directory.find_user(a["principalId"])
            name = found["displayName"] if found else a["principalId"]
            detail = found.get("userPrincipalName", "") if found else ""
        else:
            found = directory.find_group(a["principalId"])
            name = found["displayName"] if found else a["principalId"]
            detail = ""
        rows.append(
            {
                "id": a["principalId"],
                "name": name,
                "detail": detail,
                "type": a["principalType"],
                "role": roles.get(a.get("appRoleId"), "Default Access"),
            }
        )
    rows.sort(key=lambda r: (r["type"], r["name"].lower()))
    picker = principal_picker(request, {r["id"] for r in rows})
    return page(
        request,
        "portal_users.html",
        _context(
            request,
            app,
            "users",
            rows=rows,
            **picker,
            roles=app.get("appRoles", []),
            error=error,
            done=USERS_DONE.get(request.query.get("done", "")),
        ),
    )


async def users_and_groups(request: web.Request) -> web.StreamResponse:
    return _users_page(request, _app(request))


async def users_assign(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    data = await request.post()
    principal = str(data.get("principal", "")).strip()
    role = str(data.get("role", "")).strip() or None
    if not principal:
        return _users_page(request, app, error="Select a user or group to assign.")
    return await write_and_go(
        request,
        lambda: _entra(request).directory.assign(app["id"], principal, role),
        lambda exc: _users_page(request, app, error=f"The assignment was not added: {exc}"),
        f"{_base(request, app)}/users?done=assigned",
    )


async def users_unassign(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    data = await request.post()
    principal = str(data.get("principal", "")).strip()
    return await write_and_go(
        request,
        lambda: _entra(request).directory.unassign(app["id"], principal),
        lambda exc: _users_page(request, app, error=f"The assignment was not removed: {exc}"),
        f"{_base(request, app)}/users?done=removed",
    )


def _sso_page(
    request: web.Request,
    app: dict,
    *,
    error: str | None = None,
    form: dict | None = None,
) -> web.Response:
    """The Single sign-on blade; a refused save is shown on the page (200, see `_users_page`)."""
    saml = _entra(request).saml
    settings = saml.settings.get(app["id"]).to_json()
    certificate = saml.keys.certificate
    control = f"/_emulator/entra/apps/{quote(app['id'], safe='')}/saml/certificate"
    values = {
        "identifier": (settings["identifiers"] or [""])[0],
        "replyUrl": (settings["replyUrls"] or [""])[0],
        "signOnUrl": settings["signOnUrl"] or "",
        "relayState": settings["relayState"] or "",
        **(form or {}),
    }
    return page(
        request,
        "portal_sso.html",
        _context(
            request,
            app,
            "sso",
            settings=settings,
            values=values,
            error=error,
            done="Basic SAML Configuration saved." if request.query.get("done") == "saved" else None,
            certificate={
                "status": "Active",
                "thumbprint": certificate.thumbprint,
                "subject": certificate.subject,
                "expiresOn": _when(format_instant(certificate.not_after)),
            },
            pem_href=f"{control}?format=pem",
            base64_href=f"{control}?format=base64",
            metadata_url=saml.metadata_url(None, app["appId"]),
            entra={"loginUrl": saml.sso_url(), "identifier": saml.issuer, "logoutUrl": saml.sso_url()},
        ),
    )


async def single_sign_on(request: web.Request) -> web.StreamResponse:
    return _sso_page(request, _app(request))


def _first(current: list[str], value: str) -> list[str]:
    """The list with its first (default) entry replaced by `value`, or dropped when blank."""
    rest = [v for v in current[1:] if v != value]
    return [value, *rest] if value else rest


async def single_sign_on_save(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    saml = _entra(request).saml
    data = await request.post()
    form = {
        key: str(data.get(key, "")).strip() for key in ("identifier", "replyUrl", "signOnUrl", "relayState")
    }
    current = saml.settings.get(app["id"]).to_json()
    changes = {
        "identifiers": _first(current["identifiers"], form["identifier"]),
        "replyUrls": _first(current["replyUrls"], form["replyUrl"]),
        "signOnUrl": form["signOnUrl"] or None,
        "relayState": form["relayState"] or None,
    }
    return await write_and_go(
        request,
        lambda: saml.settings.update(app["id"], changes),
        lambda exc: _sso_page(request, app, error=f"The configuration was not saved: {exc}", form=form),
        f"{_base(request, app)}/sso?done=saved",
        errors=(SamlSettingsError,),
    )


def add_portal_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/portal/", portal_home)
    r.add_get("/portal", portal_slash)
    r.add_get("/portal/entra-id", tenant_overview)
    r.add_get("/portal/enterprise-apps", enterprise_apps)
    r.add_get("/portal/apps/{app}/overview", overview)
    r.add_get("/portal/apps/{app}/provisioning", provisioning)
    r.add_post("/portal/apps/{app}/provisioning", provisioning_submit)
    r.add_post("/portal/apps/{app}/provisioning/start", _lifecycle("start", "started", "start provisioning"))
    r.add_post("/portal/apps/{app}/provisioning/stop", _lifecycle("stop", "stopped", "stop provisioning"))
    r.add_post(
        "/portal/apps/{app}/provisioning/restart", _lifecycle("restart", "restarted", "restart provisioning")
    )
    r.add_post(
        "/portal/apps/{app}/provisioning/allow-deletes",
        _lifecycle("allow_deletes", "allowed", "allow deletes"),
    )
    r.add_get("/portal/apps/{app}/provisioning/logs", provisioning_logs)
    r.add_get("/portal/apps/{app}/users", users_and_groups)
    r.add_post("/portal/apps/{app}/users", users_assign)
    r.add_post("/portal/apps/{app}/users/remove", users_unassign)
    r.add_get("/portal/apps/{app}/sso", single_sign_on)
    r.add_post("/portal/apps/{app}/sso", single_sign_on_save)
