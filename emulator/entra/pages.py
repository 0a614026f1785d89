"""Entra's browser-facing pages, mounted at `/entra`: the SAML endpoint, federation metadata,
the sign-in page and account picker, My Apps, and sign-out.

    GET|POST /{tenant}/saml2                          SSO (HTTP-Redirect and HTTP-POST) and SLO
    GET      /{tenant}/federationmetadata/2007-06/federationmetadata.xml[?appid=]
    GET      /{tenant}/login?ctx=...[&other=1]        the sign-in page of a flow
    POST     /{tenant}/login                          an account picked, a username or password typed
    GET      /myapps                                  My Apps
    POST     /myapps/launch/{app}                     launch an app (IdP- or SP-initiated)
    GET|POST /logout                                  sign out of every account

`/{tenant}` is the tenant id or its primary domain, as on login.microsoftonline.com. Entra's
browser session is an HttpOnly, SameSite=Lax cookie scoped to `/entra` that remembers the
accounts signed in on this browser (the account picker's list). Lax is enough because the
emulator serves Galaxy on the same site; the SP's cookie, not this one, is what the cross-site
Response POST concerns. Every form post passes the CSRF middleware except the SSO endpoint's
POST binding, which other sites post to by design. Every refusal is a page with its AADSTS code.
"""

from __future__ import annotations

import base64
import logging
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from aiohttp import web

from emulator.clock import format_instant, parse_instant
from emulator.entra.app import ENTRA
from emulator.entra.portal import add_portal_routes
from emulator.entra.portal_claims import add_claims_routes
from emulator.entra.portal_directory import add_directory_routes
from emulator.entra.portal_mappings import add_mapping_routes
from emulator.entra.portal_on_demand import add_on_demand_routes
from emulator.entra.saml.errors import (
    NO_PASSIVE,
    RESPONDER,
    AadstsError,
    SamlFailure,
    SamlFailureError,
)
from emulator.entra.saml.flows import Flow
from emulator.entra.saml.requests import (
    AuthnRequest,
    LogoutRequest,
    check_authn_request,
    check_response_binding,
    decode_post,
    decode_redirect,
    invalid_message,
    parse_request,
    reply_url_for,
)
from emulator.entra.saml.response import redirect_url
from emulator.entra.saml.service import EntraSaml, new_trace_id
from emulator.entra.saml.settings import SamlSettings
from emulator.hashing import password_matches
from emulator.web.csrf import EXEMPT, csrf_middleware
from emulator.web.sessions import SessionStore
from emulator.web.templates import page, setup_templates

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "ESTSAUTH"  # the name of Entra's own session cookie
SSO_POST_ROUTE = "entra-saml2"
MAX_TILES = 50  # accounts shown on the sign-in page; the rest are reached by typing a username
MAX_ACCOUNTS = 10  # accounts one browser session remembers


@dataclass
class _PageState:
    """What the pages keep per emulator: the browser sessions, made on first use because the
    clock lives on the main app, which this sub-app cannot reach before a request."""

    mount: str
    store: SessionStore | None = None

    def sessions(self, saml: EntraSaml) -> SessionStore:
        if self.store is None:
            self.store = SessionStore(saml.clock, SESSION_COOKIE, self.mount)
        return self.store


PAGE_STATE = web.AppKey("entra_pages", _PageState)


def _saml(request: web.Request) -> EntraSaml:
    return request.config_dict[ENTRA].saml


def _sessions(request: web.Request) -> SessionStore:
    return request.app[PAGE_STATE].sessions(_saml(request))


def _check_tenant(request: web.Request) -> EntraSaml:
    saml = _saml(request)
    tenant = request.match_info["tenant"]
    if not saml.is_tenant(tenant):
        raise AadstsError(
            90002,
            f"Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are "
            "signing into the correct cloud.",
            status=404,
        )
    return saml


# -- the browser's accounts ------------------------------------------------------------------------


@dataclass(frozen=True)
class SignedIn:
    """An account this browser is signed in with, and when it authenticated."""

    user: dict
    authn_instant: datetime


