"""`/_emulator/entra/...` and `/_emulator/clock`: drive the mock Entra tenant and its
provisioning engine from tests, scripts and the CLI. Every answer is JSON, errors included."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

from aiohttp import web

from emulator.clock import format_instant
from emulator.entra.app import ENTRA, Entra
from emulator.entra.directory import DirectoryError
from emulator.entra.provisioning.engine import ProvisioningError
from emulator.entra.provisioning.logs import to_csv, to_json
from emulator.entra.provisioning.settings import SettingsError

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


class BadRequest(Exception):
    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@web.middleware
async def entra_errors(request: web.Request, handler: Handler) -> web.StreamResponse:
    """Turn the directory's and the engine's refusals into JSON errors with their status."""
    try:
        return await handler(request)
    except (DirectoryError, ProvisioningError, BadRequest) as exc:
        return web.json_response({"error": str(exc), "status": exc.status}, status=exc.status)
    except (SettingsError, ValueError) as exc:
        return web.json_response({"error": str(exc), "status": 400}, status=400)


def _entra(request: web.Request) -> Entra:
    return request.config_dict[ENTRA]


async def json_body(request: web.Request, *, required: bool = True, hint: str = "") -> dict:
    """The request's JSON object; a missing, broken or non-object body is a clear 400 (`hint`
    shows an example of what to send)."""
    if not request.body_exists:
        if required:
            raise BadRequest(hint or "a JSON object body is required")
        return {}
    try:
        body = await request.json()
    except ValueError:
        raise BadRequest("the body is not valid JSON") from None
    if not isinstance(body, dict):
        raise BadRequest(f"the body must be a JSON object{': ' + hint if hint else ''}")
    return body


def only(body: dict, *allowed: str) -> dict:
    """Refuse fields a handler would silently ignore: a typo must not look like success."""
    unknown = sorted(set(body) - set(allowed))
    if unknown:
        raise BadRequest(f"unknown field(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}")
    return body


def _flag(request: web.Request, name: str) -> bool:
    """A true/false query parameter (absent: false)."""
    raw = request.query.get(name, "false").lower()
    if raw not in ("true", "false"):
        raise BadRequest(f"{name} must be true or false")
    return raw == "true"


async def _saved(request: web.Request, payload: object, status: int = 200) -> web.Response:
    """Answer once the change is in the journal, like every acknowledged write."""
    await request.config_dict[ENTRA].directory.users.store.commit()
    return web.json_response(payload, status=status)


# -- tenant, users, groups ----------------------------------------------------------------------


async def get_tenant(request: web.Request) -> web.Response:
    directory = _entra(request).directory
    return web.json_response({**directory.tenant, "changeSeq": directory.change_seq})


async def list_users(request: web.Request) -> web.Response:
    include = _flag(request, "includeDeleted")
    return web.json_response({"users": _entra(request).directory.list_users(include_deleted=include)})


async def create_user(request: web.Request) -> web.Response:
    body = await json_body(request)
    return await _saved(request, _entra(request).directory.create_user(body), 201)


def _user_id(request: web.Request) -> str:
    found = _entra(request).directory.find_user(request.match_info["user"])
    if found is None:
        raise BadRequest(
            f"no user {request.match_info['user']!r} (give an objectId or userPrincipalName)", 404
        )
    return found["id"]


async def get_user(request: web.Request) -> web.Response:
    return web.json_response(_entra(request).directory.user(_user_id(request)))


async def update_user(request: web.Request) -> web.Response:
    body = await json_body(request)
    return await _saved(request, _entra(request).directory.update_user(_user_id(request), body))


async def delete_user(request: web.Request) -> web.Response:
    """Soft delete (restorable for 30 days), or `?permanent=true` to purge now."""
    directory = _entra(request).directory
    user_id = _user_id(request)
    if _flag(request, "permanent"):
        directory.purge_user(user_id)
        return await _saved(request, {"id": user_id, "purged": True})
    return await _saved(request, directory.delete_user(user_id))


async def restore_user(request: web.Request) -> web.Response:
    return await _saved(request, _entra(request).directory.restore_user(_user_id(request)))


async def list_groups(request: web.Request) -> web.Response:
    return web.json_response({"groups": _entra(request).directory.list_groups()})


async def create_group(request: web.Request) -> web.Response:
    body = await json_body(request)
    members = body.pop("members", [])
    if not isinstance(members, list) or not all(isinstance(m, str) for m in members):
        raise BadRequest("members must be a list of objectIds")
    return await _saved(request, _entra(request).directory.create_group(body, members), 201)


def _group_id(request: web.Request) -> str:
    found = _entra(request).directory.find_group(request.match_info["group"])
    if found is None:
        raise BadRequest(f"no group {request.match_info['group']!r} (give an objectId or displayName)", 404)
    return found["id"]


async def get_group(request: web.Request) -> web.Response:
    return web.json_response(_entra(request).directory.group(_group_id(request)))


async def update_group(request: web.Request) -> web.Response:
    body = await json_body(request)
    return await _saved(request, _entra(request).directory.update_group(_group_id(request), body))


async def delete_group(request: web.Request) -> web.Response:
    group_id = _group_id(request)
    _entra(request).directory.delete_group(group_id)
    return await _saved(request, {"id": group_id, "deleted": True})


def _principal(request: web.Request, key: str) -> str:
    directory = _entra(request).directory
    found = directory.find_user(key) or directory.find_group(key)
    if found is None:
        raise BadRequest(f"no user or group {key!r}", 404)
    return found["id"]


async def add_member(request: web.Request) -> web.Response:
    body = only(await json_body(request), "id")
    member = body.get("id")
    if not isinstance(member, str):
        raise BadRequest('give the member as {"id": objectId, userPrincipalName or group name}')
    group = _entra(request).directory.add_member(_group_id(request), _principal(request, member))
    return await _saved(request, group)


async def remove_member(request: web.Request) -> web.Response:
    group = _entra(request).directory.remove_member(
        _group_id(request), _principal(request, request.match_info["member"])
    )
    return await _saved(request, group)


# -- apps and assignments -----------------------------------------------------------------------


async def list_apps(request: web.Request) -> web.Response:
    return web.json_response({"apps": _entra(request).directory.list_apps()})


def _app_id(request: web.Request) -> str:
    return _entra(request).directory.app(request.match_info["app"])["id"]


async def get_app(request: web.Request) -> web.Response:
    return web.json_response(_entra(request).directory.app(request.match_info["app"]))


async def list_assignments(request: web.Request) -> web.Response:
    return web.json_response({"assignments": _entra(request).directory.assignments_of(_app_id(request))})


async def assign(request: web.Request) -> web.Response:
    body = only(await json_body(request), "principalId", "id", "role")
    principal = body.get("principalId") or body.get("id")
    if not isinstance(principal, str):
        raise BadRequest(
            'give the user or group as {"principalId": objectId, userPrincipalName or group name}'
        )
    role = body.get("role")
    if role is not None and not isinstance(role, str):
        raise BadRequest("role must be the value of one of the app's roles")
    doc = _entra(request).directory.assign(_app_id(request), _principal(request, principal), role)
    return await _saved(request, doc, 201)


async def add_app_role(request: web.Request) -> web.Response:
    """Declare an app role: {"value": "DataAdmin", "displayName": "Data admin"}."""
    body = only(await json_body(request), "value", "displayName")
    value, name = body.get("value"), body.get("displayName")
    if not isinstance(value, str) or (name is not None and not isinstance(name, str)):
        raise BadRequest('give the role as {"value": "DataAdmin", "displayName": "Data admin"}')
    role = _entra(request).directory.add_app_role(_app_id(request), value, name)
    return await _saved(request, role, 201)


async def unassign(request: web.Request) -> web.Response:
    doc = _entra(request).directory.unassign(
        _app_id(request), _principal(request, request.match_info["principal"])
    )
    return await _saved(request, doc)


# -- provisioning -------------------------------------------------------------------------------


async def get_provisioning(request: web.Request) -> web.Response:
    return web.json_response(_entra(request).engine.public_settings(_app_id(request)))


async def configure_provisioning(request: web.Request) -> web.Response:
    body = await json_body(request)
    return await _saved(request, _entra(request).engine.configure(_app_id(request), body))


async def test_connection(request: web.Request) -> web.Response:
    """Test Connection with the saved values, or with `tenantUrl`/`secretToken` as typed."""
    body = only(await json_body(request, required=False), "tenantUrl", "secretToken")
    for key in ("tenantUrl", "secretToken"):
        if key in body and body[key] is not None and not isinstance(body[key], str):
            raise BadRequest(f"{key} must be a string")
    result = await _entra(request).engine.test_connection(
        _app_id(request), body.get("tenantUrl"), body.get("secretToken")
    )
    return web.json_response(result)


async def provisioning_status(request: web.Request) -> web.Response:
    return web.json_response(_entra(request).engine.status(_app_id(request)))


def _lifecycle(action: str) -> Handler:
    async def handler(request: web.Request) -> web.Response:
        engine = _entra(request).engine
        return await _saved(request, getattr(engine, action)(_app_id(request)))

    return handler


async def run_cycle(request: web.Request) -> web.Response:
    """Run a cycle now and answer with its summary when it has finished."""
    summary = await _entra(request).engine.run_cycle(_app_id(request))
    return await _saved(request, summary)


async def on_demand(request: web.Request) -> web.Response:
    body = only(await json_body(request), "objectId", "id")
    object_id = body.get("objectId") or body.get("id")
    if not isinstance(object_id, str):
        raise BadRequest('give the user or group as {"objectId": objectId, userPrincipalName or group name}')
    result = await _entra(request).engine.provision_on_demand(
        _app_id(request), _principal(request, object_id)
    )
    return await _saved(request, result)


async def provisioning_logs(request: web.Request) -> web.Response:
    q = request.query
    limit = q.get("limit", "1000")
    if not limit.isdigit() or int(limit) < 1:
        raise BadRequest("limit must be a whole number of at least 1")
    entries = _entra(request).logs.query(
        app_id=_app_id(request),
        since=q.get("since"),
        until=q.get("until"),
        status=q.get("status"),
        action=q.get("action"),
        identity=q.get("identity"),
        cycle_id=q.get("cycleId"),
        limit=int(limit),
    )
    fmt = q.get("format", "json")
    if fmt == "csv":
        return web.Response(
            text=to_csv(entries),
            content_type="text/csv",
            headers={"Content-Disposition": 'attachment; filename="provisioning-logs.csv"'},
        )
    if fmt == "download":
        return web.Response(
            text=to_json(entries),
            content_type="application/json",
            headers={"Content-Disposition": 'attachment; filename="provisioning-logs.json"'},
        )
    if fmt != "json":
        raise BadRequest("format must be json, csv or download")
    return web.json_response({"entries": entries, "count": len(entries)})


# -- clock --------------------------------------------------------------------------------------


async def get_clock(request: web.Request) -> web.Response:
    clock = _entra(request).engine.clock
    return web.json_response({"now": format_instant(clock.now()), "manual": clock.manual})


async def advance_clock(request: web.Request) -> web.Response:
    """Move the emulator's clock forward; due cycles and expired soft deletes follow."""
    body = only(await json_body(request), "seconds", "wait")
    seconds = body.get("seconds")
    if (
        isinstance(seconds, bool)
        or not isinstance(seconds, int | float)
        or not 0 <= seconds <= 10 * 365 * 86400
    ):
        raise BadRequest('give {"seconds": N} with N from 0 to ten years')
    wait = body.get("wait", True)
    if not isinstance(wait, bool):
        raise BadRequest("wait must be true (answer once the due cycles have run) or false")
    entra = _entra(request)
    entra.engine.clock.advance(timedelta(seconds=seconds))
    entra.directory.purge_expired()
    if wait:
        await entra.scheduler.settle()
    else:
        entra.scheduler.wake()
    return await _saved(request, {"now": format_instant(entra.engine.clock.now())})


