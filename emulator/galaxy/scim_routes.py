"""Galaxy's SCIM 2.0 receiver over HTTP (RFC 7644): the URL table, the handlers, and the
middleware that turns every failure into a SCIM Error body and records every exchange."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable

import orjson
from aiohttp import web

from emulator.clock import Clock
from emulator.galaxy.directory import GalaxyDirectory
from emulator.galaxy.exchanges import ExchangeLog
from emulator.galaxy.faults import FaultRule, Faults
from emulator.galaxy.tokens import TokenRegistry
from emulator.scim import errors
from emulator.scim.discovery import (
    resource_type_document,
    resource_types_list,
    schema_document,
    schemas_list,
    service_provider_config,
)
from emulator.scim.errors import ScimError
from emulator.scim.etags import etag_matches
from emulator.scim.projection import list_response, parse_paging
from emulator.scim.schema import SEARCH_REQUEST, Profile

log = logging.getLogger(__name__)

SCIM_JSON = "application/scim+json"
ACCEPTED_MEDIA = ("application/scim+json", "application/json")
WRITES = frozenset({"POST", "PUT", "PATCH", "DELETE"})
DISCOVERY = ("ServiceProviderConfig", "ResourceTypes", "Schemas")


class GalaxyScim:
    """What the receiver's handlers share; hung on the app under `GALAXY_SCIM`."""

    def __init__(
        self,
        directory: GalaxyDirectory,
        tokens: TokenRegistry,
        exchanges: ExchangeLog,
        clock: Clock,
        commit: Callable[[], Awaitable[None]],
        *,
        max_results: int,
        max_body_bytes: int,
    ) -> None:
        self.directory = directory
        self.commit = commit
        self.tokens = tokens
        self.exchanges = exchanges
        self.clock = clock
        self.max_results = max_results
        self.max_body_bytes = max_body_bytes
        self.faults = Faults()

    @property
    def profile(self) -> Profile:
        return self.directory.profile


GALAXY_SCIM = web.AppKey("galaxy_scim", GalaxyScim)
SCIM_PREFIX = web.AppKey("scim_prefix", str)


def scim_response(body: dict | None, status: int = 200, headers: dict | None = None) -> web.Response:
    if body is None:
        return web.Response(status=status, headers=headers)
    return web.Response(body=orjson.dumps(body), status=status, content_type=SCIM_JSON, headers=headers)


def error_response(exc: ScimError) -> web.Response:
    headers = {"WWW-Authenticate": 'Bearer realm="Starburst Galaxy SCIM"'} if exc.status == 401 else None
    return scim_response(exc.to_json(), exc.status, headers)


def _service(request: web.Request) -> GalaxyScim:
    return request.config_dict[GALAXY_SCIM]


def _base_url(request: web.Request) -> str:
    return f"{request.scheme}://{request.host}{request.app[SCIM_PREFIX]}"


# -- middleware ----------------------------------------------------------------------------------