def _signed_in(request: web.Request) -> list[SignedIn]:
    """The browser's accounts that can still sign in (a deleted or blocked user drops out),
    most recent first."""
    session = _sessions(request).get(request)
    if session is None:
        return []
    directory = _saml(request).directory
    found = []
    for account in session.data.get("accounts", []):
        entry = directory.users.find_one("id", account["id"])
        if entry is None:
            continue
        user = entry[1]
        if user.get("deletedDateTime") or user.get("accountEnabled") is False:
            continue
        found.append(SignedIn(user, parse_instant(account["authnInstant"])))
    return found


def _current(request: web.Request) -> SignedIn | None:
    accounts = _signed_in(request)
    if not accounts:
        return None
    session = _sessions(request).get(request)
    current = session.data.get("current") if session else None
    return next((a for a in accounts if a.user["id"] == current), accounts[0])


def _remember(request: web.Request, response: web.StreamResponse, account: SignedIn) -> None:
    """Put `account` first in the browser's list and make it current, under a new session id."""
    sessions = _sessions(request)
    old = sessions.get(request)
    accounts = [a for a in (old.data.get("accounts", []) if old else []) if a["id"] != account.user["id"]]
    accounts.insert(0, {"id": account.user["id"], "authnInstant": format_instant(account.authn_instant)})
    if old is not None:
        sessions.end(request, response)
    sessions.start(response, {"accounts": accounts[:MAX_ACCOUNTS], "current": account.user["id"]})


def _forget(request: web.Request, response: web.StreamResponse, user_id: str | None = None) -> None:
    """Sign one account out of this browser, or every account when `user_id` is None."""
    sessions = _sessions(request)
    old = sessions.get(request)
    if old is None:
        response.del_cookie(SESSION_COOKIE, path=sessions.path)
        return
    remaining = [] if user_id is None else [a for a in old.data.get("accounts", []) if a["id"] != user_id]
    sessions.end(request, response)
    if remaining:
        sessions.start(response, {"accounts": remaining, "current": remaining[0]["id"]})


def _find_user(saml: EntraSaml, key: str) -> dict | None:
    """A user by objectId, userPrincipalName or mail, as a username box or login_hint names one."""
    key = key.strip()
    if not key:
        return None
    found = saml.directory.find_user(key)
    if found is not None:
        return found
    lowered = key.lower()
    return next((u for u in saml.directory.users.values() if (u.get("mail") or "").lower() == lowered), None)


# -- pages -----------------------------------------------------------------------------------------


def _error_page(request: web.Request, error: AadstsError) -> web.Response:
    now = _saml(request).clock.now() if ENTRA in request.config_dict else None
    return page(
        request,
        "error.html",
        {
            "error": error,
            "trace_id": new_trace_id(),
            "timestamp": format_instant(now) if now else "",
        },
        status=error.status,
    )


def _portal_error_page(request: web.Request, exc: web.HTTPException) -> web.Response:
    """An admin portal page that is not there (an object deleted meanwhile, a mistyped link):
    said in the portal's own frame with its menus, not as a sign-in failure."""
    mount = request.app[PAGE_STATE].mount
    gone = exc.status == 404
    context = {"mount": mount, "app": None, "section": None, "status": exc.status, "gone": gone}
    return page(request, "portal_error.html", context, status=exc.status)


def _post_page(
    request: web.Request, action: str, saml_response: bytes, relay_state: str | None
) -> web.Response:
    """The page that carries the Response to the app: an auto-submitting form (HTTP-POST
    binding) with a Continue button for browsers without script."""
    fields = {"SAMLResponse": base64.b64encode(saml_response).decode("ascii")}
    if relay_state:
        fields["RelayState"] = relay_state
    return page(request, "post.html", {"action": action, "fields": fields})


def _login_url(saml: EntraSaml, flow: Flow, *, other: bool = False) -> str:
    url = f"{saml.mount}/{saml.tenant_id}/login?ctx={flow.id}"
    return url + "&other=1" if other else url


def _flow_app(saml: EntraSaml, flow: Flow) -> tuple[dict, SamlSettings] | tuple[None, None]:
    """The app a flow signs in to and its settings, or (None, None) for My Apps."""
    if flow.app_object_id is None:
        return None, None
    found = saml.directory.apps.find_one("id", flow.app_object_id)
    if found is None:
        raise AadstsError(700016, "The application of this sign-in no longer exists in the directory.", 404)
    return found[1], saml.settings.get(found[1]["id"])