# -- SAML single sign-on (Entra's IdP) ----------------------------------------------------------


def _saml_view(entra: Entra, app: dict) -> dict:
    """An app's Single sign-on blade: its settings, plus what Entra shows to copy into the SP
    (Login URL, Microsoft Entra Identifier, Logout URL, App Federation Metadata Url) and the
    active signing certificate."""
    saml = entra.saml
    certificate = saml.keys.certificate
    return {
        "appObjectId": app["id"],
        "appId": app["appId"],
        "displayName": app["displayName"],
        **saml.settings.get(app["id"]).to_json(),
        "entra": {
            "loginUrl": saml.sso_url(),
            "logoutUrl": saml.sso_url(),
            "identifier": saml.issuer,
            "appFederationMetadataUrl": saml.metadata_url(None, app["appId"]),
            "certificate": {
                "status": "Active",
                "thumbprint": certificate.thumbprint,
                "subject": certificate.subject,
                "notBefore": format_instant(certificate.not_before),
                "expiresOn": format_instant(certificate.not_after),
            },
        },
    }


async def get_saml(request: web.Request) -> web.Response:
    entra = _entra(request)
    return web.json_response(_saml_view(entra, entra.directory.app(request.match_info["app"])))


# What GET shows but PATCH ignores, so a GET body can be edited and sent back.
_SAML_READ_ONLY = frozenset({"appObjectId", "appId", "displayName", "entra"})


