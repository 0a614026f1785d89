"""Every control endpoint checks its input and answers a mistake with a JSON error naming it:
a typo in a field or a query parameter is refused, never silently ignored."""

from __future__ import annotations

import logging

import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient, TestServer

from emulator.control.routes import create_control_app
from tests.conftest import Running

APP = "/entra/apps/Starburst%20Galaxy"
USER = "/entra/users/PattiF@contoso.onmicrosoft.com"


@pytest.fixture
async def demo(start_emulator) -> Running:
    return await start_emulator(scenario="demo")


@pytest.mark.parametrize(
    ("method", "path", "body", "message"),
    [
        ("GET", "/entra/users?includeDeleted=yes", None, "includeDeleted must be true or false"),
        ("DELETE", USER + "?permanent=1", None, "permanent must be true or false"),
        ("GET", "/exchanges?method=FETCH", None, "method must be one of GET, POST, PUT, PATCH, DELETE"),
        ("GET", "/exchanges?limit=x", None, "limit must be a whole number"),
        ("POST", "/clock/advance", {"seconds": 5, "wait": "no"}, "wait must be true"),
        (
            "POST",
            "/clock/advance",
            {"seconds": 5, "sconds": 1},
            "unknown field(s) sconds; allowed: seconds, wait",
        ),
        ("POST", "/tokens", {"name": "CI", "expires": 3}, "the body must be a JSON object with an optional"),
        (
            "POST",
            "/entra/users",
            {"userPrincipalName": "a@b.c", "displayName": 5},
            "displayName must be a string",
        ),
        (
            "POST",
            "/entra/users",
            {"userPrincipalName": "a@b.c", "displayName": "A", "accountEnabled": "no"},
            "accountEnabled must be true or false",
        ),
        ("PATCH", USER, {"mail": "not-an-address"}, "mail 'not-an-address' does not look like name@domain"),
        ("PATCH", USER, {"manager": 7}, "manager must be the objectId of a user, not int"),
        ("PATCH", USER, {"passwordHash": "plain"}, "passwordHash is not a password hash"),
        ("PATCH", "/entra/groups/Finance", {"description": ["x"]}, "description must be a string, not list"),
        ("POST", "/entra/groups/Finance/members", {"member": "x"}, "unknown field(s) member; allowed: id"),
        ("POST", APP + "/assignments", {"principal": "Finance"}, "unknown field(s) principal"),
        ("POST", APP + "/roles", {"value": "R", "description": "x"}, "unknown field(s) description"),
        ("POST", APP + "/provisioning/test", {"tenantURL": "http://x"}, "unknown field(s) tenantURL"),
        ("POST", APP + "/provisioning/on-demand", {"user": "x"}, "unknown field(s) user"),
        ("PATCH", APP + "/provisioning", {"mod": "Automatic"}, "unknown setting(s): mod"),
        ("PUT", "/galaxy/sso", {"metadataURL": "http://x"}, "unknown field(s) metadataURL"),
        ("POST", "/galaxy/faults", {"status": 503}, "say how often"),
    ],
)
async def test_a_mistake_is_a_json_400_naming_it(
    demo: Running, method: str, path: str, body: object, message: str
) -> None:
    async with demo.session.request(method, f"{demo.url}/_emulator{path}", json=body) as reply:
        assert reply.status == 400 and reply.content_type == "application/json", await reply.text()
        answer = await reply.json()
    assert answer["status"] == 400 and answer["error"].startswith(message), answer


@pytest.mark.parametrize(
    ("method", "path", "status", "message"),
    [
        ("GET", "/nowhere", 404, "Not Found"),
        ("PUT", "/health", 405, "Method Not Allowed"),
        (
            "GET",
            "/entra/users/nobody@contoso.onmicrosoft.com",
            404,
            "no user 'nobody@contoso.onmicrosoft.com'",
        ),
    ],
)
async def test_unknown_paths_and_methods_answer_json_too(
    demo: Running, method: str, path: str, status: int, message: str
) -> None:
    async with demo.session.request(method, f"{demo.url}/_emulator{path}") as reply:
        assert reply.status == status and reply.content_type == "application/json"
        assert (await reply.json())["error"].startswith(message)


async def test_a_bug_in_a_handler_is_a_json_500_and_a_log_line(caplog: pytest.LogCaptureFixture) -> None:
    async def broken(request: web.Request) -> web.Response:
        raise RuntimeError("boom")

    app = create_control_app()
    app.router.add_get("/broken", broken)
    async with TestClient(TestServer(app)) as client:
        with caplog.at_level(logging.ERROR, logger="emulator.control.routes"):
            reply = await client.get("/broken")
            assert reply.status == 500 and reply.content_type == "application/json"
            assert (await reply.json())["error"] == "internal error in the emulator (see its log)"
    assert "GET /broken failed" in caplog.text and "boom" in caplog.text