def _sign_in_page(
    request: web.Request,
    flow: Flow,
    *,
    mode: str = "list",
    user: dict | None = None,
    error: str | None = None,
    username: str = "",
    status: int = 200,
) -> web.Response:
    """The sign-in page in one of its modes: `pick` (the browser's accounts), `list` (the
    directory's accounts and a username box), `password` (one account's password)."""
    saml = _saml(request)
    app, settings = _flow_app(saml, flow)
    context: dict = {
        "mode": mode,
        "flow": flow,
        "tenant": saml.directory.tenant,
        "app": app,
        "action": f"{saml.mount}/{saml.tenant_id}/login",
        "other_url": _login_url(saml, flow, other=True),
        "error": error,
        "username": username,
        "user": user,
    }
    if mode == "pick":
        context["accounts"] = [a.user for a in _signed_in(request)]
    elif mode == "list":
        hint = _find_user(saml, flow.login_hint) if flow.login_hint else None
        candidates = saml.sign_in_candidates(app, settings)
        tiles = sorted(
            (u for u in candidates if u.get("accountEnabled") is not False),
            key=lambda u: (u.get("displayName") or "").casefold(),
        )
        if hint is not None and hint in tiles:
            tiles.remove(hint)
            tiles.insert(0, hint)
        shown = {u["id"] for u in tiles[:MAX_TILES]}
        others = []
        if len(shown) < MAX_TILES:
            for candidate in saml.directory.list_users():
                if candidate["id"] in shown:
                    continue
                if candidate.get("accountEnabled") is False:
                    note = "Sign-in blocked"
                elif app is not None:
                    note = f"Not assigned to {app['displayName']}"
                else:
                    continue
                others.append((candidate, note))
                if len(shown) + len(others) >= MAX_TILES:
                    break
        context.update(
            tiles=tiles[:MAX_TILES],
            more=max(0, len(tiles) - MAX_TILES),
            others=others,
            hint=hint,
            # a login_hint that names nobody is left in the username box, as Entra pre-fills it
            username=username or ((flow.login_hint or "") if hint is None else ""),
        )
    return page(request, "signin.html", context, status=status)


# -- SSO and SLO -----------------------------------------------------------------------------------


async def saml2(request: web.Request) -> web.StreamResponse:
    """`/{tenant}/saml2`: an AuthnRequest or LogoutRequest, by HTTP-Redirect (GET) or HTTP-POST."""
    saml = _check_tenant(request)
    if request.method == "POST":
        form = await request.post()
        params = {k: v for k, v in form.items() if isinstance(v, str)}
        decode = decode_post
    else:
        params = dict(request.query)
        decode = decode_redirect
    encoded = params.get("SAMLRequest")
    relay_state = params.get("RelayState")
    if not encoded:
        if params.get("SAMLResponse"):
            raise invalid_message(
                "Entra only sends LogoutRequests to applications it is asked to sign out of; "
                "this endpoint expected a SAMLRequest."
            )
        raise AadstsError(
            750054,
            "SAMLRequest or SAMLResponse must be present as query string parameters in HTTP request "
            "for SAML Redirect binding.",
        )
    message = parse_request(decode(encoded))
    if isinstance(message, LogoutRequest):
        return _logout_request(request, saml, message, relay_state)
    return _authn_request(
        request, saml, message, relay_state, request.query.get("login_hint") or params.get("login_hint")
    )


