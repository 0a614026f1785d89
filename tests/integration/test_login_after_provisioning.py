"""The seed's "Login from Galaxy" story over real HTTP, on the demo scenario (single sign-on set
up on both sides): the Azure login is refused before the first provisioning cycle, accepted
after it (from Galaxy's Azure button and from My Apps), refused again once the user is
unassigned and the next cycle has disabled them; the direct login works throughout."""

from __future__ import annotations

import pytest

from emulator.app import STARTUP
from emulator.clock import ManualClock
from emulator.headless import HeadlessBrowser, sign_in
from tests.entra_helpers import Control

PATTI = "PattiF@contoso.onmicrosoft.com"
PASSWORD = "Contoso-Demo-2026!"  # the demo scenario's documented password


@pytest.fixture
async def demo(start_emulator) -> Control:
    emu = await start_emulator(clock=ManualClock(), cycle_interval=None, scenario="demo")
    control = Control(emu)
    await control.configure()
    return control


async def azure_login(demo: Control, email: str = PATTI, *, idp_initiated: bool = False):
    async with HeadlessBrowser() as browser:
        return await sign_in(browser, demo.emu.url, email, PASSWORD, idp_initiated=idp_initiated)


async def direct_login(demo: Control) -> bool:
    password = demo.emu.server.app[STARTUP].galaxy_admin_password
    async with HeadlessBrowser() as browser:
        page = await browser.get(f"{demo.emu.url}/galaxy/login")
        form = next(f for f in page.forms if "password" in f.fields)
        landing = await browser.submit(page, form, email="accountadmin@galaxy.example", password=password)
        return 'data-signed-in="accountadmin@galaxy.example"' in landing.html


async def test_login_follows_provisioning(demo: Control) -> None:
    before = await azure_login(demo)
    assert before.outcome == "refused" and "not provisioned yet" in before.detail
    assert await direct_login(demo)

    await demo.run()
    after = await azure_login(demo)
    assert after.signed_in and after.detail.lower() == PATTI.lower()
    from_my_apps = await azure_login(demo, idp_initiated=True)
    assert from_my_apps.signed_in

    await demo.unassign(PATTI)
    signed_in_still = await azure_login(demo)
    assert signed_in_still.outcome == "entra-error" and "AADSTS50105" in signed_in_still.detail, (
        "Entra itself refuses an unassigned user (AADSTS50105)"
    )
    await demo.run()
    users = await demo.galaxy_users()
    assert users[PATTI]["active"] is False
    assert await direct_login(demo)


async def test_a_deactivated_user_is_refused_by_galaxy(demo: Control) -> None:
    """When Entra still lets the user in (here: assignment not required) but the cycle has
    disabled them in Galaxy, Galaxy's page says why."""
    await demo.run()
    await demo.call("PATCH", "/entra/apps/Starburst Galaxy/saml", {"assignmentRequired": False})
    await demo.unassign(PATTI)
    await demo.run()
    refused = await azure_login(demo)
    assert refused.outcome == "refused" and "deactivated" in refused.detail


async def test_every_hop_is_recorded(demo: Control) -> None:
    await demo.run()
    result = await azure_login(demo)
    paths = [h.url.split("?")[0].replace(demo.emu.url, "") for h in result.hops]
    assert paths[0] == "/galaxy/login/azure"
    assert any(p.endswith("/saml2") for p in paths), paths
    assert "/galaxy/saml/acs" in paths and paths[-1] == "/galaxy/"
