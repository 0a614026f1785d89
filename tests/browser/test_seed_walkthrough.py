"""The seed document (shared/seed/, "Azure SCIM setup"), every numbered step, by clicking in
Chromium: from a fresh data folder on the embedded default (the demo scenario, cycles every 40
minutes, as `scim-emulator serve` starts), Galaxy's Provision SCIM and Entra's Provisioning blade
side by side in two tabs, Start provisioning, the details, Provision on demand, the logs, the
provisioned users in Access > Users, then log out and back in with the Azure button, from My Apps,
and with the direct email and password. Every step leaves a screenshot under
test-artifacts/browser/test_the_seed_walkthrough_by_clicking/; no page may log a browser console error."""

from __future__ import annotations

import re
import signal
from pathlib import Path

import pytest
from playwright.async_api import Page, expect

from tests.browser.test_entra_portal import fill_credentials_test_and_save
from tests.browser.test_galaxy_console import ADMIN, admin_password
from tests.browser.test_sso_in_chromium import PASSWORD, PATTI
from tests.helpers import ServerProcess

APP = "Starburst Galaxy"
MIRIAM = "Miriam Graham"  # in no group and not assigned in the demo scenario
MIRIAM_OPTION = "Miriam Graham · MiriamG@contoso.onmicrosoft.com (User)"


@pytest.fixture
def fresh_server(tmp_path: Path):
    """The README's first command: `serve` with nothing but a new data folder."""
    server = ServerProcess(tmp_path / "data")
    yield server
    server.stop(signal.SIGTERM)


def watch_console(page: Page, errors: list[str]) -> None:
    page.on("console", lambda msg: errors.append(f"{page.url}: {msg.text}") if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(f"{page.url}: {exc}"))


async def entra_sign_in(page: Page, shots, tag: str) -> None:
    """Entra's sign-in: pick Patti's account if Entra offers it, else type her name; then her
    password (the demo scenario's published test password)."""
    await expect(page.locator("main")).to_contain_text(re.compile("Sign in|Pick an account"))
    await shots(page, f"{tag}-entra-sign-in")
    tile = page.get_by_role("button", name=re.compile("Patti Fernandez"))
    if await tile.count():
        await tile.first.click()
    else:
        await page.get_by_label(re.compile("Email|Username|Sign in", re.I)).fill(PATTI)
        await page.get_by_role("button", name="Next").click()
    password = page.get_by_label("Password")
    if await password.count():
        await password.fill(PASSWORD)
        await page.get_by_role("button", name="Sign in").click()


async def galaxy_sign_out(page: Page) -> None:
    await page.get_by_role("button", name="Sign out").click()
    await expect(page.get_by_role("link", name=re.compile("Azure"))).to_be_visible()