def _authn_request(
    request: web.Request,
    saml: EntraSaml,
    message: AuthnRequest,
    relay_state: str | None,
    login_hint: str | None,
) -> web.StreamResponse:
    app, settings = saml.app_for_identifier(message.issuer)
    acs_url = reply_url_for(message.acs_url, settings, app)
    check_response_binding(message)
    try:
        check_authn_request(message)
    except SamlFailureError as exc:
        failed = saml.error_response(exc.failure, acs_url=acs_url, in_response_to=message.id)
        return _post_page(request, acs_url, failed, relay_state)
    flow = saml.flows.start(
        app_object_id=app["id"],
        acs_url=acs_url,
        audience=message.issuer,
        request_id=message.id,
        relay_state=relay_state,
        name_id_format=message.name_id_format,
        sp_name_qualifier=message.sp_name_qualifier,
        force_authn=message.force_authn,
        login_hint=login_hint,
    )
    accounts = _signed_in(request)
    hinted = _find_user(saml, login_hint) if login_hint else None
    if not message.force_authn:
        # Single sign-on: one account on this browser (or the one login_hint names) goes
        # straight through; several make the person pick.
        reuse = None
        if hinted is not None:
            reuse = next((a for a in accounts if a.user["id"] == hinted["id"]), None)
        elif len(accounts) == 1:
            reuse = accounts[0]
        if reuse is not None:
            return _complete(request, flow, reuse)
    if message.is_passive:
        # SAML core §3.4.1: IsPassive and no usable session is a NoPassive failure.
        failure = SamlFailure(
            50058,
            "A silent sign-in request was sent but no user is signed in. The cookies used to represent "
            "the user's session were not sent in the request to Azure AD.",
            status=RESPONDER,
            sub_status=NO_PASSIVE,
        )
        saml.flows.finish(flow.id)
        failed = saml.error_response(failure, acs_url=acs_url, in_response_to=message.id)
        return _post_page(request, acs_url, failed, relay_state)
    if hinted is not None and hinted.get("passwordHash") and not hinted.get("deletedDateTime"):
        return _sign_in_page(request, flow, mode="password", user=hinted)
    if len(accounts) > 1 and not message.force_authn:
        return _sign_in_page(request, flow, mode="pick")
    return _sign_in_page(request, flow)


def _redirect(location: str) -> web.Response:
    return web.Response(status=302, headers={"Location": location, "Cache-Control": "no-store"})


def _complete(request: web.Request, flow: Flow, account: SignedIn) -> web.StreamResponse:
    """The account is authenticated: answer the app (or go to My Apps), and remember the
    account on this browser. The browser stays signed in even when the app then refuses the
    user (AADSTS50105), as in Entra."""
    saml = _saml(request)
    response: web.StreamResponse
    try:
        saml.check_can_sign_in(account.user)
        app, settings = _flow_app(saml, flow)
        if app is None:
            response = _redirect(f"{saml.mount}/myapps")
        else:
            saml.check_assignment(app, settings, account.user)
            xml = saml.sso_response(
                app,
                settings,
                account.user,
                acs_url=flow.acs_url or "",
                identifier=flow.audience or "",
                authn_instant=account.authn_instant,
                in_response_to=flow.request_id,
                requested_format=flow.name_id_format,
                sp_name_qualifier=flow.sp_name_qualifier,
            )
            response = _post_page(request, flow.acs_url or "", xml, flow.relay_state)
        saml.flows.finish(flow.id)
    except AadstsError as exc:
        if exc.code in (50034, 50057):
            raise
        response = _error_page(request, exc)
    _remember(request, response, account)
    return response


def _logout_request(
    request: web.Request, saml: EntraSaml, message: LogoutRequest, relay_state: str | None
) -> web.StreamResponse:
    """SAML single logout: the app must be known by its Identifier; the browser's matching
    account (or, when the NameID names none of them, every account) is signed out, and the
    LogoutResponse goes to the app's Logout Url by HTTP-Redirect, the only binding Entra uses
    for it (entra-docs single-sign-out-saml-protocol)."""
    _app, settings = saml.app_for_identifier(message.issuer)
    named = _find_user(saml, message.name_id) if message.name_id else None
    signed_in = {a.user["id"] for a in _signed_in(request)}
    target = named["id"] if named is not None and named["id"] in signed_in else None
    xml = saml.logout_response(destination=settings.logout_url, in_response_to=message.id)
    response: web.StreamResponse
    if settings.logout_url:
        response = _redirect(
            redirect_url(settings.logout_url, xml, relay_state=relay_state, signer=saml.signer(settings))
        )
    else:
        response = page(
            request,
            "signed_out.html",
            {"tenant": saml.directory.tenant, "confirm": False, "mount": saml.mount},
        )
    _forget(request, response, target)
    return response


