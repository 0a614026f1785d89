"""`/_emulator/` endpoints. Reads have no side effects; every answer is JSON, errors included."""

from __future__ import annotations

import logging

from aiohttp import web

from emulator.control.entra_routes import add_entra_routes, entra_errors, json_body, only
from emulator.control.state_routes import add_state_routes
from emulator.galaxy.faults import METHODS, FaultError
from emulator.galaxy.pages import GALAXY_SSO
from emulator.galaxy.scim_routes import GALAXY_SCIM, GalaxyScim
from emulator.galaxy.sso import DirectUserError, SsoConfigError
from emulator.galaxy.tokens import public_view
from emulator.scenarios.products import GALAXY_SSO_KEYS

HEALTH_PATH = "/_emulator/health"
log = logging.getLogger(__name__)


def _galaxy(request: web.Request) -> GalaxyScim:
    return request.config_dict[GALAXY_SCIM]


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message, "status": status}, status=status)


class BadParameter(Exception):
    """A query parameter a handler cannot use; `json_errors` answers 400 with the message."""


def _int_param(request: web.Request, name: str, default: int | None, low: int = 0) -> int | None:
    raw = request.query.get(name)
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        raise BadParameter(f"{name} must be a whole number") from None
    if value < low:
        raise BadParameter(f"{name} must be at least {low}")
    return value


async def health(request: web.Request) -> web.Response:
    """Answers 200 once the store is loaded and the server listens: the readiness probe."""
    galaxy = _galaxy(request)
    return web.json_response(
        {
            "status": "ready",
            "scimProfile": galaxy.profile.name,
            "users": len(galaxy.directory.users.table),
            "groups": len(galaxy.directory.groups.table),
        }
    )


async def list_exchanges(request: web.Request) -> web.Response:
    """The newest SCIM exchanges, oldest first; `since=<seq>` polls for new ones."""
    method = request.query.get("method")
    if method is not None and method.upper() not in METHODS:
        raise BadParameter(f"method must be one of {', '.join(METHODS)}")
    entries = _galaxy(request).exchanges.query(
        limit=_int_param(request, "limit", 100, 1),
        method=method,
        status=_int_param(request, "status", None, 100),
        path_contains=request.query.get("path"),
        since=_int_param(request, "since", 0),
    )
    return web.json_response({"exchanges": entries, "count": len(entries)})


async def clear_exchanges(request: web.Request) -> web.Response:
    _galaxy(request).exchanges.clear()
    return web.Response(status=204)


async def list_tokens(request: web.Request) -> web.Response:
    return web.json_response({"tokens": _galaxy(request).tokens.list()})


async def create_token(request: web.Request) -> web.Response:
    """Generate a token; the answer is the only place its secret ever appears."""
    name = ""
    if request.body_exists:
        try:
            body = await request.json()
        except ValueError:
            return json_error(400, 'the body must be a JSON object such as {"name": "CI"}')
        if not isinstance(body, dict) or not isinstance(body.get("name", ""), str) or set(body) - {"name"}:
            return json_error(400, "the body must be a JSON object with an optional string 'name'")
        name = body.get("name", "")
    galaxy = _galaxy(request)
    new = galaxy.tokens.create(name)
    await galaxy.commit()
    return web.json_response({**public_view(new.record), "token": new.secret}, status=201)


async def revoke_token(request: web.Request) -> web.Response:
    galaxy = _galaxy(request)
    revoked = galaxy.tokens.revoke(request.match_info["id"])
    if revoked is None:
        return json_error(404, f"no token with id {request.match_info['id']!r}")
    await galaxy.commit()
    return web.json_response(revoked)


async def regenerate_token(request: web.Request) -> web.Response:
    """Revoke a live token and answer with its replacement (same name), shown this once."""
    galaxy = _galaxy(request)
    new = galaxy.tokens.regenerate(request.match_info["id"])
    if new is None:
        return json_error(404, f"no live token with id {request.match_info['id']!r}")
    await galaxy.commit()
    return web.json_response({**public_view(new.record), "token": new.secret}, status=201)


@web.middleware
async def json_errors(request: web.Request, handler) -> web.StreamResponse:
    """Unknown paths and wrong methods answer JSON too, never an HTML page."""
    try:
        return await handler(request)
    except BadParameter as exc:
        return json_error(400, str(exc))
    except web.HTTPException as exc:
        if exc.content_type == "application/json":
            raise
        return json_error(exc.status, exc.reason)
    except Exception:  # a bug: still JSON, and the traceback goes to the log
        log.exception("control API %s %s failed", request.method, request.path)
        return json_error(500, "internal error in the emulator (see its log)")


async def list_faults(request: web.Request) -> web.Response:
    return web.json_response({"faults": _galaxy(request).faults.list()})


