"""Every form post of both consoles, with a valid CSRF token but missing, empty or nonsense
fields: the answer is a page with a clear message (or a redirect, or a 4xx page), never a 500
or a traceback. The routes are read from the running application, so a page added later is
covered without being listed here."""

from __future__ import annotations

import re

import pytest
from aiohttp import web

from tests.conftest import Running, StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import Browser
from tests.portal_helpers import sign_in_as_accountadmin

NONSENSE = [
    {},
    {"id": "", "index": "", "objectId": "", "principal": "", "member": "", "name": "", "op": ""},
    {
        "id": "x" * 300,
        "index": "-1",
        "objectId": "🙂",
        "principal": "../../etc",
        "member": "nobody",
        "op": "bogus",
        "type": "teleport",
        "mode": "Sometimes",
        "tenantUrl": "ftp://nowhere",
        "settings": "1",
        "scope": "some",
        "accidentalDeletionThreshold": "1e9",
        "enabled": "maybe",
        "email": "not an email",
        "displayName": " ",
        "userPrincipalName": "@@",
        "identifier": "javascript:alert(1)",
        "replyUrl": "<script>",
        "nameIdFormat": "nope",
        "groupsClaim": "all",
        "source": "user.nothing",
        "target": "[[[",
        "expression": "Join(",
    },
]


def routes(app: web.Application, method: str) -> list[str]:
    """Every `method` route's full path (a mounted sub-application's paths carry its prefix)."""
    found = []
    for resource in app.router.resources():
        info = resource.get_info()
        if "app" in info:
            found += routes(info["app"], method)
        elif any(route.method == method for route in resource):
            found.append(info.get("path") or info.get("formatter", ""))
    return found


def concrete(path: str, ids: dict[str, str]) -> str:
    return re.sub(r"\{(\w+)\}", lambda m: ids.get(m.group(1), "no-such-thing"), path)


@pytest.fixture
async def world(start_emulator: StartEmulator) -> tuple[Running, Browser, dict[str, str]]:
    emu = await start_emulator(scenario="demo")
    control = Control(emu)
    browser = Browser(emu)
    await sign_in_as_accountadmin(browser, emu)
    app = await control.call("GET", f"/entra/apps/{APP}")
    user = (await control.call("GET", "/entra/users"))["users"][0]
    group = (await control.call("GET", "/entra/groups"))["groups"][0]
    ids = {"app": app["id"], "user": user["id"], "group": group["id"], "kind": "user", "tenant": "common"}
    yield emu, browser, ids
    await browser.close()


async def test_no_console_form_post_answers_500(world) -> None:
    emu, browser, ids = world
    paths = sorted(
        (
            p
            for p in routes(emu.server.app, "POST")
            if p.startswith(
                ("/galaxy/access", "/galaxy/log", "/entra/portal", "/entra/myapps", "/entra/logout")
            )
        ),
        key=lambda p: "logout" in p,  # signing out last, so the other forms run signed in
    )
    assert len(paths) > 30, paths  # both consoles' forms were found
    token = (await browser.get("/entra/portal/users/new")).doc.xpath("//input[@name='csrf_token']/@value")[0]
    for path in paths:
        url = concrete(path, ids)
        for fields in NONSENSE:
            page = await browser.post(url, {"csrf_token": token, **fields}, follow=False)
            assert page.status < 500, f"{url} {fields}: {page.status}\n{page.text[:1500]}"
            assert "Traceback" not in page.text, url


async def test_no_console_page_answers_500_to_a_nonsense_query(world) -> None:
    emu, browser, ids = world
    paths = [p for p in routes(emu.server.app, "GET") if p.startswith(("/galaxy/access", "/entra/portal"))]
    assert len(paths) > 15, paths
    queries = [
        "",
        "?edit=abc&entry=zzz&q=%3Cscript%3E&done=%00",
        "?status=bogus&action=nope&edit=999&add=1&delete=x",
    ]
    for path in paths:
        for query in queries:
            page = await browser.get(concrete(path, ids) + query, follow=False)
            assert page.status < 500, f"{path}{query}: {page.status}\n{page.text[:1500]}"
            assert "<script>" not in page.text, f"{path}{query} reflects markup"