@web.middleware
async def scim_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Record the exchange, check the bearer token, and render every failure as SCIM JSON."""
    service = _service(request)
    started = time.perf_counter()
    try:
        body = await request.read() if request.body_exists else b""
    except web.HTTPRequestEntityTooLarge:
        body = b""
        response: web.StreamResponse = error_response(
            ScimError(
                413, f"request body is larger than the limit of {service.max_body_bytes} bytes", "tooLarge"
            )
        )
    else:
        rule = service.faults.match(request.method, request.path[len(request.app[SCIM_PREFIX]) :])
        response = await _injected(rule) if rule else None
        if response is None:
            response = await _guarded(request, handler, service)
    service.exchanges.record(
        {
            "time": service.clock.timestamp(),
            "method": request.method,
            "path": request.path_qs,
            "status": response.status,
            "durationMs": round((time.perf_counter() - started) * 1000, 3),
            "request": {"contentType": request.headers.get("Content-Type")},
            "response": {"contentType": response.headers.get("Content-Type")},
        },
        body,
        getattr(response, "body", None),
    )
    return response


async def _injected(rule: FaultRule) -> web.Response | None:
    """Apply a fault rule set through the control API: wait, then answer its status (or, for a
    latency-only rule, let the request through)."""
    if rule.latency_ms:
        await asyncio.sleep(rule.latency_ms / 1000)
    if rule.status is None:
        return None
    headers = {"Retry-After": f"{rule.retry_after:g}"} if rule.retry_after is not None else {}
    exc = ScimError(rule.status, f"fault injected by the emulator (rule {rule.id}): answering {rule.status}")
    response = error_response(exc)
    response.headers.update(headers)
    return response


async def _guarded(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]], service: GalaxyScim
) -> web.StreamResponse:
    try:
        if request.match_info.http_exception is not None:
            raise request.match_info.http_exception
        if (request.match_info.route.name or "").split(".")[0] not in DISCOVERY:
            _authenticate(request, service)
        response = await handler(request)
        if request.method in WRITES:
            await service.commit()  # acknowledged only once the journal has it
        return response
    except ScimError as exc:
        return error_response(exc)
    except web.HTTPMethodNotAllowed as exc:
        return error_response(
            ScimError(
                405,
                f"{request.method} is not allowed on {request.path}; "
                f"use {', '.join(sorted(exc.allowed_methods))}",
            )
        )
    except web.HTTPNotFound:
        return error_response(errors.not_found(f"no SCIM endpoint at {request.path}"))
    except Exception:  # a bug must still answer in SCIM's format, and never with a traceback
        log.exception("unexpected error answering %s %s", request.method, request.path)
        return error_response(ScimError(500, "the emulator failed to process this request; see its log"))


def _authenticate(request: web.Request, service: GalaxyScim) -> None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if not header:
        raise ScimError(401, "missing access token: send 'Authorization: Bearer <Galaxy access token>'")
    if scheme.lower() != "bearer" or not token.strip():
        raise ScimError(401, "the Authorization header must be 'Bearer <Galaxy access token>'")
    if not service.tokens.check(token.strip()):
        raise ScimError(
            401, "the access token is not valid: it was revoked, mistyped, or belongs to another data folder"
        )


async def _json_body(request: web.Request) -> object:
    media = request.content_type
    if media not in ACCEPTED_MEDIA:
        raise ScimError(
            415, f"unsupported media type {media!r}: send the body as 'Content-Type: application/scim+json'"
        )
    raw = await request.read()
    if not raw:
        raise errors.invalid_syntax("the request body is empty; a JSON object is required")
    try:
        return orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise errors.invalid_syntax(f"the request body is not valid JSON: {exc}") from None


# -- discovery -----------------------------------------------------------------------------------


async def get_service_provider_config(request: web.Request) -> web.Response:
    service = _service(request)
    return scim_response(
        service_provider_config(
            service.profile,
            max_results=service.max_results,
            max_payload=service.max_body_bytes,
            base_url=_base_url(request),
        )
    )


async def get_resource_types(request: web.Request) -> web.Response:
    profile, base = _service(request).profile, _base_url(request)
    name = request.match_info.get("name")
    if name is None:
        return scim_response(resource_types_list(profile, base))
    found = resource_type_document(profile, name, base)
    if found is None:
        raise errors.not_found(f"no resource type {name!r}; this service has User and Group")
    return scim_response(found)


async def get_schemas(request: web.Request) -> web.Response:
    profile, base = _service(request).profile, _base_url(request)
    urn = request.match_info.get("urn")
    if urn is None:
        return scim_response(schemas_list(profile, base))
    found = schema_document(profile, urn, base)
    if found is None:
        raise errors.not_found(f"no schema {urn!r} in the {profile.name} profile")
    return scim_response(found)


# -- resources -----------------------------------------------------------------------------------


def _kind(request: web.Request) -> str:
    return "User" if request.match_info["type"] == "Users" else "Group"


def _renderer(request: web.Request, kind: str, params=None) -> Callable[[dict, str], dict]:
    params = request.query if params is None else params
    return _service(request).directory.projector(
        kind, params.get("attributes"), params.get("excludedAttributes")
    )


def _resource_response(
    request: web.Request, render: Callable[[dict, str], dict], resource: dict, status: int = 200
) -> web.Response:
    base = _base_url(request)
    body = render(resource, base)
    headers = {"ETag": resource["meta"]["version"]}
    if status == 201:
        headers["Location"] = f"{base}/{request.match_info['type']}/{resource['id']}"
    return scim_response(body, status, headers)


async def create_resource(request: web.Request) -> web.Response:
    kind = _kind(request)
    body = await _json_body(request)
    render = _renderer(request, kind)  # a bad `attributes` is rejected before anything is stored
    resource = _service(request).directory.create(kind, body)
    return _resource_response(request, render, resource, 201)


async def get_resource(request: web.Request) -> web.Response:
    kind = _kind(request)
    resource = _service(request).directory.get(kind, request.match_info["id"])
    if_none_match = request.headers.get("If-None-Match")
    if if_none_match and etag_matches(resource["meta"]["version"], if_none_match):
        return web.Response(status=304, headers={"ETag": resource["meta"]["version"]})
    return _resource_response(request, _renderer(request, kind), resource)


async def _modify(request: web.Request, verb: str) -> web.Response:
    """PUT or PATCH one resource; both answer 200 with the resource (RFC 7644 §3.5)."""
    kind = _kind(request)
    body = await _json_body(request)
    render = _renderer(request, kind)
    directory = _service(request).directory
    change = directory.replace if verb == "PUT" else directory.patch
    resource = change(kind, request.match_info["id"], body, request.headers.get("If-Match"))
    return _resource_response(request, render, resource)


async def replace_resource(request: web.Request) -> web.Response:
    return await _modify(request, "PUT")


async def patch_resource(request: web.Request) -> web.Response:
    return await _modify(request, "PATCH")


async def delete_resource(request: web.Request) -> web.Response:
    _service(request).directory.delete(
        _kind(request), request.match_info["id"], request.headers.get("If-Match")
    )
    return web.Response(status=204)


def _search(request: web.Request, kinds: list[str], params: dict) -> web.Response:
    """A list (GET) or a SearchRequest (POST .search); `params` holds strings from a query or
    JSON values from a body, so every parameter's type is checked here or by the library."""
    service = _service(request)
    directory = service.directory
    start, count = parse_paging(
        params.get("startIndex"), params.get("count"), max_results=service.max_results
    )
    order = params.get("sortOrder")
    if order is None or order == "":
        order = "ascending"
    if not isinstance(order, str) or order.lower() not in ("ascending", "descending"):
        shown = repr(order) if len(repr(order)) <= 60 else repr(order)[:57] + "..."
        raise errors.invalid_value(f"sortOrder must be 'ascending' or 'descending', not {shown}")
    descending = order.lower() == "descending"
    filter_text = params.get("filter")
    if filter_text is not None and not isinstance(filter_text, str):
        raise errors.invalid_filter("filter must be a string holding a filter expression (RFC 7644 §3.4.2.2)")
    attributes, excluded = params.get("attributes"), params.get("excludedAttributes")
    base = _base_url(request)
    if len(kinds) == 1:
        render = directory.projector(kinds[0], attributes, excluded)
        page = directory.search(kinds[0], filter_text, params.get("sortBy"), descending, start, count)
        return scim_response(list_response([render(r, base) for r in page.resources], page.total, start))
    renders = {kind: directory.projector(kind, attributes, excluded, known_only=True) for kind in kinds}
    found, total = directory.search_across(kinds, filter_text, params.get("sortBy"), descending, start, count)
    return scim_response(list_response([renders[kind](r, base) for kind, r in found], total, start))