# -- the sign-in page ------------------------------------------------------------------------------


def _flow(request: web.Request, flow_id: object) -> Flow:
    flow = _saml(request).flows.get(flow_id if isinstance(flow_id, str) else None)
    if flow is None:
        raise AadstsError(
            50089,
            "Authentication failed due to flow token expired. This sign-in page is no longer valid: "
            "go back to the application and sign in again.",
            status=400,
            title="Your sign-in timed out.",
        )
    return flow


async def login_page(request: web.Request) -> web.StreamResponse:
    """The sign-in page of a flow: the account picker when the browser holds accounts (unless
    "Use another account" was chosen), else the directory's accounts."""
    _check_tenant(request)
    flow = _flow(request, request.query.get("ctx"))
    if request.query.get("other") != "1" and _signed_in(request) and not flow.force_authn:
        return _sign_in_page(request, flow, mode="pick")
    return _sign_in_page(request, flow)


async def login_submit(request: web.Request) -> web.StreamResponse:
    """An account tile clicked, a username typed, or a password entered."""
    saml = _check_tenant(request)
    form = await request.post()
    flow = _flow(request, form.get("ctx"))
    username = form.get("username")
    username = username.strip() if isinstance(username, str) else ""
    password = form.get("password")
    if not username:
        return _sign_in_page(request, flow, error="Enter a valid email address or username.", status=400)
    found = _find_user(saml, username)
    try:
        user = saml.check_can_sign_in(found, username)
    except AadstsError as exc:
        if exc.code != 50034:
            raise
        return _sign_in_page(request, flow, error=exc.text, username=username, status=400)
    existing = next((a for a in _signed_in(request) if a.user["id"] == user["id"]), None)
    if existing is not None and not flow.force_authn:
        return _complete(request, flow, existing)
    stored = user.get("passwordHash")
    if stored:
        if not isinstance(password, str):
            return _sign_in_page(request, flow, mode="password", user=user)
        if not password_matches(password, stored):
            return _sign_in_page(
                request,
                flow,
                mode="password",
                user=user,
                error="AADSTS50126: Error validating credentials due to invalid username or password. "
                "Your account or password is incorrect.",
                status=400,
            )
    return _complete(request, flow, SignedIn(user, saml.clock.now()))


# -- My Apps ---------------------------------------------------------------------------------------


async def my_apps(request: web.Request) -> web.StreamResponse:
    """The apps assigned to the current account; with no account, sign in first."""
    saml = _saml(request)
    current = _current(request)
    if current is None or request.query.get("switch") == "1":
        flow = saml.flows.start()
        raise web.HTTPFound(_login_url(saml, flow))
    apps = saml.assigned_apps(current.user)
    return page(
        request,
        "myapps.html",
        {
            "user": current.user,
            "accounts": [a.user for a in _signed_in(request)],
            "apps": apps,
            "tenant": saml.directory.tenant,
            "mount": saml.mount,
        },
    )


async def launch(request: web.Request) -> web.StreamResponse:
    """Launch an app from My Apps: with a Sign on URL, send the browser there (the app then
    starts an SP-initiated sign-in); without one, post an unsolicited Response to the default
    Reply URL with the configured Relay State (reference §3 "IdP-initiated")."""
    saml = _saml(request)
    current = _current(request)
    if current is None:
        raise web.HTTPFound(f"{saml.mount}/myapps")
    found = saml.directory.apps.find_one("id", request.match_info["app"])
    if found is None:
        raise AadstsError(
            700016, f"Application '{request.match_info['app']}' was not found in the directory.", 404
        )
    app = found[1]
    settings = saml.settings.get(app["id"])
    saml.check_can_sign_in(current.user)
    saml.check_assignment(app, settings, current.user)
    if settings.sign_on_url:
        raise web.HTTPFound(settings.sign_on_url)
    if settings.default_reply_url is None:
        raise AadstsError(
            500113, f"No reply address is registered for the application '{app['displayName']}'."
        )
    if settings.default_identifier is None:
        raise AadstsError(
            50010,
            f"Audience URI validation for the app failed since no token audiences were configured: "
            f"the application '{app['displayName']}' has no Identifier (Entity ID).",
        )
    xml = saml.sso_response(
        app,
        settings,
        current.user,
        acs_url=settings.default_reply_url,
        identifier=settings.default_identifier,
        authn_instant=current.authn_instant,
    )
    return _post_page(request, settings.default_reply_url, xml, settings.relay_state)