async def test_the_seed_walkthrough_by_clicking(fresh_server, page: Page, shots) -> None:
    url = fresh_server.url
    errors: list[str] = []
    galaxy = page
    watch_console(galaxy, errors)

    # The presumption: Galaxy is open, signed in with accountadmin rights (direct login).
    await galaxy.goto(f"{url}/galaxy/")
    await galaxy.get_by_label("Email").fill(ADMIN)
    await galaxy.get_by_label("Password").fill(admin_password(fresh_server))
    await shots(galaxy, "galaxy-login-as-accountadmin")
    await galaxy.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()

    # Configure SCIM, step 1: Access > Single sign-on > Provision SCIM.
    await galaxy.get_by_role("link", name="Single sign-on").click()
    await expect(galaxy.get_by_role("heading", name="Single sign-on")).to_be_visible()
    await shots(galaxy, "s01-galaxy-single-sign-on")
    await galaxy.get_by_role("link", name="Provision SCIM").click()
    await expect(galaxy.get_by_role("heading", name="Provision SCIM")).to_be_visible()
    # Step 2: Generate access token; the warning not to navigate away.
    await galaxy.get_by_role("button", name="Generate access token").click()
    await expect(galaxy.get_by_role("alert")).to_contain_text("Do not click Finish or navigate away")
    scim_url = await galaxy.locator("#scim-url").input_value()
    token = await galaxy.locator("[data-new-token]").input_value()
    assert scim_url == f"{url}/galaxy/scim/v2" and len(token) > 20
    await shots(galaxy, "s02-galaxy-access-token")

    # Entra in a second tab, as the seed keeps Galaxy's pane open.
    entra = await galaxy.context.new_page()
    watch_console(entra, errors)
    # Step 3: Azure services > Microsoft Entra ID.
    await entra.goto(f"{url}/entra/portal/")
    await shots(entra, "s03a-azure-home")
    await entra.get_by_role("link", name=re.compile("^Microsoft Entra ID")).click()
    await expect(entra.locator("[data-field=primary-domain]")).to_have_text("contoso.onmicrosoft.com")
    await shots(entra, "s03b-entra-id-overview")
    # Step 4: Enterprise applications.
    await (
        entra.get_by_role("navigation", name="Microsoft Entra ID")
        .get_by_role("link", name="Enterprise applications")
        .click()
    )
    await shots(entra, "s04-enterprise-applications")
    # Step 5: the app.
    await entra.get_by_role("link", name=APP).click()
    await expect(entra.get_by_role("heading", name=re.compile("Overview"))).to_be_visible()
    await shots(entra, "s05-app-overview")
    # Step 6: the Provision User Accounts tile.
    await entra.get_by_role("link", name=re.compile("Provision User Accounts")).click()
    await shots(entra, "s06-provisioning-welcome")
    # Step 7: Get started.
    await entra.get_by_role("link", name="Get started").click()
    # Steps 8-12: Automatic; the Tenant URL and Secret Token copied from Galaxy; Test Connection
    # succeeds ("authorized"); Save.
    await fill_credentials_test_and_save(entra, scim_url, token, shots)
    # Step 13: the Mappings appeared; the user mappings, with Galaxy's userName matched first.
    await entra.get_by_role("link", name="Provision Microsoft Entra ID Users").click()
    mappings = entra.locator("[data-mappings] tbody tr")
    await expect(mappings.filter(has_text="userPrincipalName").first).to_contain_text("userName")
    await shots(entra, "s13-attribute-mapping")
    await entra.get_by_role("navigation", name="Breadcrumb").get_by_role("link", name="Provisioning").click()
    await expect(entra.get_by_label("Provisioning Mode")).to_have_value("Automatic")

    # Finish SCIM setup in Galaxy: Finish, then Access > Users, left open.
    await galaxy.bring_to_front()
    await galaxy.get_by_role("link", name="Finish").click()
    await expect(galaxy.get_by_role("heading", name="Single sign-on")).to_be_visible()
    await shots(galaxy, "f01-galaxy-finish")
    await galaxy.get_by_role("link", name="Users", exact=True).click()
    await expect(galaxy.locator("tr[data-source=sso]")).to_have_count(0)
    await shots(galaxy, "f02-galaxy-users-before")

    # Start SCIM provisioning, steps 1-2: Enterprise applications > the app > Provisioning.
    await entra.bring_to_front()
    await (
        entra.get_by_role("navigation", name="Breadcrumb")
        .get_by_role("link", name="Enterprise applications")
        .click()
    )
    await entra.get_by_role("link", name=APP).click()
    await (
        entra.get_by_role("navigation", name=APP).get_by_role("link", name="Provisioning", exact=True).click()
    )
    # Step 3: the Provisioning Mode pane is still open: close it with its X.
    await entra.get_by_role("link", name="Edit provisioning").click()
    await entra.get_by_role("link", name="Close").click()
    # Step 4: Start provisioning.
    await entra.get_by_role("button", name=re.compile("Start provisioning")).click()
    await expect(entra.get_by_role("status")).to_contain_text("Provisioning started")
    await shots(entra, "p04-provisioning-started")
    # Step 5: come back until the initial cycle has completed (it starts at once).
    last_cycle = entra.locator("[data-field=last-cycle]")
    for _ in range(60):
        await entra.get_by_role("link", name="Refresh").click()
        if "completed" in await last_cycle.inner_text():
            break
        await entra.wait_for_timeout(250)
    await expect(last_cycle).to_contain_text("Initial cycle")
    await expect(last_cycle).to_contain_text("completed")
    await shots(entra, "p05-initial-cycle-completed")
    # Step 6: View provisioning details shows the interval.
    await entra.get_by_text("View provisioning details").click()
    await expect(entra.locator("[data-field=interval]")).to_have_text("40 minutes")
    await shots(entra, "p06a-provisioning-details")
    # Provision on demand: Miriam is not assigned, so she is skipped as out of scope...
    await entra.get_by_role("link", name="Provision on demand").click()
    await entra.get_by_label("Search users and groups").fill("Miriam")
    await entra.get_by_role("button", name="Search").click()
    await entra.get_by_label("Selected user or group").select_option(label=MIRIAM_OPTION)
    await entra.get_by_role("button", name="Provision").click()
    result = entra.locator("[data-result]")
    await expect(result).to_contain_text("out of scope")
    await shots(entra, "p06b-on-demand-out-of-scope")
    # ...so assign her in Users and groups, and provision her on demand now.
    await entra.get_by_role("navigation", name=APP).get_by_role("link", name="Users and groups").click()
    await entra.get_by_label("User or group").select_option(
        label=f"{MIRIAM} (MiriamG@contoso.onmicrosoft.com)"
    )
    await entra.get_by_role("button", name="Assign").click()
    await expect(entra.get_by_role("status")).to_contain_text("Assignment added")
    await (
        entra.get_by_role("navigation", name=APP).get_by_role("link", name="Provisioning", exact=True).click()
    )
    await entra.get_by_role("link", name="Provision on demand").click()
    await entra.get_by_label("Search users and groups").fill("Miriam")
    await entra.get_by_role("button", name="Search").click()
    await entra.get_by_label("Selected user or group").select_option(label=MIRIAM_OPTION)
    await entra.get_by_role("button", name="Provision").click()
    await expect(result).to_have_attribute("data-result", "success")
    steps = result.locator("ol[data-steps] > li")
    await expect(steps).to_have_count(4)
    await expect(steps.last).to_contain_text("POST")
    await expect(result.locator("[data-modified]")).to_contain_text("userName")
    await shots(entra, "p06c-on-demand-created")
    # The provisioning logs, and one entry's detail panel.
    await entra.get_by_role("link", name="View this entry in the provisioning logs").click()
    detail = entra.locator("[data-log-detail]")
    await expect(detail.get_by_role("tabpanel")).to_contain_text("Retrieved Miriam Graham")
    await shots(entra, "p06d-log-detail-steps")
    await detail.get_by_role("tab", name="Modified properties").click()
    await expect(detail.get_by_role("tabpanel")).to_contain_text("userName")
    await shots(entra, "p06e-log-detail-modified-properties")
    await detail.get_by_role("tab", name="Summary").click()
    await expect(detail.get_by_role("tabpanel")).to_contain_text("Administrator (provision on demand)")
    await shots(entra, "p06f-log-detail-summary")
    rows = entra.locator("[data-logs] tbody tr")
    assert await rows.count() > 10

    # Step 7: Galaxy's Access > Users lists the provisioned users; an SSO user's last two menu
    # options are dimmed, with a usage note on hover.
    await galaxy.bring_to_front()
    await galaxy.reload()
    patti_row = galaxy.locator(f"tr[data-user='{PATTI}' i]")
    await expect(patti_row).to_have_attribute("data-source", "sso")
    await expect(galaxy.locator("tr[data-user='MiriamG@contoso.onmicrosoft.com' i]")).to_have_count(1)
    await patti_row.locator("summary").click()
    dimmed = patti_row.locator(".menu-item.dimmed")
    await expect(dimmed).to_have_count(2)
    await dimmed.first.hover()
    await shots(galaxy, "p07-galaxy-users-provisioned")
    await galaxy.keyboard.press("Escape")
    await galaxy.get_by_role("link", name="Requests").click()
    await expect(galaxy.locator(".exchange", has_text="/Users").first).to_be_visible()
    await shots(galaxy, "p07b-galaxy-requests")

    # Login from Galaxy: log out, then the Azure button and Patti's Entra sign-in.
    await galaxy_sign_out(galaxy)
    await shots(galaxy, "l01-galaxy-login-page")
    await galaxy.get_by_role("link", name=re.compile("Azure")).click()
    await entra_sign_in(galaxy, shots, "l02")
    await expect(galaxy.locator("[data-signed-in]")).to_have_attribute(
        "data-signed-in", re.compile(PATTI, re.I)
    )
    await shots(galaxy, "l03-galaxy-signed-in-with-azure")

    # My Apps: the Starburst Galaxy tile opens Galaxy without further prompts.
    await galaxy_sign_out(galaxy)
    await galaxy.goto(f"{url}/entra/myapps")
    if await galaxy.locator("[data-mode]").count():
        await entra_sign_in(galaxy, shots, "m01")
    await expect(galaxy.get_by_role("button", name=APP)).to_be_visible()
    await shots(galaxy, "m02-my-apps")
    await galaxy.get_by_role("button", name=APP).click()
    await expect(galaxy.locator("[data-signed-in]")).to_have_attribute(
        "data-signed-in", re.compile(PATTI, re.I)
    )
    await shots(galaxy, "m03-galaxy-signed-in-from-my-apps")

    # The direct email and password login still works.
    await galaxy_sign_out(galaxy)
    await galaxy.get_by_label("Email").fill(ADMIN)
    await galaxy.get_by_label("Password").fill(admin_password(fresh_server))
    await galaxy.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    await expect(galaxy.locator("[data-signed-in]")).to_have_attribute("data-signed-in", ADMIN)
    await expect(galaxy.locator("[data-signed-in]")).to_have_attribute("data-method", re.compile("password"))
    await shots(galaxy, "d01-galaxy-direct-login")
    # Every cookie the walk collected (sessions of both sides, CSRF) is HttpOnly and SameSite.
    cookies = await galaxy.context.cookies()
    assert cookies and all(c["httpOnly"] and c["sameSite"] in ("Lax", "Strict") for c in cookies), cookies
    assert errors == [], errors
