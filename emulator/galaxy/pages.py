"""Galaxy's pages: sign-in (direct and Azure SSO), the SAML endpoints, the landing page, logout,
and Access → Single sign-on. The URL table, the handlers, and the glue to the shared web layer.

URLs, under Galaxy's mount (`/galaxy`):

    GET  /login           the login page: an Azure button when SSO is configured, and the
                          direct email/password form
    POST /login           direct sign-in (CSRF-protected)
    GET  /login/azure     SP-initiated SSO: an AuthnRequest by HTTP-Redirect to the Login URL
    POST /saml/acs        the Assertion Consumer Service (CSRF-exempt: the IdP's page posts here)
    GET  /saml/metadata   Galaxy's SP metadata
    POST /logout          sign out (CSRF-protected)
    GET  /                the signed-in landing page (JSON with Accept: application/json)
    GET  /access/sso      Galaxy's values for Entra and the SSO configuration (account admins)
    POST /access/sso      save it; POST /access/sso/delete removes it

Every refused sign-in is a 403 page naming the reason, with the reason's code in
`data-refusal` (and JSON for a client that asks for it), never a 500.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from pathlib import Path
from urllib.parse import urlencode

from aiohttp import web

from emulator.galaxy.sso.direct_users import ACCOUNTADMIN_ROLE
from emulator.galaxy.sso.metadata import SsoConfigError
from emulator.galaxy.sso.refusals import LoginRefused, RefusalCode
from emulator.galaxy.sso.service import GalaxySso, SignedIn
from emulator.web.csrf import EXEMPT, csrf_middleware
from emulator.web.sessions import Session, SessionStore
from emulator.web.templates import page, setup_templates

log = logging.getLogger(__name__)

TEMPLATES = Path(__file__).parent / "templates"
SESSION_COOKIE = "galaxy_session"
ACS_ROUTE = "galaxy-saml-acs"

GALAXY_SSO = web.AppKey("galaxy_sso", GalaxySso)
GALAXY_SESSIONS = web.AppKey("galaxy_sessions", SessionStore)
GALAXY_PAGES_MOUNT = web.AppKey("galaxy_pages_mount", str)


def install_sso(app: web.Application, sso: GalaxySso) -> None:
    """Hang the sign-in service and Galaxy's browser sessions (HttpOnly, SameSite=Lax, scoped to
    Galaxy's mount) on the root app; `create_app`'s start-up calls this."""
    app[GALAXY_SSO] = sso
    app[GALAXY_SESSIONS] = SessionStore(sso.clock, SESSION_COOKIE, sso.mount)


def add_pages(app: web.Application, mount: str) -> None:
    """Add the pages to Galaxy's sub-application, which the caller mounts at `mount`."""
    app[GALAXY_PAGES_MOUNT] = mount
    app[EXEMPT] = frozenset({ACS_ROUTE})
    setup_templates(app, TEMPLATES, static_prefix=f"{mount}/static")
    app.middlewares.append(_pages_only(app, csrf_middleware))
    r = app.router
    r.add_get("/", home, name="galaxy-home")
    r.add_get("/login", login_page, name="galaxy-login")
    r.add_post("/login", login_submit, name="galaxy-login-submit")
    r.add_get("/login/azure", login_azure, name="galaxy-login-azure")
    r.add_post("/saml/acs", assertion_consumer_service, name=ACS_ROUTE)
    r.add_get("/saml/metadata", sp_metadata, name="galaxy-saml-metadata")
    r.add_post("/logout", logout, name="galaxy-logout")
    r.add_get("/access/sso", sso_page, name="galaxy-sso")
    r.add_post("/access/sso", sso_save, name="galaxy-sso-save")
    r.add_post("/access/sso/delete", sso_delete, name="galaxy-sso-delete")
    from emulator.galaxy.console import add_console  # the console reads this module's helpers

    add_console(app)


Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def _pages_only(owner: web.Application, middleware: Callable[[web.Request, Handler], Awaitable]) -> Callable:
    """Run `middleware` for the pages' own routes only: a parent app's middleware also wraps its
    sub-apps, and Galaxy's SCIM API (a sub-app, authenticated by bearer token, never by a cookie)
    must not be asked for a form's CSRF token."""

    @web.middleware
    async def scoped(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.match_info.apps and request.match_info.apps[-1] is owner:
            return await middleware(request, handler)
        return await handler(request)

    return scoped


# -- helpers ---------------------------------------------------------------------------------------


def _sso(request: web.Request) -> GalaxySso:
    return request.config_dict[GALAXY_SSO]


def _sessions(request: web.Request) -> SessionStore:
    return request.config_dict[GALAXY_SESSIONS]


def _mount(request: web.Request) -> str:
    return request.config_dict[GALAXY_PAGES_MOUNT]


def _wants_json(request: web.Request) -> bool:
    accept = request.headers.get("Accept", "")
    return "application/json" in accept and "text/html" not in accept


def _field(form, name: str) -> str | None:
    value = form.get(name)
    return value if isinstance(value, str) else None


def _sign_in(request: web.Request, signed_in: SignedIn) -> web.Response:
    """Start a fresh session (a new id on every sign-in) and go where the sign-in was headed."""
    response = _redirect(signed_in.target)
    sessions = _sessions(request)
    sessions.end(request, response)
    sessions.start(response, signed_in.to_session())
    return response


def _redirect(location: str) -> web.Response:
    """A 303 that carries cookies (a session started or ended on the way)."""
    return web.Response(status=303, headers={"Location": location})


def refused(request: web.Request, refusal: LoginRefused, status: int = 403) -> web.Response:
    """The page (or JSON) that names why a sign-in was refused."""
    if _wants_json(request):
        return web.json_response(
            {"error": refusal.code.value, "title": refusal.title, "reason": refusal.reason}, status=status
        )
    response = page(
        request,
        "refused.html",
        {
            "title": refusal.title,
            "reason": refusal.reason,
            "code": refusal.code.value,
            "mount": _mount(request),
        },
        status=status,
    )
    response.headers["X-Galaxy-Refusal"] = refusal.code.value
    return response


def _login_redirect(request: web.Request) -> web.HTTPSeeOther:
    return web.HTTPSeeOther(f"{_mount(request)}/login?{urlencode({'next': request.path_qs})}")


def _current(request: web.Request) -> Session | None:
    return _sessions(request).get(request)


# -- sign-in ---------------------------------------------------------------------------------------


async def login_page(request: web.Request) -> web.Response:
    return _login(request, email="", error=None, status=200)


def _login(request: web.Request, *, email: str, error: str | None, status: int) -> web.Response:
    sso = _sso(request)
    session = _current(request)
    return page(
        request,
        "login.html",
        {
            "mount": _mount(request),
            "sso_configured": sso.configuration is not None,
            "next": sso.safe_target(request.query.get("next")) if "next" in request.query else "",
            "email": email,
            "error": error,
            "signed_in": session.data if session else None,
        },
        status=status,
    )


async def login_submit(request: web.Request) -> web.Response:
    """Direct email/password sign-in; it keeps working whatever SSO does."""
    form = await request.post()
    email = (_field(form, "email") or "").strip()
    sso = _sso(request)
    signed_in = sso.sign_in_directly(email, _field(form, "password") or "", _field(form, "next"))
    if signed_in is None:
        return _login(request, email=email, error="Incorrect email or password.", status=401)
    return _sign_in(request, signed_in)


async def login_azure(request: web.Request) -> web.Response:
    """SP-initiated SSO: redirect the browser to the IdP's Login URL with an AuthnRequest."""
    try:
        location = _sso(request).start_sign_in(request.query.get("next"))
    except LoginRefused as refusal:
        return refused(request, refusal, status=409)
    raise web.HTTPFound(location)


async def assertion_consumer_service(request: web.Request) -> web.Response:
    """Where the IdP's auto-posting page delivers the SAMLResponse (and RelayState)."""
    sso = _sso(request)
    try:
        form = await request.post()
        signed_in = sso.accept(_field(form, "SAMLResponse"), _field(form, "RelayState"))
    except LoginRefused as refusal:
        return refused(request, refusal)
    except web.HTTPException:
        raise
    except Exception:
        # Untrusted input went through a third-party library: whatever slipped past the mapping
        # is still a refusal, never a 500.
        log.exception("unexpected error while reading a SAML response")
        return refused(
            request, LoginRefused(RefusalCode.MALFORMED, "the response could not be read as a SAML response")
        )
    return _sign_in(request, signed_in)


async def sp_metadata(request: web.Request) -> web.Response:
    return web.Response(body=_sso(request).metadata_document(), content_type="application/samlmetadata+xml")


async def logout(request: web.Request) -> web.Response:
    response = _redirect(f"{_mount(request)}/login")
    _sessions(request).end(request, response)
    return response


async def home(request: web.Request) -> web.Response:
    """The landing page: who is signed in, and how."""
    session = _current(request)
    if session is None:
        if _wants_json(request):
            return web.json_response({"signedIn": False}, status=401)
        raise _login_redirect(request)
    if _wants_json(request):
        return web.json_response({"signedIn": True, **session.data})
    return page(
        request,
        "home.html",
        {
            "mount": _mount(request),
            "user": session.data,
            "is_admin": ACCOUNTADMIN_ROLE in session.data.get("roles", ()),
        },
    )


# -- Access → Single sign-on -----------------------------------------------------------------------


def _admin(request: web.Request) -> Session:
    session = _current(request)
    if session is None:
        raise _login_redirect(request)
    if ACCOUNTADMIN_ROLE not in session.data.get("roles", ()):
        raise web.HTTPForbidden(text="Only an account admin can change single sign-on.")
    return session


async def sso_page(request: web.Request) -> web.Response:
    _admin(request)
    view = _sso(request).view()
    if _wants_json(request):
        return web.json_response(view)
    return _sso_page(request, view, error=None, status=200)


def _sso_page(request: web.Request, view: dict, *, error: str | None, status: int) -> web.Response:
    session = _current(request)
    context = {"mount": _mount(request), "view": view, "error": error, "section": "sso"}
    return page(request, "sso.html", {**context, "user": session.data if session else {}}, status=status)


async def sso_save(request: web.Request) -> web.Response:
    _admin(request)
    form = await request.post()
    body: dict = {"allowSha1": "allowSha1" in form, "allowUnsolicited": "allowUnsolicited" in form}
    if _field(form, "source") == "metadataUrl":
        body["metadataUrl"] = _field(form, "metadataUrl") or ""
    else:
        for name in ("certificate", "loginUrl", "entraIdentifier"):
            body[name] = _field(form, name) or ""
    sso = _sso(request)
    try:
        await sso.configure(body)
    except SsoConfigError as exc:
        return _sso_page(request, sso.view(), error=str(exc), status=400)
    raise web.HTTPSeeOther(f"{_mount(request)}/access/sso")


async def sso_delete(request: web.Request) -> web.Response:
    _admin(request)
    await _sso(request).delete_configuration()
    raise web.HTTPSeeOther(f"{_mount(request)}/access/sso")