async def list_resources(request: web.Request) -> web.Response:
    return _search(request, [_kind(request)], dict(request.query))


async def search_resources(request: web.Request) -> web.Response:
    """POST /.search (RFC 7644 §3.4.3), per resource type or across both at the root."""
    body = await _json_body(request)
    if not isinstance(body, dict):
        raise errors.invalid_syntax("the search request must be a JSON object")
    schemas = body.get("schemas")
    if not isinstance(schemas, list) or SEARCH_REQUEST not in schemas:
        raise errors.invalid_syntax(f"a search request must list {SEARCH_REQUEST!r} in 'schemas'")
    kinds = [_kind(request)] if "type" in request.match_info else ["User", "Group"]
    return _search(request, kinds, body)


def add_routes(app: web.Application) -> None:
    r = app.router
    r.add_get("/ServiceProviderConfig", get_service_provider_config, name="ServiceProviderConfig")
    r.add_get("/ResourceTypes", get_resource_types, name="ResourceTypes")
    r.add_get("/ResourceTypes/{name}", get_resource_types, name="ResourceTypes.one")
    r.add_get("/Schemas", get_schemas, name="Schemas")
    r.add_get("/Schemas/{urn}", get_schemas, name="Schemas.one")
    r.add_post("/.search", search_resources)
    resources = "{type:Users|Groups}"
    r.add_post(f"/{resources}/.search", search_resources)
    r.add_get(f"/{resources}", list_resources)
    r.add_post(f"/{resources}", create_resource)
    r.add_get(f"/{resources}/{{id}}", get_resource)
    r.add_put(f"/{resources}/{{id}}", replace_resource)
    r.add_patch(f"/{resources}/{{id}}", patch_resource)
    r.add_delete(f"/{resources}/{{id}}", delete_resource)


def create_scim_app(prefix: str) -> web.Application:
    """The receiver as a sub-application; `prefix` is where it is mounted (for locations)."""
    app = web.Application(middlewares=[scim_middleware])
    app[SCIM_PREFIX] = prefix
    add_routes(app)
    return app