async def update_saml(request: web.Request) -> web.Response:
    """Change some SAML settings (a JSON merge of the fields of `GET`); 400 names a bad field."""
    body = await json_body(request)
    entra = _entra(request)
    app = entra.directory.app(request.match_info["app"])
    entra.saml.settings.update(app["id"], {k: v for k, v in body.items() if k not in _SAML_READ_ONLY})
    return await _saved(request, _saml_view(entra, app))


async def rotate_saml_certificate(request: web.Request) -> web.Response:
    """A new signing key and certificate for the tenant; metadata lists the old one beside it."""
    entra = _entra(request)
    app = entra.directory.app(request.match_info["app"])
    entra.saml.rotate_certificate()
    return web.json_response(_saml_view(entra, app))


async def get_saml_certificate(request: web.Request) -> web.Response:
    """The active signing certificate as the portal offers it: `pem` ("Certificate (Base64)",
    a .cer with BEGIN/END lines, the default), `base64` (one line, as metadata carries it) or
    `raw` (DER)."""
    entra = _entra(request)
    entra.directory.app(request.match_info["app"])
    certificate = entra.saml.keys.certificate
    fmt = request.query.get("format", "pem")
    if fmt == "pem":
        return web.Response(text=certificate.pem, content_type="application/x-pem-file")
    if fmt == "base64":
        return web.Response(text=certificate.base64, content_type="text/plain")
    if fmt == "raw":
        return web.Response(body=certificate.der, content_type="application/pkix-cert")
    raise BadRequest("format must be pem, base64 or raw")


