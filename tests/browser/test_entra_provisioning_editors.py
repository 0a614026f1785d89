"""The Provisioning blade's editors in Chromium: an attribute mapping turned into an expression,
tested on a user and saved (the pane shows only the chosen type's source field), a refused
expression, the Settings section, and the log detail flyout used with the keyboard."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.test_entra_portal import APP, console_errors, open_app_page
from tests.browser.test_sso_in_chromium import control, provision

SETTINGS = "/entra/apps/Starburst%20Galaxy/provisioning"


async def test_edit_a_mapping_into_an_expression(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    provision(url)  # configured: the Mappings appear
    await open_app_page(page, url, "Provisioning")
    # Keyboard: the first Tab stop skips the menus to the page's content.
    await page.keyboard.press("Tab")
    await expect(page.get_by_role("link", name="Skip to main content")).to_be_focused()
    await page.keyboard.press("Enter")
    await expect(page.locator("#main")).to_be_focused()
    await page.get_by_role("link", name="Edit provisioning").click()
    await page.get_by_role("link", name="Provision Microsoft Entra ID Users").click()
    await page.get_by_role("link", name="Edit displayName", exact=True).click()
    pane = page.locator(".edit-attribute")
    await expect(pane.get_by_label("Source attribute")).to_be_visible()
    await expect(pane.get_by_label("Expression")).to_be_hidden()
    # Keyboard: choose Expression; only the expression field is shown.
    await pane.get_by_label("Mapping type").select_option("expression")
    await expect(pane.get_by_label("Source attribute")).to_be_hidden()
    await pane.get_by_label("Expression").fill('Join(" ", [givenName], "of Contoso")')
    await pane.get_by_label("User", exact=True).fill("Patti Fernandez")
    await pane.get_by_role("button", name="Test expression").click()
    await expect(page.locator("[data-tested] [data-value]")).to_have_text("Patti of Contoso")
    await shots(page, "expression-tested")
    await page.locator(".edit-attribute").get_by_role("button", name="Ok").click()
    await expect(page.get_by_role("status")).to_contain_text("saved")
    row = page.locator("[data-mappings] tr[data-target=displayName]")
    await expect(row).to_contain_text('Join(" ", [givenName], "of Contoso")')
    saved = control(url, "GET", SETTINGS)["userMappings"]
    assert any(m["target"] == "displayName" and m["sourceType"] == "expression" for m in saved)
    await shots(page, "mapping-saved")

    # A broken expression is refused in the pane, as typed.
    await page.get_by_role("link", name="Edit displayName", exact=True).click()
    await page.locator(".edit-attribute").get_by_label("Expression").fill("ToUpper([givenName]")
    await page.locator(".edit-attribute").get_by_role("button", name="Ok").click()
    await expect(page.get_by_role("alert")).to_contain_text("invalid expression")
    await expect(page.locator(".edit-attribute").get_by_label("Expression")).to_have_value(
        "ToUpper([givenName]"
    )
    assert control(url, "GET", SETTINGS)["userMappings"] == saved
    await shots(page, "expression-refused")

    # Delete asks first, in place; then the row is gone.
    await page.get_by_role("link", name="Close").click()
    title_row = page.locator("[data-mappings] tr[data-target=title]")
    await title_row.get_by_label("Delete title").click()
    await shots(page, "delete-confirm")
    await title_row.get_by_role("button", name="Yes, delete the mapping").click()
    await expect(page.get_by_role("status")).to_contain_text("deleted")
    await expect(title_row).to_have_count(0)
    assert all(m["target"] != "title" for m in control(url, "GET", SETTINGS)["userMappings"])
    assert errors == [], errors


async def test_settings_and_the_log_flyout(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    provision(url)
    await open_app_page(page, url, "Provisioning")
    await page.get_by_role("link", name="Edit provisioning").click()
    await page.get_by_label("Scope").select_option("all")
    await page.get_by_label("Accidental deletion threshold").fill("25")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_contain_text("saved")
    saved = control(url, "GET", SETTINGS)
    assert (saved["scope"], saved["accidentalDeletionThreshold"]) == ("all", 25)
    await shots(page, "settings-saved")

    await page.get_by_role("navigation", name=APP).get_by_role("link", name="Provisioning logs").click()
    await page.get_by_role("link", name=re.compile("^Details of create Patti Fernandez")).click()
    flyout = page.locator("[data-log-detail]")
    await expect(flyout.get_by_role("tab", name="Steps")).to_be_focused()
    await page.keyboard.press("ArrowRight")
    await expect(flyout.get_by_role("tab", name="Modified properties")).to_have_attribute(
        "aria-selected", "true"
    )
    await expect(flyout.get_by_role("tabpanel")).to_contain_text("userName")
    await shots(page, "log-flyout")
    await page.keyboard.press("End")
    await expect(flyout.get_by_role("tab", name="Summary")).to_be_focused()
    await page.keyboard.press("Escape")
    await expect(flyout).to_have_count(0)
    # Back on the table, the row it was opened from has the focus.
    await expect(
        page.get_by_role("link", name=re.compile("^Details of create Patti Fernandez"))
    ).to_be_focused()
    assert errors == [], errors
