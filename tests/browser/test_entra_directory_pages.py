"""The Entra portal's tenant pages in Chromium: Users (new, edit, block sign-in, delete, Deleted
users, restore) and Groups (new with a member, add and remove members, delete), by clicking, with
what each click changed checked through the control API; a refused duplicate userPrincipalName
shows the reason and changes nothing."""

from __future__ import annotations

import re

from playwright.async_api import Page, expect

from tests.browser.test_entra_portal import console_errors
from tests.browser.test_sso_in_chromium import control

UPN = "NoraK@contoso.onmicrosoft.com"


def users(url: str, *, deleted: bool = False) -> dict[str, dict]:
    found = control(url, "GET", "/entra/users" + ("?includeDeleted=true" if deleted else ""))["users"]
    return {u["userPrincipalName"]: u for u in found}


def groups(url: str) -> dict[str, dict]:
    return {g["displayName"]: g for g in control(url, "GET", "/entra/groups")["groups"]}


async def open_tenant_page(page: Page, url: str, menu: str) -> None:
    """Home > Microsoft Entra ID > Users or Groups, from the tenant menu."""
    await page.goto(f"{url}/entra/portal/")
    await page.get_by_role("link", name=re.compile("^Microsoft Entra ID")).click()
    nav = page.get_by_role("navigation", name="Microsoft Entra ID")
    await expect(nav.get_by_role("link", name="Overview")).to_have_attribute("aria-current", "page")
    await nav.get_by_role("link", name=menu, exact=True).click()
    await expect(nav.get_by_role("link", name=menu, exact=True)).to_have_attribute("aria-current", "page")


async def test_user_create_edit_block_delete_and_restore(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await open_tenant_page(page, url, "Users")
    await expect(page.get_by_role("heading", name="Users | All users")).to_be_visible()
    rows = page.locator("[data-users] tbody tr")
    await expect(rows.filter(has_text="Patti Fernandez")).to_have_count(1)
    await shots(page, "all-users")
    await page.get_by_label("Search by display name or user principal name").fill("pattif@")
    await page.get_by_role("button", name="Search").click()
    await expect(rows).to_have_count(1)
    await expect(rows.first).to_contain_text("PattiF@contoso.onmicrosoft.com")
    await shots(page, "search")

    # New user.
    await page.get_by_role("link", name="New user").click()
    await page.get_by_label("Display name").fill("Nora Kim")
    await page.get_by_label("User principal name").fill(UPN)
    await page.get_by_label("Email").fill(UPN)
    await page.get_by_label("First name").fill("Nora")
    await page.get_by_label("Last name").fill("Kim")
    await page.get_by_label("Job title").fill("Analyst")
    await page.get_by_label("Department").fill("Finance")
    await page.get_by_label("Password (optional)").fill("Correct-Horse-9")
    await shots(page, "new-user-form")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("status")).to_have_text("User created.")
    await expect(page.get_by_role("heading", name="Nora Kim | Profile")).to_be_visible()
    nora = users(url)[UPN]
    assert (nora["givenName"], nora["surname"], nora["department"]) == ("Nora", "Kim", "Finance")
    assert nora["passwordHash"].startswith("pbkdf2_sha256$")
    await shots(page, "user-created")

    # Edit the profile.
    await page.get_by_label("Job title").fill("Senior Analyst")
    await page.get_by_label("Department").fill("")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("status")).to_have_text("Profile saved.")
    await expect(page.get_by_label("Job title")).to_have_value("Senior Analyst")
    nora = users(url)[UPN]
    assert nora["jobTitle"] == "Senior Analyst" and "department" not in nora
    await shots(page, "user-edited")

    # Block sign-in, by keyboard.
    await page.get_by_role("button", name="Block sign-in").focus()
    await page.keyboard.press("Enter")
    await expect(page.get_by_role("status")).to_contain_text("Sign-in blocked")
    await expect(page.locator("[data-field=account-enabled]")).to_contain_text("No")
    assert users(url)[UPN]["accountEnabled"] is False
    await expect(page.get_by_role("button", name="Allow sign-in")).to_be_visible()
    await shots(page, "sign-in-blocked")

    # Delete: soft, restorable for 30 days.
    await page.locator("summary", has_text="Delete").click()
    await expect(page.get_by_text("restored for 30 days")).to_be_visible()
    await shots(page, "delete-confirm")
    await page.get_by_role("button", name="Yes, delete").click()
    await expect(page.get_by_role("status")).to_contain_text("restored from Deleted users for 30 days")
    await expect(rows.filter(has_text="Nora Kim")).to_have_count(0)
    assert UPN not in users(url)
    assert users(url, deleted=True)[UPN]["deletedDateTime"]
    await shots(page, "user-deleted")

    await page.get_by_role("link", name="Deleted users").click()
    deleted = page.locator("[data-deleted-users] tbody tr").filter(has_text="Nora Kim")
    await expect(deleted).to_have_count(1)
    await expect(deleted).to_contain_text(UPN)
    await shots(page, "deleted-users")
    await page.get_by_role("button", name="Restore Nora Kim").click()
    await expect(page.get_by_role("status")).to_contain_text("User restored")
    await expect(deleted).to_have_count(0)
    restored = users(url)[UPN]
    assert restored["deletedDateTime"] is None and restored["jobTitle"] == "Senior Analyst"
    await shots(page, "user-restored")
    await page.get_by_role("link", name="Back to All users").click()
    await expect(rows.filter(has_text="Nora Kim")).to_have_count(1)
    assert errors == [], errors