def add_entra_routes(router: web.UrlDispatcher) -> None:
    r = router
    r.add_get("/clock", get_clock)
    r.add_post("/clock/advance", advance_clock)
    r.add_get("/entra/tenant", get_tenant)
    r.add_get("/entra/users", list_users)
    r.add_post("/entra/users", create_user)
    r.add_get("/entra/users/{user}", get_user)
    r.add_patch("/entra/users/{user}", update_user)
    r.add_delete("/entra/users/{user}", delete_user)
    r.add_post("/entra/users/{user}/restore", restore_user)
    r.add_get("/entra/groups", list_groups)
    r.add_post("/entra/groups", create_group)
    r.add_get("/entra/groups/{group}", get_group)
    r.add_patch("/entra/groups/{group}", update_group)
    r.add_delete("/entra/groups/{group}", delete_group)
    r.add_post("/entra/groups/{group}/members", add_member)
    r.add_delete("/entra/groups/{group}/members/{member}", remove_member)
    r.add_get("/entra/apps", list_apps)
    r.add_get("/entra/apps/{app}", get_app)
    r.add_get("/entra/apps/{app}/assignments", list_assignments)
    r.add_post("/entra/apps/{app}/assignments", assign)
    r.add_delete("/entra/apps/{app}/assignments/{principal}", unassign)
    r.add_post("/entra/apps/{app}/roles", add_app_role)
    base = "/entra/apps/{app}/provisioning"
    r.add_get(base, get_provisioning)
    r.add_patch(base, configure_provisioning)
    r.add_post(base + "/test", test_connection)
    r.add_get(base + "/status", provisioning_status)
    for action in ("start", "stop", "restart", "allow_deletes"):
        r.add_post(f"{base}/{action.replace('_', '-')}", _lifecycle(action))
    r.add_post(base + "/run", run_cycle)
    r.add_post(base + "/on-demand", on_demand)
    r.add_get(base + "/logs", provisioning_logs)
    saml = "/entra/apps/{app}/saml"
    r.add_get(saml, get_saml)
    r.add_patch(saml, update_saml)
    r.add_post(saml + "/rotate-certificate", rotate_saml_certificate)
    r.add_get(saml + "/certificate", get_saml_certificate)