# -- sign-out and metadata -------------------------------------------------------------------------


async def logout_page(request: web.Request) -> web.StreamResponse:
    saml = _saml(request)
    return page(
        request, "signed_out.html", {"tenant": saml.directory.tenant, "confirm": True, "mount": saml.mount}
    )


async def logout(request: web.Request) -> web.StreamResponse:
    """Sign out of every account on this browser."""
    saml = _saml(request)
    response = page(
        request, "signed_out.html", {"tenant": saml.directory.tenant, "confirm": False, "mount": saml.mount}
    )
    _forget(request, response)
    return response


async def federation_metadata(request: web.Request) -> web.StreamResponse:
    """The federation metadata, for the tenant or (with `appid`) for one app."""
    saml = _check_tenant(request)
    app_id = request.query.get("appid")
    if app_id is not None and saml.directory.apps.find_one("appId", app_id.strip()) is None:
        tenant = saml.directory.tenant
        raise AadstsError(
            700016,
            f"Application with identifier '{app_id}' was not found in the directory "
            f"'{tenant.get('displayName', tenant['id'])}'.",
            status=404,
        )
    return web.Response(
        body=saml.metadata(),
        content_type="application/xml",
        charset="utf-8",
        headers={"Cache-Control": "no-store"},
    )


# -- the app ---------------------------------------------------------------------------------------

_HTTP_ERRORS = {
    404: (90023, "The authentication service request isn't valid: there is no such page."),
    405: (900561, "The endpoint only accepts the methods listed for it; this request used another."),
    413: (90015, "The request is too large."),
}


@web.middleware
async def entra_error_pages(request: web.Request, handler) -> web.StreamResponse:
    """Every refusal as a readable page with its AADSTS code; never a traceback."""
    try:
        return await handler(request)
    except AadstsError as exc:
        return _error_page(request, exc)
    except web.HTTPException as exc:
        if exc.status < 400:
            raise
        if request.path.startswith(f"{request.app[PAGE_STATE].mount}/portal"):
            return _portal_error_page(request, exc)
        code, message = _HTTP_ERRORS.get(exc.status, (90023, exc.reason))
        return _error_page(request, AadstsError(code, message, status=exc.status))
    except Exception:
        log.exception("unexpected error on %s %s", request.method, request.path)
        return _error_page(
            request,
            AadstsError(
                50000, "There was an error issuing a token or an issue with our sign-in service.", 500
            ),
        )


def create_entra_app(mount: str) -> web.Application:
    """Entra's pages; `mount` is where the caller attaches the app (e.g. `/entra`)."""
    app = web.Application(middlewares=[entra_error_pages, csrf_middleware])
    app[PAGE_STATE] = _PageState(mount.rstrip("/"))
    app[EXEMPT] = frozenset({SSO_POST_ROUTE})
    setup_templates(app, TEMPLATES, static_prefix=f"{mount.rstrip('/')}/static")
    r = app.router
    r.add_get("/{tenant}/saml2", saml2, name="entra-saml2-redirect")
    r.add_post("/{tenant}/saml2", saml2, name=SSO_POST_ROUTE)
    for path in (
        "/{tenant}/federationmetadata/2007-06/federationmetadata.xml",
        "/{tenant}/FederationMetadata/2007-06/FederationMetadata.xml",
    ):
        r.add_get(path, federation_metadata)
    r.add_get("/{tenant}/login", login_page)
    r.add_post("/{tenant}/login", login_submit)
    r.add_get("/myapps", my_apps)
    r.add_post("/myapps/launch/{app}", launch)
    r.add_get("/logout", logout_page)
    r.add_post("/logout", logout)
    # The blades after the portal's own pages: their modules import portal.py's helpers.
    add_portal_routes(app)
    add_claims_routes(app)
    add_directory_routes(app)
    add_mapping_routes(app)
    add_on_demand_routes(app)
    return app