async def test_duplicate_user_principal_name_is_refused(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    before = users(url, deleted=True)
    await open_tenant_page(page, url, "Users")
    await page.get_by_role("link", name="New user").click()
    await page.get_by_label("Display name").fill("Patti Again")
    await page.get_by_label("User principal name").fill("pattif@contoso.onmicrosoft.com")
    await page.get_by_role("button", name="Create").click()
    alert = page.get_by_role("alert")
    await expect(alert).to_contain_text("The user was not created")
    await expect(alert).to_contain_text("already exists")
    await expect(page.get_by_label("Display name")).to_have_value("Patti Again")
    await expect(page.get_by_label("User principal name")).to_have_value("pattif@contoso.onmicrosoft.com")
    await shots(page, "duplicate-upn-refused")
    assert users(url, deleted=True) == before
    assert errors == [], errors


async def test_group_create_add_and_remove_members(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    ids = {u["displayName"]: u["id"] for u in users(url).values()}
    await open_tenant_page(page, url, "Groups")
    await expect(page.locator("[data-groups] tbody tr").filter(has_text="Finance")).to_have_count(1)
    await shots(page, "all-groups")

    await page.get_by_role("link", name="New group").click()
    await page.get_by_label("Group name").fill("Auditors")
    await page.get_by_label("Group description").fill("Quarterly audit")
    await page.get_by_label("Members").select_option(label="Patti Fernandez (PattiF@contoso.onmicrosoft.com)")
    await shots(page, "new-group-form")
    await page.get_by_role("button", name="Create").click()
    await expect(page.get_by_role("status")).to_have_text("Group created.")
    members = page.locator("[data-members] tbody tr")
    await expect(members).to_have_count(1)
    await expect(members.first).to_contain_text("Patti Fernandez")
    assert groups(url)["Auditors"]["members"] == [ids["Patti Fernandez"]]
    await shots(page, "group-created")

    # Add a user, and a group (nested).
    await page.get_by_label("User or group").select_option(label="Lee Gu (LeeG@contoso.onmicrosoft.com)")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(page.get_by_role("status")).to_have_text("Member added.")
    await page.get_by_label("User or group").select_option(label="Finance")
    await page.get_by_role("button", name="Add", exact=True).click()
    await expect(members).to_have_count(3)
    await expect(members.filter(has_text="Finance")).to_contain_text("Group")
    finance = groups(url)["Finance"]["id"]
    assert groups(url)["Auditors"]["members"] == [ids["Patti Fernandez"], ids["Lee Gu"], finance]
    await shots(page, "members-added")

    # Remove Patti.
    await page.get_by_role("button", name="Remove Patti Fernandez").click()
    await expect(page.get_by_role("status")).to_have_text("Member removed.")
    await expect(members.filter(has_text="Patti Fernandez")).to_have_count(0)
    assert groups(url)["Auditors"]["members"] == [ids["Lee Gu"], finance]
    await shots(page, "member-removed")

    # Rename, then open a member's profile, which lists the group.
    await page.get_by_label("Group name").fill("Auditors EU")
    await page.get_by_role("button", name="Save").click()
    await expect(page.get_by_role("heading", name=re.compile("Auditors EU"))).to_be_visible()
    await members.get_by_role("link", name="Lee Gu").click()
    await expect(page.locator("[data-user-groups]")).to_contain_text("Auditors EU")

    # Delete the group from All groups.
    await page.get_by_role("navigation", name="Microsoft Entra ID").get_by_role("link", name="Groups").click()
    row = page.locator("[data-groups] tbody tr").filter(has_text="Auditors EU")
    await row.locator("summary").click()
    await row.get_by_role("button", name="Yes, delete the group").click()
    await expect(page.get_by_role("status")).to_have_text("Group deleted.")
    await expect(row).to_have_count(0)
    assert "Auditors EU" not in groups(url)
    await shots(page, "group-deleted")
    assert errors == [], errors


async def test_new_group_members_from_two_searches(demo_server, page: Page, shots) -> None:
    """The member search posts the form back: the name typed and the members picked stay."""
    url = demo_server.url
    errors = console_errors(page)
    await page.goto(f"{url}/entra/portal/groups/new")
    await page.get_by_label("Group name").fill("Platform")
    await page.get_by_label("Search users").fill("Adele")
    await page.get_by_label("Search users").press("Enter")
    await page.get_by_label("Members").select_option(label="Adele Vance (AdeleV@contoso.onmicrosoft.com)")
    await page.get_by_label("Search users").fill("Lee")
    await page.get_by_role("button", name="Search", exact=True).click()
    await expect(page.get_by_label("Group name")).to_have_value("Platform")
    members = page.get_by_label("Members")
    await members.locator("option", has_text="Lee Gu").click(modifiers=["Control"])
    await shots(page, "two-searches")
    selected = await members.evaluate("s => [...s.selectedOptions].map(o => o.text)")
    assert sorted(selected) == [
        "Adele Vance (AdeleV@contoso.onmicrosoft.com)",
        "Lee Gu (LeeG@contoso.onmicrosoft.com)",
    ]
    await page.get_by_label("Group name").press("Enter")  # Enter in a field creates the group
    await expect(page.get_by_role("status")).to_contain_text("created")
    platform = groups(url)["Platform"]
    upns = {u["id"]: n for n, u in users(url).items()}
    assert sorted(upns[m] for m in platform["members"]) == [
        "AdeleV@contoso.onmicrosoft.com",
        "LeeG@contoso.onmicrosoft.com",
    ]
    assert errors == [], errors
