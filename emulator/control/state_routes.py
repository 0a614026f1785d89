"""`/_emulator/reset`, `/_emulator/scenario` and `/_emulator/scenario/export`: start over from a
scenario without restarting, and write the current state as a scenario file. Every answer is
JSON except the exported file itself; errors are JSON with a message."""

from __future__ import annotations

import re

from aiohttp import web

from emulator.control.entra_routes import BadRequest, json_body, only
from emulator.control.state import EMULATOR_STATE, EmulatorState, ResetResult, StateBusy
from emulator.scenarios.export import ExportError
from emulator.scenarios.loader import BUILTIN_SCENARIOS, ScenarioError, load_scenario, load_text
from emulator.scenarios.model import Scenario

RESET_KEYS = ("scenario", "toml")
MAX_NAME = 100
UPLOAD_SOURCE = "the uploaded scenario"
_FILE_NAME = re.compile(r"[^A-Za-z0-9._-]+")


def _state(request: web.Request) -> EmulatorState:
    return request.config_dict[EMULATOR_STATE]


async def _reset_body(request: web.Request, *, required: bool) -> dict:
    hint = 'give the scenario as {"scenario": "demo" | "empty" | "large" | "<path>"}'
    body = only(await json_body(request, required=required, hint=hint), *RESET_KEYS)
    if "scenario" in body and "toml" in body:
        raise BadRequest("give either scenario (a name or a path) or toml (the file's text), not both")
    if required and not body:
        raise BadRequest('give the scenario as {"scenario": "demo" | "empty" | "large" | "<path>"}')
    for key in RESET_KEYS:
        if key in body and (not isinstance(body[key], str) or not body[key].strip()):
            raise BadRequest(f"{key} must be a non-empty string")
    return body


def _scenario(body: dict, default: str) -> Scenario:
    """The scenario a reset asks for, read and validated before anything is touched; a bad one
    is a 400 with the loader's message (file, line or field, and what is wrong)."""
    try:
        if "toml" in body:
            return load_text(body["toml"], source=UPLOAD_SOURCE, default_name="uploaded")
        return load_scenario(body.get("scenario", default))
    except ScenarioError as exc:
        raise BadRequest(str(exc)) from None


async def _reset(request: web.Request, *, required: bool) -> web.Response:
    state = _state(request)
    body = await _reset_body(request, required=required)
    reason = state.busy()  # before the (possibly slow) load, and again inside the reset
    if reason is not None:
        raise BadRequest(reason, 409)
    scenario = _scenario(body, state.default_scenario)
    try:
        result = await state.reset(scenario)
    except StateBusy as exc:
        raise BadRequest(str(exc), 409) from None
    except ScenarioError as exc:
        raise BadRequest(str(exc)) from None
    return web.json_response(_reset_view(result))


async def reset(request: web.Request) -> web.Response:
    """Start over from a scenario: `{"scenario": name or path}` or `{"toml": text}`; without a
    body, the scenario the server was started with. 409 while a provisioning cycle runs."""
    return await _reset(request, required=False)


async def load(request: web.Request) -> web.Response:
    """Load a scenario: the same as a reset, but the scenario must be given."""
    return await _reset(request, required=True)


def _reset_view(result: ResetResult) -> dict:
    view: dict = {
        "scenario": result.scenario,
        "galaxyToken": result.galaxy_token,
        "accountadminPassword": result.accountadmin_password,
    }
    if result.warnings:
        view["warnings"] = list(result.warnings)
    applied = result.applied
    if applied is None:
        return view
    return {
        **view,
        "applied": {
            "tenantId": applied.tenant_id,
            "appObjectId": applied.app_object_id,
            "appId": applied.app_id,
            "users": applied.users,
            "disabledUsers": applied.disabled_users,
            "deletedUsers": applied.deleted_users,
            "groups": applied.groups,
            "memberships": applied.memberships,
            "assignments": applied.assignments,
            "provisioningConfigured": applied.provisioning_configured,
            "galaxyUsers": applied.galaxy_users,
        },
    }


async def describe(request: web.Request) -> web.Response:
    """Which scenario a plain reset loads, which one was loaded last, and the built-in ones."""
    state = _state(request)
    return web.json_response(
        {
            "default": state.default_scenario,
            "current": state.current_scenario,
            "builtIn": list(BUILTIN_SCENARIOS),
        }
    )


async def export(request: web.Request) -> web.Response:
    """The current state as a scenario file (`format=toml`, the default, as an attachment), or
    as JSON (`format=json`: the same tables, and the notes on what was left out); `name` sets
    the scenario's name (default `exported`). 409 when the format cannot express the state."""
    name = request.query.get("name", "exported").strip()
    if not name or len(name) > MAX_NAME or any(ord(c) < 0x20 for c in name):
        raise BadRequest(f"name must be 1 to {MAX_NAME} printable characters")
    fmt = request.query.get("format", "toml")
    if fmt not in ("toml", "json"):
        raise BadRequest("format must be toml or json")
    try:
        exported = _state(request).export(name=name)
    except ExportError as exc:
        raise BadRequest(str(exc), 409) from None
    if fmt == "json":
        return web.json_response(
            {"name": exported.name, "scenario": exported.data, "notes": list(exported.notes)}
        )
    filename = (_FILE_NAME.sub("-", name).strip("-.") or "scenario") + ".toml"
    return web.Response(
        text=exported.text,
        content_type="application/toml",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


def add_state_routes(router: web.UrlDispatcher) -> None:
    router.add_post("/reset", reset)
    router.add_get("/scenario", describe)
    router.add_post("/scenario", load)
    router.add_get("/scenario/export", export)
