"""Galaxy's console in Chromium: Provision SCIM (a token shown once), Access > Users with the
dimmed options of an SSO-provisioned user, direct users created and deleted, Groups, and the
Requests page filling in live; and a form post without its CSRF token refused."""

from __future__ import annotations

import re
import urllib.error
import urllib.parse
import urllib.request

import pytest
from playwright.async_api import Page, expect

from tests.browser.test_sso_in_chromium import PATTI, provision

ADMIN = "accountadmin@galaxy.example"


def admin_password(server) -> str:
    return next(line.split(" / ")[1].strip() for line in server.banner if "Galaxy accountadmin:" in line)


async def sign_in(page: Page, server, target: str = "/galaxy/access/users") -> None:
    await page.goto(f"{server.url}{target}")
    await page.get_by_label("Email").fill(ADMIN)
    await page.get_by_label("Password").fill(admin_password(server))
    await page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()


def console_errors(page: Page) -> list[str]:
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    return errors


async def test_console_walkthrough(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors = console_errors(page)
    await sign_in(page, demo_server, "/galaxy/access/sso/scim")
    await expect(page.get_by_role("heading", name="Provision SCIM")).to_be_visible()
    await expect(page.locator("#scim-url")).to_have_value(f"{url}/galaxy/scim/v2")
    await page.get_by_role("button", name="Generate access token").click()
    token = await page.locator("[data-new-token]").input_value()
    assert len(token) > 20
    await expect(page.get_by_role("alert")).to_contain_text("navigate away")
    await page.locator("[data-copy-from=new-token]").click()
    await expect(page.locator("[data-copied]")).to_be_visible()
    await shots(page, "token-generated")
    await page.get_by_role("link", name="Finish").click()
    await expect(page).to_have_url(f"{url}/galaxy/access/sso")
    await expect(page.locator("#reply-url")).to_contain_text("/galaxy/saml/acs")
    await page.get_by_role("button", name="Copy the Reply URL").click()
    await expect(page.get_by_role("button", name="Copy the Reply URL")).to_have_text("Copied")
    await shots(page, "single-sign-on")
    await page.goto(f"{url}/galaxy/access/sso/scim")
    await expect(page.locator("[data-new-token]")).to_have_count(0)  # shown once only
    await page.reload()  # the generate post redirected: a reload makes no second token
    await expect(page.locator("#tokens tbody tr")).to_have_count(1)
    await expect(page.locator("#tokens tbody tr", has_text="Generated in the console")).to_have_count(1)

    # Requests: the page is open while provisioning runs, and the exchanges arrive live.
    await page.get_by_role("link", name="Requests").click()
    await expect(page.locator("#no-exchanges")).to_be_visible()
    provision(url)
    await expect(page.locator(".exchange").first).to_be_visible(timeout=10_000)
    await expect(page.locator(".exchange", has_text="POST").first).to_be_visible()
    await page.locator(".exchange summary", has_text="/Users").first.click()
    await expect(page.locator(".exchange[open] pre").first).to_be_visible()
    await shots(page, "requests-live")

    # Users: provisioned by SCIM, with the last two options dimmed and a note on hover.
    await page.get_by_role("link", name="Users", exact=True).click()
    patti = page.locator(f"tr[data-user='{PATTI}' i]")
    await expect(patti).to_have_attribute("data-source", "sso")
    await patti.locator("summary").click()
    edit = patti.get_by_role("menuitem", name="Edit user")
    await expect(edit).to_have_attribute("aria-disabled", "true")
    await expect(patti.get_by_role("menuitem", name="Delete user")).to_have_attribute(
        "data-note", re.compile("managed by the identity provider")
    )
    await edit.hover()
    note = await edit.evaluate("el => getComputedStyle(el, '::after').content")
    assert "managed by the identity provider" in note  # the usage note shows on hover
    await shots(page, "sso-user-menu")
    await page.keyboard.press("Escape")

    # Search filters on the server.
    await page.get_by_label("Search users").fill("patti")
    await page.get_by_label("Search users").press("Enter")
    await expect(page.locator("#users tbody tr[data-user]")).to_have_count(1)
    await page.get_by_role("link", name="Clear").click()

    # A direct user: create, edit, delete.
    form = page.locator("#create-user")
    await form.get_by_label("Email").fill("analyst@galaxy.example")
    await form.get_by_label("Display name").fill("Analyst")
    await form.get_by_label("Password").fill("S3cret-pass!")
    await form.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("status")).to_contain_text("Created analyst@galaxy.example")
    row = page.locator("tr[data-user='analyst@galaxy.example']")
    await expect(row).to_have_attribute("data-source", "direct")
    await row.locator("summary").click()
    await row.get_by_role("menuitem", name="Edit user").click()
    edit_row = page.locator("tr.edit-row:not([hidden])")
    await edit_row.get_by_label("Display name").fill("Data Analyst")
    await edit_row.get_by_role("button", name=re.compile("Save")).click()
    await expect(row).to_contain_text("Data Analyst")
    await shots(page, "users")
    # A duplicate is refused with a clear message.
    await form.get_by_label("Email").fill("analyst@galaxy.example")
    await form.get_by_label("Password").fill("x")
    await form.get_by_role("button", name="Create user").click()
    await expect(page.get_by_role("alert")).to_contain_text("already exists")
    await row.locator("summary").click()
    await row.get_by_role("menuitem", name="Delete user").click()
    await expect(page.get_by_role("status")).to_contain_text("Deleted analyst@galaxy.example")
    await expect(row).to_have_count(0)

    # Groups: members, and the notice.
    await page.get_by_role("link", name="Groups").click()
    await expect(page.locator("#idp-notice")).to_contain_text("managed by the identity provider")
    await expect(page.locator("#groups tbody tr[data-group]").first).to_be_visible()
    await shots(page, "groups")

    # Regenerate a token: the new one is shown once, the old one stops working.
    await page.get_by_role("link", name="Single sign-on").click()
    await page.get_by_role("link", name="Provision SCIM").click()
    old_hint = await page.locator("#tokens tbody tr").first.locator("code").inner_text()
    await page.locator("#tokens").get_by_role("button", name="Regenerate").first.click()
    await expect(page.get_by_role("status")).to_contain_text("old token was revoked")
    new_token = await page.locator("[data-new-token]").input_value()
    assert not new_token.startswith(old_hint.rstrip("…"))
    await expect(page.locator("#tokens")).to_contain_text("Revoked")
    await shots(page, "token-regenerated")
    # Revoke a token.
    await page.locator("#tokens").get_by_role("button", name="Revoke").first.click()
    await expect(page.get_by_role("status")).to_contain_text("revoked")
    await shots(page, "tokens")
    # Galaxy's 400 for the refused duplicate is reported by Chromium; nothing else may be.
    assert [e for e in errors if "status of 400" not in e] == [], errors


async def test_console_needs_an_account_admin(demo_server, page: Page) -> None:
    await page.goto(f"{demo_server.url}/galaxy/access/requests")
    await expect(page).to_have_url(re.compile(r"/galaxy/login\?next="))


async def test_post_without_csrf_token_is_refused(demo_server, page: Page) -> None:
    await sign_in(page, demo_server)
    await expect(page.get_by_role("heading", name="Users")).to_be_visible()
    cookies = {c["name"]: c["value"] for c in await page.context.cookies()}
    request = urllib.request.Request(
        f"{demo_server.url}/galaxy/access/users",
        data=urllib.parse.urlencode({"email": "evil@galaxy.example", "password": "pw"}).encode(),
        headers={"Cookie": "; ".join(f"{k}={v}" for k, v in cookies.items())},
        method="POST",
    )
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(request, timeout=30)
    assert refused.value.code == 403
    await page.reload()
    await expect(page.locator("tr[data-user='evil@galaxy.example']")).to_have_count(0)
