"""The Entra portal's Attributes & Claims page in Chromium: reached from the Single sign-on blade's
Edit link, a claim edited, added and deleted, the Name ID and the group claim changed, a claim
Entra always adds refused, all with the keyboard where a person would use it."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.test_entra_portal import console_errors, open_app_page
from tests.browser.test_sso_in_chromium import control

SAML = "/entra/apps/Starburst%20Galaxy/saml"
WS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"


def claims_of(url: str) -> dict[str, str]:
    return {c["name"]: c["source"] for c in control(url, "GET", SAML)["claims"]}


async def open_claims_page(page: Page, url: str, shots) -> None:
    """Single sign-on > Attributes & Claims > Edit, by keyboard."""
    await open_app_page(page, url, "Single sign-on")
    await shots(page, "single-sign-on")
    await page.get_by_role("link", name="Edit Attributes & Claims").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Attributes & Claims", exact=True)).to_be_visible()


async def test_edit_add_and_delete_claims(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await open_claims_page(page, url, shots)
    rows = page.locator("[data-claims] tbody tr")
    await expect(rows).to_have_count(len(claims_of(url)))
    await shots(page, "attributes-and-claims")

    # Edit the givenname claim: the pane opens with the URI split into namespace and name, and
    # the name field has the focus.
    await page.get_by_role("link", name=f"Edit {WS}givenname").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("heading", name="Manage claim")).to_be_visible()
    manage = page.locator("form[data-form=edit]")
    await expect(page.get_by_label("Namespace")).to_have_value(WS.rstrip("/"))
    await expect(page.get_by_label("Name", exact=True)).to_have_value("givenname")
    await expect(page.get_by_label("Name", exact=True)).to_be_focused()
    await page.get_by_label("Name", exact=True).fill("first_name")
    await page.get_by_label("Namespace").fill("")
    await manage.get_by_label("Source attribute").select_option("user.displayname")
    await shots(page, "manage-claim")
    await page.get_by_label("Name", exact=True).press("Enter")  # Enter in a field submits its form
    await expect(page.get_by_role("status")).to_contain_text("Claim saved")
    claims = claims_of(url)
    assert claims["first_name"] == "user.displayname" and WS + "givenname" not in claims
    await expect(rows.filter(has_text="first_name")).to_contain_text("user.displayname")

    # Add new claim: namespace + name.
    await page.get_by_role("link", name="Add new claim").click()
    await page.get_by_label("Name", exact=True).fill("department")
    await page.get_by_label("Namespace").fill("http://schemas.example.com/claims")
    await (
        page.locator("form[data-form=add]").get_by_label("Source attribute").select_option("user.department")
    )
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("status")).to_contain_text("Claim added")
    assert claims_of(url)["http://schemas.example.com/claims/department"] == "user.department"
    await shots(page, "claim-added")

    # A claim Entra always adds is refused; what was typed stays; nothing is saved.
    before = control(url, "GET", SAML)
    await page.get_by_role("link", name="Add new claim").click()
    await page.get_by_label("Name", exact=True).fill("objectidentifier")
    await page.get_by_label("Namespace").fill("http://schemas.microsoft.com/identity/claims")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("alert")).to_contain_text("adds by itself")
    await expect(page.get_by_label("Name", exact=True)).to_have_value("objectidentifier")
    assert control(url, "GET", SAML) == before
    await shots(page, "always-added-refused")
    await page.get_by_role("link", name="Cancel").click()
    await expect(page.get_by_role("heading", name="Add new claim")).to_have_count(0)

    # Delete the surname claim, by keyboard.
    await page.get_by_role("button", name=f"Delete {WS}surname").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("Claim deleted")
    await expect(rows.filter(has_text=f"{WS}surname")).to_have_count(0)
    assert WS + "surname" not in claims_of(url)
    await shots(page, "claim-deleted")

    # Back on the blade, the read-only summary shows the change.
    await page.get_by_role("link", name="Back to Single sign-on").click()
    await expect(page.locator("[data-claims]")).to_contain_text("first_name")
    await expect(page.locator("[data-claims]")).not_to_contain_text(f"{WS}surname")
    assert errors == [], errors


async def test_name_id_and_group_claim(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await open_claims_page(page, url, shots)
    claims_url = page.url

    await page.get_by_label("Name identifier format").select_option(label="Persistent")
    await (
        page.locator("form[data-form=nameid]").get_by_label("Source attribute").select_option("user.objectid")
    )
    await page.get_by_role("button", name="Save Name ID").click()
    await expect(page.get_by_role("status")).to_contain_text("Name ID")
    await expect(page.locator("[data-required-claim]")).to_contain_text("user.objectid")
    await expect(page.get_by_label("Name identifier format")).to_have_value("persistent")
    saml = control(url, "GET", SAML)
    assert (saml["nameIdSource"], saml["nameIdFormat"]) == ("user.objectid", "persistent")

    # The group claim, by keyboard: focus the select, pick with the arrow keys, Tab to Save.
    groups = page.get_by_label("Groups associated with the user")
    await groups.focus()
    await groups.select_option("securityGroups")
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("button", name="Save group claim")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("Group claim saved")
    await expect(groups).to_have_value("securityGroups")
    assert control(url, "GET", SAML)["groupsClaim"] == "securityGroups"
    await shots(page, "name-id-and-groups")

    # A value the settings refuse (a tampered select) is shown as an alert; nothing changes.
    await groups.evaluate("el => { el.options[0].value = 'allGroups'; el.selectedIndex = 0; }")
    await page.get_by_role("button", name="Save group claim").click()
    await expect(page.get_by_role("alert")).to_contain_text(re.compile("group claim was not saved"))
    assert control(url, "GET", SAML)["groupsClaim"] == "securityGroups"
    await shots(page, "group-claim-refused")

    # A post without the form's token is refused and changes nothing.
    response = await page.request.post(claims_url + "/groups", form={"groupsClaim": "none"})
    assert response.status == 403
    assert control(url, "GET", SAML)["groupsClaim"] == "securityGroups"
    assert errors == [], errors
