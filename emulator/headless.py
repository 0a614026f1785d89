"""A scripted browser for the SAML flows: cookies, redirects and HTML forms over real HTTP.

`scim-emulator login`, the login benchmark and the tests walk Galaxy's and Entra's pages the
way a browser does (follow the redirect to the sign-in page, pick the account, let the
auto-posting form carry the SAMLResponse to Galaxy), recording every hop, so the whole flow is
exercised without Chromium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin

import aiohttp


@dataclass
class Form:
    """One HTML form: where it goes, its fields, and its submit buttons (name, value, label)."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)
    text: str = ""


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._button: list | None = None
        self.title = ""
        self._in_title = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "title":
            self._in_title = True
        elif tag == "form":
            self._form = Form(a.get("action", ""), a.get("method", "get").upper())
            self.forms.append(self._form)
        elif self._form is not None and tag in ("input", "select", "textarea") and a.get("name"):
            kind = a.get("type", "text").lower()
            if kind == "submit":
                self._form.buttons.append((a["name"], a.get("value", ""), a.get("value", "")))
            elif kind not in ("checkbox", "radio") or "checked" in a:
                self._form.fields.setdefault(a["name"], a.get("value", ""))
        elif self._form is not None and tag == "button":
            self._button = [a.get("name", ""), a.get("value", ""), ""]

    def handle_endtag(self, tag: str) -> None:
        if tag == "title":
            self._in_title = False
        elif tag == "button" and self._form is not None and self._button is not None:
            self._form.buttons.append((self._button[0], self._button[1], self._button[2].strip()))
            self._button = None
        elif tag == "form":
            self._form = None

    def handle_data(self, data: str) -> None:
        if self._in_title:
            self.title += data
        if self._button is not None:
            self._button[2] += data
        if self._form is not None:
            self._form.text += data


@dataclass
class Page:
    """A page the browser landed on."""

    url: str
    status: int
    html: str
    title: str
    forms: list[Form]

    def form_with(self, name: str) -> Form | None:
        return next((f for f in self.forms if name in f.fields), None)


@dataclass
class Hop:
    method: str
    url: str
    status: int
    note: str = ""


class HeadlessBrowser:
    """One browser profile (a cookie jar) that records every request it makes."""

    def __init__(self, session: aiohttp.ClientSession | None = None) -> None:
        # aiohttp ignores cookies from IP-address hosts unless the jar is "unsafe"; the
        # emulator runs on 127.0.0.1 (reference saml.md pitfall 11).
        self.session = session or aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))
        self.hops: list[Hop] = []

    async def close(self) -> None:
        await self.session.close()

    async def __aenter__(self) -> HeadlessBrowser:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def get(self, url: str) -> Page:
        return await self._go("GET", url, None)

    async def submit(
        self, page: Page, form: Form, button: tuple[str, str, str] | None = None, **values: str
    ) -> Page:
        """Submit `form` as a browser would: its fields, the values typed, the button clicked."""
        data = {**form.fields, **values}
        if button and button[0]:
            data[button[0]] = button[1]
        url = urljoin(page.url, form.action or page.url)
        if form.method == "GET":
            return await self._go("GET", url, None, params=data)
        return await self._go("POST", url, data)

    async def _go(self, method: str, url: str, data: dict | None, params: dict | None = None) -> Page:
        async with self.session.request(method, url, data=data, params=params, allow_redirects=False) as resp:
            self.hops.append(Hop(method, str(resp.url), resp.status))
            if resp.status in (301, 302, 303, 307, 308) and "Location" in resp.headers:
                target = urljoin(str(resp.url), resp.headers["Location"])
                keep_body = resp.status in (307, 308)
                return await self._go(method if keep_body else "GET", target, data if keep_body else None)
            html = await resp.text(errors="replace")
            parser = _FormParser()
            parser.feed(html)
            return Page(str(resp.url), resp.status, html, parser.title.strip(), parser.forms)


_MARKERS = {
    "signed_in": re.compile(r'data-signed-in="([^"]*)"'),
    "refusal": re.compile(r'data-refusal="([^"]*)"'),
    "error_code": re.compile(r'data-error-code="([^"]*)"'),
}


@dataclass
class SignInResult:
    """Where a scripted sign-in ended: signed in to Galaxy, refused by Galaxy, or stopped by
    Entra; with every hop, and the words the last page shows."""

    outcome: str  # signed-in | refused | entra-error | stuck
    detail: str
    hops: list[Hop]
    page: Page

    @property
    def signed_in(self) -> bool:
        return self.outcome == "signed-in"


async def sign_in(
    browser: HeadlessBrowser,
    base_url: str,
    email: str,
    password: str | None = None,
    *,
    idp_initiated: bool = False,
    app_name: str = "Starburst Galaxy",
    max_steps: int = 12,
) -> SignInResult:
    """Sign in to Galaxy as `email` through Entra, SP-initiated from Galaxy's Azure button or
    IdP-initiated from My Apps, doing at each page what a person would."""
    start = f"{base_url}/entra/myapps" if idp_initiated else f"{base_url}/galaxy/login/azure"
    page = await browser.get(start)
    for _ in range(max_steps):
        if match := _MARKERS["signed_in"].search(page.html):
            return SignInResult("signed-in", match.group(1), browser.hops, page)
        if match := _MARKERS["refusal"].search(page.html):
            return SignInResult("refused", _reason(page), browser.hops, page)
        if match := _MARKERS["error_code"].search(page.html):
            return SignInResult("entra-error", f"{match.group(1)}: {_reason(page)}", browser.hops, page)
        step = _next_step(page, email, password, app_name)
        if step is None:
            return SignInResult("stuck", f"nothing to do on '{page.title}' ({page.url})", browser.hops, page)
        form, values = step
        page = await browser.submit(page, form, **values)
    return SignInResult("stuck", f"no result after {max_steps} pages", browser.hops, page)


def _next_step(page: Page, email: str, password: str | None, app_name: str) -> tuple[Form, dict] | None:
    if form := page.form_with("SAMLResponse"):
        return form, {}  # the auto-posting form a browser's script would submit
    if (form := page.form_with("password")) is not None:
        if password is None:
            return None
        return form, {"password": password}
    for form in page.forms:
        if "username" in form.fields and not form.fields["username"]:
            return form, {"username": email}  # "Use another account": works for any user
    for form in page.forms:
        if "/myapps/launch/" in form.action and app_name.lower() in form.text.lower():
            return form, {}
    return None


def _reason(page: Page) -> str:
    main = re.search(r"<main[^>]*>(.*?)</main>", page.html, re.S)
    text = re.sub(r"<[^>]+>", " ", main.group(1) if main else page.html)
    return " ".join(text.split())[:300]
