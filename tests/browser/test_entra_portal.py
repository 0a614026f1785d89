"""The Entra portal's enterprise-app pages in Chromium: the seed's Entra steps 3-13 and "Start
SCIM provisioning" by clicking, and a wrong token refused by Test Connection."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.test_sso_in_chromium import control

APP = "Starburst Galaxy"


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


async def open_provisioning_pane(page: Page, url: str, shots) -> None:
    """Steps 3-7: Entra ID > Enterprise applications > the app > Provision User Accounts >
    Get started."""
    await page.goto(f"{url}/entra/portal/")
    await page.get_by_role("link", name=re.compile("^Microsoft Entra ID")).click()
    await expect(page.locator("[data-field=primary-domain]")).to_have_text("contoso.onmicrosoft.com")
    await (
        page.get_by_role("navigation", name="Microsoft Entra ID")
        .get_by_role("link", name="Enterprise applications")
        .click()
    )
    await expect(page.get_by_role("heading", name=re.compile("Enterprise applications"))).to_be_visible()
    await shots(page, "enterprise-applications")
    await page.get_by_role("link", name=APP).click()
    await expect(page.get_by_role("heading", name=re.compile("Overview"))).to_be_visible()
    await shots(page, "overview")
    await page.get_by_role("link", name=re.compile("Provision User Accounts")).click()
    await expect(page.get_by_role("link", name="Get started")).to_be_visible()
    await shots(page, "provisioning-welcome")
    # By keyboard, as the portal must be usable without a mouse.
    await page.get_by_role("link", name="Get started").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_label("Provisioning Mode")).to_be_visible()


async def fill_credentials_test_and_save(page: Page, scim_url: str, token: str, shots) -> None:
    """Seed steps 8-12 in the open Provisioning pane: Automatic, Tenant URL and Secret Token,
    Test Connection (success), Save."""
    await page.get_by_label("Provisioning Mode").select_option("Automatic")
    await page.get_by_label("Tenant URL").fill(scim_url)
    await page.get_by_label("Secret Token").fill(token)
    await shots(page, "s08-10-provisioning-credentials")
    await page.get_by_role("button", name="Test Connection").click()
    notice = page.locator("[data-test-connection]")
    await expect(notice).to_have_attribute("data-test-connection", "success")
    await expect(notice).to_contain_text("authorized")
    await shots(page, "s11-test-connection-success")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("saved")
    await expect(page.get_by_role("heading", name="Mappings")).to_be_visible()
    await shots(page, "s12-saved-mappings-appear")


async def test_entra_steps_configure_and_start_provisioning(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    token = control(url, "POST", "/tokens", {"name": "Entra provisioning"})["token"]
    scim_url = f"{url}/galaxy/scim/v2"

    await open_provisioning_pane(page, url, shots)
    await fill_credentials_test_and_save(page, scim_url, token, shots)
    # The token is kept masked, and the Mappings appear.
    await expect(page.locator(".mappings")).to_contain_text("Provision Microsoft Entra ID Users")
    assert token not in await page.content()
    assert await page.get_by_label("Secret Token").input_value() == ""
    await shots(page, "saved-mappings")

    # Start SCIM provisioning: close the pane, Start provisioning.
    await page.get_by_role("link", name="Close").click()
    await page.get_by_role("button", name=re.compile("Start provisioning")).click()
    await expect(page.get_by_role("status")).to_contain_text("Provisioning started")
    await expect(page.locator("[data-field=status]")).to_have_text("Running")
    await shots(page, "provisioning-started")
    # The demo server runs cycles only when asked (--cycle-interval manual): run one, as the
    # interval elapsing would, and come back to the page.
    control(url, "POST", "/entra/apps/Starburst%20Galaxy/provisioning/run")
    await page.get_by_role("link", name="Refresh").click()
    await expect(page.locator("[data-field=last-cycle]")).to_contain_text("Initial cycle")
    await expect(page.locator("[data-field=last-cycle]")).to_contain_text("completed")
    await expect(page.locator("[data-field=counts]")).to_contain_text("create")
    await page.get_by_text("View provisioning details").click()
    await expect(page.locator(".pdetails")).to_contain_text("Cycles completed")
    await shots(page, "provisioning-cycle-completed")

    # The provisioning logs, filtered, and their downloads.
    await page.get_by_role("link", name="View provisioning logs").click()
    rows = page.locator("[data-logs] tbody tr")
    await expect(rows.first).to_be_visible()
    assert await rows.count() > 1
    await shots(page, "provisioning-logs")
    await page.get_by_label("Action").select_option("create")
    await page.get_by_label("Identity").fill("Patti")
    await page.get_by_role("button", name="Apply").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("Patti")
    await shots(page, "provisioning-logs-filtered")
    async with page.expect_download() as info:
        await page.get_by_role("link", name="CSV").click()
    download = await info.value
    assert download.suggested_filename == "provisioning-logs.csv"
    assert errors == [], errors


async def test_wrong_token_fails_test_connection(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await open_provisioning_pane(page, url, shots)
    await page.get_by_label("Provisioning Mode").select_option("Automatic")
    await page.get_by_label("Tenant URL").fill(f"{url}/galaxy/scim/v2")
    await page.get_by_label("Secret Token").fill("not-a-galaxy-token")
    await page.get_by_role("button", name="Test Connection").click()
    notice = page.locator("[data-test-connection]")
    await expect(notice).to_have_attribute("data-test-connection", "failure")
    await expect(notice).to_contain_text("failed")
    await shots(page, "test-connection-failure")
    # Nothing was saved: the welcome pane is still what the Provisioning page shows.
    await page.goto(f"{url}/entra/portal/enterprise-apps")
    await page.get_by_role("link", name=APP).click()
    await page.get_by_role("link", name="Provisioning", exact=True).click()
    await expect(page.get_by_role("link", name="Get started")).to_be_visible()
    assert errors == [], errors


async def test_start_before_configuring_and_csrf_less_post(demo_server, page: Page) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await page.goto(f"{url}/entra/portal/enterprise-apps")
    await page.get_by_role("link", name=APP).click()
    base = page.url.rsplit("/", 1)[0]
    # A post without the form's token is refused.
    response = await page.request.post(f"{base}/provisioning/start", form={"x": "1"})
    assert response.status == 403
    # A start before configuring explains what to do.
    await page.goto(f"{base}/provisioning?edit=1")
    await page.evaluate(
        """base => { const f = document.createElement('form'); f.method = 'post';
        f.action = base + '/provisioning/start';
        const t = document.querySelector('input[name=csrf_token]').cloneNode();
        f.appendChild(t); document.body.appendChild(f); f.submit(); }""",
        base,
    )
    await expect(page.get_by_role("alert")).to_contain_text("Automatic")
    # The refusal is a page that loaded fine with the reason on it: nothing in the console.
    assert errors == [], errors


async def open_app_page(page: Page, url: str, menu: str) -> None:
    """Enterprise applications > the app > one entry of its side menu."""
    await page.goto(f"{url}/entra/portal/enterprise-apps")
    await page.get_by_role("link", name=APP).click()
    await page.get_by_role("navigation", name=APP).get_by_role("link", name=menu, exact=True).click()


async def test_users_and_groups_unassign_and_reassign(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await open_app_page(page, url, "Users and groups")
    await expect(page.get_by_role("heading", name=re.compile("Users and groups"))).to_be_visible()
    rows = page.locator("[data-assignments] tbody tr")
    patti = rows.filter(has_text="Patti Fernandez")
    await expect(patti).to_have_count(1)
    await expect(rows.filter(has_text="Data Engineering")).to_contain_text("Group")
    await shots(page, "users-and-groups")

    await page.get_by_label("Remove Patti Fernandez").click()  # Remove asks first, in place
    await shots(page, "remove-confirm")
    await patti.get_by_role("button", name="Yes, remove").click()
    await expect(page.get_by_role("status")).to_contain_text("Assignment removed")
    await expect(patti).to_have_count(0)
    assignments = control(url, "GET", "/entra/apps/Starburst%20Galaxy/assignments")["assignments"]
    patti_id = control(url, "GET", "/entra/users/PattiF@contoso.onmicrosoft.com")["id"]
    assert patti_id not in {a["principalId"] for a in assignments}
    await shots(page, "patti-removed")

    await page.get_by_label("User or group").select_option(
        label="Patti Fernandez (PattiF@contoso.onmicrosoft.com)"
    )
    await page.get_by_role("button", name="Assign").click()
    await expect(page.get_by_role("status")).to_contain_text("Assignment added")
    await expect(patti).to_contain_text("User")
    await expect(patti).to_contain_text("Default Access")
    assignments = control(url, "GET", "/entra/apps/Starburst%20Galaxy/assignments")["assignments"]
    assert patti_id in {a["principalId"] for a in assignments}
    await shots(page, "patti-reassigned")

    # Assigning nothing explains what to do.
    await page.evaluate("document.getElementById('principal').removeAttribute('required')")
    await page.get_by_role("button", name="Assign").click()
    await expect(page.get_by_role("alert")).to_contain_text("Select a user or group")
    assert errors == [], errors


async def test_single_sign_on_page(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await open_app_page(page, url, "Single sign-on")
    await expect(page.get_by_role("heading", name="Basic SAML Configuration")).to_be_visible()
    await expect(page.locator("[data-claims]")).to_contain_text("user.userprincipalname")
    copy = page.get_by_role("button", name="Copy the App Federation Metadata Url")
    await copy.click()
    await expect(copy).to_have_text("Copied")
    await shots(page, "single-sign-on")

    # Relay State, edited and saved.
    await page.get_by_label("Relay State (Optional)").fill("/ui/home")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("saved")
    await expect(page.get_by_label("Relay State (Optional)")).to_have_value("/ui/home")
    saml = control(url, "GET", "/entra/apps/Starburst%20Galaxy/saml")
    assert saml["relayState"] == "/ui/home"
    await shots(page, "relay-state-saved")

    # A Reply URL that is not a URL is refused with the reason, and nothing is saved.
    before = saml["replyUrls"]
    await page.get_by_label("Reply URL").fill("not a url")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("alert")).to_contain_text("not saved")
    await expect(page.get_by_role("alert")).to_contain_text("http")
    await expect(page.get_by_label("Reply URL")).to_have_value("not a url")
    assert control(url, "GET", "/entra/apps/Starburst%20Galaxy/saml")["replyUrls"] == before
    await shots(page, "reply-url-refused")

    # The certificate downloads and the metadata answer.
    thumbprint = saml["entra"]["certificate"]["thumbprint"]
    await expect(page.locator("[data-field=thumbprint]")).to_have_text(thumbprint)
    hrefs = await page.locator(".sso-card a[download]").evaluate_all("els => els.map(e => e.href)")
    assert len(hrefs) == 3
    for href in hrefs:
        response = await page.request.get(href)
        assert response.status == 200, href
    pem = await (await page.request.get(hrefs[0])).text()
    assert pem.startswith("-----BEGIN CERTIFICATE-----")
    assert errors == [], errors