async def add_fault(request: web.Request) -> web.Response:
    """Make the Galaxy receiver fail on purpose: {status, retryAfter, latencyMs, count |
    probability, method, path}; see emulator/galaxy/faults.py."""
    try:
        spec = await request.json()
    except ValueError:
        return json_error(400, "the body must be a JSON object describing the fault")
    try:
        rule = _galaxy(request).faults.add(spec)
    except FaultError as exc:
        return json_error(400, str(exc))
    return web.json_response(rule.to_json(), status=201)


async def clear_faults(request: web.Request) -> web.Response:
    _galaxy(request).faults.clear()
    return web.Response(status=204)


async def remove_fault(request: web.Request) -> web.Response:
    rule_id = request.match_info["id"]
    if not rule_id.isdigit() or not _galaxy(request).faults.remove(int(rule_id)):
        return json_error(404, f"no fault rule {rule_id!r}")
    return web.Response(status=204)


async def get_galaxy_sso(request: web.Request) -> web.Response:
    """Galaxy's SSO configuration, and Galaxy's own values to copy into Entra (`galaxy`)."""
    return web.json_response(request.config_dict[GALAXY_SSO].view())


async def put_galaxy_sso(request: web.Request) -> web.Response:
    """Configure Galaxy's SSO: {"metadataUrl"} (fetched now) or {"certificate", "loginUrl",
    "entraIdentifier"}, plus optional "allowSha1" and "allowUnsolicited" booleans."""
    try:
        body = await request.json()
    except ValueError:
        return json_error(400, "the body must be a JSON object")
    if not isinstance(body, dict):
        return json_error(400, "the body must be a JSON object")
    unknown = sorted(set(body) - set(GALAXY_SSO_KEYS))
    if unknown:
        return json_error(
            400, f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(GALAXY_SSO_KEYS)}"
        )
    sso = request.config_dict[GALAXY_SSO]
    try:
        await sso.configure(body)
    except SsoConfigError as exc:
        return json_error(400, str(exc))
    return web.json_response(sso.view())


async def delete_galaxy_sso(request: web.Request) -> web.Response:
    """Remove Galaxy's SSO configuration; direct logins keep working."""
    await request.config_dict[GALAXY_SSO].delete_configuration()
    return web.Response(status=204)


async def list_direct_users(request: web.Request) -> web.Response:
    """Galaxy's users with a direct (email and password) login, never their password hashes."""
    return web.json_response({"users": request.config_dict[GALAXY_SSO].direct_users.list()})


async def add_direct_user(request: web.Request) -> web.Response:
    """{"email", "password", "displayName"?, "roles"?}: a direct user, as Access > Users adds one."""
    body = only(await json_body(request), "email", "password", "displayName", "roles")
    email, password = body.get("email"), body.get("password")
    roles = body.get("roles", [])
    if not isinstance(email, str) or not isinstance(password, str):
        return json_error(400, 'give the user as {"email": ..., "password": ...}')
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        return json_error(400, "roles must be a list of role names")
    sso = request.config_dict[GALAXY_SSO]
    try:
        user = sso.direct_users.add(email, password, display_name=body.get("displayName"), roles=roles)
    except DirectUserError as exc:
        return json_error(409 if "already exists" in str(exc) else 400, str(exc))
    await _galaxy(request).commit()
    return web.json_response(user, status=201)


async def remove_direct_user(request: web.Request) -> web.Response:
    try:
        user = request.config_dict[GALAXY_SSO].direct_users.remove(request.match_info["email"])
    except DirectUserError as exc:
        return json_error(404 if "no direct user" in str(exc) else 409, str(exc))
    await _galaxy(request).commit()
    return web.json_response(user)


def create_control_app() -> web.Application:
    app = web.Application(middlewares=[json_errors, entra_errors])
    add_entra_routes(app.router)
    add_state_routes(app.router)
    app.router.add_get("/galaxy/faults", list_faults)
    app.router.add_post("/galaxy/faults", add_fault)
    app.router.add_delete("/galaxy/faults", clear_faults)
    app.router.add_delete("/galaxy/faults/{id}", remove_fault)
    app.router.add_get("/galaxy/sso", get_galaxy_sso)
    app.router.add_put("/galaxy/sso", put_galaxy_sso)
    app.router.add_delete("/galaxy/sso", delete_galaxy_sso)
    app.router.add_get("/galaxy/users", list_direct_users)
    app.router.add_post("/galaxy/users", add_direct_user)
    app.router.add_delete("/galaxy/users/{email}", remove_direct_user)
    app.router.add_get("/health", health)
    app.router.add_get("/exchanges", list_exchanges)
    app.router.add_delete("/exchanges", clear_exchanges)
    app.router.add_get("/tokens", list_tokens)
    app.router.add_post("/tokens", create_token)
    app.router.add_delete("/tokens/{id}", revoke_token)
    app.router.add_post("/tokens/{id}/regenerate", regenerate_token)
    return app
