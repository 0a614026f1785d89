"""Logging in to Galaxy with the Azure button, in Chromium: refused before the first
provisioning cycle, signed in after it; the same from My Apps; and the direct login."""

from __future__ import annotations

import json
import re
import urllib.request

from playwright.async_api import Page, expect

PATTI = "PattiF@contoso.onmicrosoft.com"
PASSWORD = "Contoso-Demo-2026!"


def control(url: str, method: str, path: str, body: object = None) -> dict:
    request = urllib.request.Request(
        f"{url}/_emulator{path}",
        data=json.dumps(body).encode() if body is not None else None,
        method=method,
        headers={"Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=60) as resp:
        return json.loads(resp.read() or b"{}")


def provision(url: str) -> None:
    token = control(url, "POST", "/tokens", {"name": "browser test"})["token"]
    app = "/entra/apps/Starburst%20Galaxy/provisioning"
    control(
        url, "PATCH", app, {"mode": "Automatic", "tenantUrl": f"{url}/galaxy/scim/v2", "secretToken": token}
    )
    control(url, "POST", app + "/run")


async def sign_in_at_entra(page: Page, shots, tag: str) -> None:
    await expect(page.locator("main")).to_contain_text("Sign in")
    await shots(page, f"{tag}-entra-sign-in")
    await page.get_by_role("button", name=re.compile("Patti Fernandez")).first.click()
    await page.get_by_label("Password").fill(PASSWORD)
    await shots(page, f"{tag}-entra-password")
    await page.get_by_role("button", name="Sign in").click()


async def test_azure_login_follows_provisioning(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    errors: list[str] = []
    page.on("console", lambda msg: errors.append(msg.text) if msg.type == "error" else None)
    await page.goto(f"{url}/galaxy/login")
    await expect(page.get_by_role("link", name=re.compile("Azure"))).to_be_visible()
    await shots(page, "galaxy-login")
    await page.get_by_role("link", name=re.compile("Azure")).click()
    await sign_in_at_entra(page, shots, "before")
    await expect(page.locator("[data-refusal]")).to_contain_text("not provisioned yet")
    await shots(page, "galaxy-refused-not-provisioned")

    provision(url)
    await page.goto(f"{url}/galaxy/login")
    await page.get_by_role("link", name=re.compile("Azure")).click()
    # Entra remembers the account: a click on it (or straight through) ends on Galaxy.
    if await page.locator("[data-mode]").count():
        await shots(page, "after-entra-pick-account")
        await page.get_by_role("button", name=re.compile("Patti Fernandez")).first.click()
    await expect(page.locator("[data-signed-in]")).to_have_attribute(
        "data-signed-in", re.compile(PATTI, re.I)
    )
    await shots(page, "galaxy-signed-in")
    # Galaxy's refusal page is answered with 403, which Chromium reports; nothing else may be.
    assert [e for e in errors if "status of 403" not in e] == [], errors


async def test_my_apps_launches_galaxy(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    provision(url)
    await page.goto(f"{url}/entra/myapps")
    await sign_in_at_entra(page, shots, "myapps")
    await expect(page.get_by_role("button", name="Starburst Galaxy")).to_be_visible()
    await shots(page, "myapps")
    await page.get_by_role("button", name="Starburst Galaxy").click()
    await expect(page.locator("[data-signed-in]")).to_have_attribute(
        "data-signed-in", re.compile(PATTI, re.I)
    )
    await shots(page, "galaxy-signed-in-from-myapps")


async def test_direct_login_with_email_and_password(demo_server, page: Page, shots) -> None:
    url = demo_server.url
    password = next(
        line.split(" / ")[1].strip() for line in demo_server.banner if "Galaxy accountadmin:" in line
    )
    await page.goto(f"{url}/galaxy/login")
    await page.get_by_label("Email").fill("accountadmin@galaxy.example")
    await page.get_by_label("Password").fill(password)
    await shots(page, "direct-login")
    await page.get_by_role("button", name=re.compile("Sign in|Log in", re.I)).click()
    await expect(page.locator("[data-signed-in]")).to_have_attribute(
        "data-signed-in", "accountadmin@galaxy.example"
    )
    await shots(page, "direct-signed-in")
