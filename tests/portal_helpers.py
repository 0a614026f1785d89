"""Posting the consoles' forms over real HTTP as a browser does, for the page tests: the CSRF
cookie from a page the browser opened and the hidden field from that page's forms."""

from __future__ import annotations

from dataclasses import dataclass

from emulator.app import STARTUP
from tests.conftest import Running
from tests.entra_helpers import Control
from tests.entra_saml_helpers import Browser, Page


@dataclass
class PortalForms:
    """A browser on pages under `base`. `token_page` is the page whose CSRF field posts carry
    (None: the page posted to, without its query)."""

    browser: Browser
    base: str
    token_page: str | None = None

    async def open(self, path: str = "") -> Page:
        page = await self.browser.get(self.base + path)
        assert page.status == 200, page.text[:2000]
        return page

    async def post(
        self, path: str, fields: dict[str, str], *, form_page: str | None = None, follow: bool = True
    ) -> Page:
        """Post `fields` to `path` with the CSRF field of `form_page` (default: `token_page`)."""
        source = form_page if form_page is not None else self.token_page
        opened = await self.open(path.split("?")[0] if source is None else source)
        token = opened.doc.xpath("//input[@name='csrf_token']/@value")[0]
        return await self.browser.post(self.base + path, {"csrf_token": token, **fields}, follow=follow)


@dataclass(kw_only=True)
class PortalSession(PortalForms):
    """The forms, plus the emulator, its control API (to check what a post changed) and the
    test's directory user."""

    emu: Running
    control: Control
    alice: dict


def role_text(page: Page, role: str) -> str:
    """The text of every element with `role` (alert, status), which the test expects to exist."""
    found = page.doc.xpath(f"//*[@role='{role}']")
    assert found, page.text[:3000]
    return " ".join(f.text_content() for f in found)


def alert(page: Page) -> str:
    return role_text(page, "alert")


def notice(page: Page) -> str:
    return role_text(page, "status")


async def sign_in_as_accountadmin(browser: Browser, emu: Running) -> None:
    """Galaxy's direct login with the accountadmin password this data folder's first start made."""
    password = emu.server.app[STARTUP].galaxy_admin_password
    login = await browser.get("/galaxy/login")
    token = login.doc.xpath("//input[@name='csrf_token']/@value")[0]
    form = {"csrf_token": token, "email": "accountadmin@galaxy.example", "password": password}
    await browser.post("/galaxy/login", form)
    assert (await browser.get("/galaxy/access/users", follow=False)).status == 200, "not signed in"
