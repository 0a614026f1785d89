"""A scripted browser for the SAML flows: cookies, redirects and HTML forms over real HTTP.

`scim-emulator login`, the login benchmark and the tests walk Galaxy's and Entra's pages the
way a browser does (follow the redirect to the sign-in page, pick the account, let the
auto-posting form carry the SAMLResponse to Galaxy), recording every hop, so the whole flow is
exercised without Chromium.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urljoin

import aiohttp
import lxml.html


@dataclass
class Form:
    """One HTML form: where it goes, its fields, and its submit buttons (name, value, label)."""

    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)
    text: str = ""


def _parse(html: str) -> tuple[str, list[Form]]:
    """The page title and its forms, read with lxml's HTML parser (C, fast: a login walks
    half a dozen pages, and the benchmark times the whole round trip)."""
    if not html.strip():
        return "", []
    doc = lxml.html.document_fromstring(html)
    forms = []
    for element in doc.forms:
        form = Form(element.get("action", ""), (element.get("method") or "get").upper())
        for control in element.inputs:
            name = control.get("name")
            kind = (control.get("type") or "text").lower()
            if not name:
                continue
            if control.tag == "input" and kind == "submit":
                form.buttons.append((name, control.get("value", ""), control.get("value", "")))
            elif kind not in ("checkbox", "radio") or control.get("checked") is not None:
                text = (control.text or "") if control.tag == "textarea" else ""
                form.fields.setdefault(name, control.get("value") or text)
        for button in element.iter("button"):
            form.buttons.append(
                (button.get("name", ""), button.get("value", ""), button.text_content().strip())
            )
        form.text = element.text_content()
        forms.append(form)
    title = doc.findtext(".//title") or ""
    return title.strip(), forms


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
            title, forms = _parse(html)
            return Page(str(resp.url), resp.status, html, title, forms)


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
