"""Helpers for tests of Entra's SAML IdP: a cookie-keeping browser that reads forms, and two
independent service providers (pysaml2's Saml2Client and python3-saml) configured from the
emulator's own federation metadata."""

from __future__ import annotations

import base64
import warnings
import zlib
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qs, urlsplit

import aiohttp
from lxml import etree, html

from emulator.saml.backend import client_from_settings
from emulator.saml.xml import SAML_ASSERTION_NS, SAML_PROTOCOL_NS, parse_xml
from tests.conftest import Running
from tests.entra_helpers import APP, Control

with warnings.catch_warnings():
    # pysaml2 7.5 touches a deprecated cryptography name at import (saml.md pitfall 12)
    warnings.simplefilter("ignore")
    from onelogin.saml2.auth import OneLogin_Saml2_Auth
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS

SP_ENTITY = "https://galaxy.example/saml/metadata"
ACS_URL = "https://galaxy.example/saml/acs"
LOGOUT_URL = "https://galaxy.example/saml/logout"
NS = {"samlp": SAML_PROTOCOL_NS, "saml": SAML_ASSERTION_NS, "ds": "http://www.w3.org/2000/09/xmldsig#"}
PASSWORD = "Correct-Horse-9"


@dataclass
class Page:
    """One HTTP answer as a browser sees it."""

    status: int
    url: str
    text: str
    headers: dict = field(default_factory=dict)

    @property
    def doc(self) -> Any:
        return html.fromstring(self.text or "<html/>")

    def forms(self) -> list[tuple[str, dict[str, str]]]:
        """Every form: its action and its named input values."""
        found = []
        for form in self.doc.forms:
            values = {i.name: i.value or "" for i in form.inputs if i.name and i.tag == "input"}
            found.append((form.action or self.url, values))
        return found

    def form_with(self, **wanted: str) -> tuple[str, dict[str, str]]:
        for action, values in self.forms():
            if all(values.get(k) == v for k, v in wanted.items()):
                return action, values
        raise AssertionError(f"no form with {wanted} on {self.url}:\n{self.text[:3000]}")

    @property
    def error_code(self) -> str | None:
        found = self.doc.xpath("//*[@data-error-code]/@data-error-code")
        return found[0] if found else None

    @property
    def mode(self) -> str | None:
        found = self.doc.xpath("//*[@data-mode]/@data-mode")
        return found[0] if found else None

    def saml_post(self) -> tuple[str, str, str | None]:
        """(action, SAMLResponse, RelayState) of an auto-posting form."""
        action, values = self.form_with()
        assert "SAMLResponse" in values, self.text[:2000]
        return action, values["SAMLResponse"], values.get("RelayState")


class Browser:
    """An aiohttp session that keeps cookies of 127.0.0.1 (saml.md pitfall 11) and does not
    follow redirects by itself, so each hop can be looked at."""

    def __init__(self, emu: Running) -> None:
        self.emu = emu
        self.session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True))

    def absolute(self, url: str) -> str:
        return url if url.startswith("http") else self.emu.url + url

    async def get(self, url: str, *, follow: bool = True) -> Page:
        return await self._send("GET", url, None, follow)

    async def post(self, url: str, data: dict[str, str], *, follow: bool = True) -> Page:
        return await self._send("POST", url, data, follow)

    async def _send(self, method: str, url: str, data: dict | None, follow: bool) -> Page:
        url = self.absolute(url)
        async with self.session.request(method, url, data=data, allow_redirects=False) as resp:
            page = Page(resp.status, url, await resp.text(), dict(resp.headers))
        if (
            follow
            and page.status in (301, 302, 303, 307)
            and page.headers["Location"].startswith(("/", self.emu.url))
        ):
            return await self.get(page.headers["Location"])
        return page

    async def submit(self, page: Page, **wanted: str) -> Page:
        action, values = page.form_with(**wanted)
        return await self.post(action, values)

    async def pick(self, page: Page, user: dict) -> Page:
        """Click the account tile of `user`."""
        return await self.submit(page, username=user["id"])

    async def type_password(self, page: Page, password: str) -> Page:
        action, values = page.form_with()
        return await self.post(action, {**values, "password": password})

    async def close(self) -> None:
        await self.session.close()


# -- the tenant ------------------------------------------------------------------------------------


async def configure_saml(control: Control, **settings: Any) -> dict:
    body = {"identifiers": [SP_ENTITY], "replyUrls": [ACS_URL], **settings}
    return await control.call("PATCH", f"/entra/apps/{APP}/saml", body)


async def metadata(emu: Running, control: Control) -> tuple[str, dict]:
    view = await control.call("GET", f"/entra/apps/{APP}/saml")
    async with emu.session.get(view["entra"]["appFederationMetadataUrl"]) as resp:
        assert resp.status == 200
        return await resp.text(), view


# -- pysaml2 as the SP -----------------------------------------------------------------------------


def pysaml2_sp(idp_metadata: str, **options: Any) -> Any:
    settings = {
        "entityid": SP_ENTITY,
        "allow_unknown_attributes": True,
        "accepted_time_diff": 180,
        "service": {
            "sp": {
                "endpoints": {
                    "assertion_consumer_service": [(ACS_URL, BINDING_HTTP_POST)],
                    "single_logout_service": [(LOGOUT_URL, BINDING_HTTP_REDIRECT)],
                },
                # accepts each of Entra's three signing options, refuses unsigned (saml.md §3)
                "want_assertions_or_response_signed": True,
                "want_response_signed": False,
                "want_assertions_signed": False,
                "name_id_format": [NAMEID_FORMAT_EMAILADDRESS],
                "allow_unsolicited": True,
            }
        },
        "metadata": {"inline": [idp_metadata]},
    }
    return client_from_settings(settings, **options)


def redirect_request(
    client: Any, idp_entity: str, relay_state: str = "rs-1", **kwargs: Any
) -> tuple[str, str]:
    """(request id, URL) of an SP-initiated HTTP-Redirect AuthnRequest."""
    request_id, info = client.prepare_for_authenticate(
        entityid=idp_entity, relay_state=relay_state, binding=BINDING_HTTP_REDIRECT, **kwargs
    )
    return request_id, dict(info["headers"])["Location"]


def post_request(client: Any, sso_url: str) -> tuple[str, str]:
    """(request id, base64 SAMLRequest) of an HTTP-POST AuthnRequest."""
    request_id, request = client.create_authn_request(sso_url, binding=BINDING_HTTP_POST)
    return request_id, base64.b64encode(str(request).encode()).decode()


def parse_with_pysaml2(client: Any, saml_response: str, request_id: str | None) -> Any:
    outstanding = {request_id: "/"} if request_id else {}
    return client.parse_authn_request_response(saml_response, BINDING_HTTP_POST, outstanding=outstanding)


# -- python3-saml as the SP ------------------------------------------------------------------------

ONELOGIN_REQUEST = {
    "https": "on",
    "http_host": "galaxy.example",
    "script_name": "/saml/acs",
    "get_data": {},
    "post_data": {},
}


def onelogin_settings(idp_metadata: str, *, assertion_signed: bool, response_signed: bool) -> dict:
    parsed = OneLogin_Saml2_IdPMetadataParser.parse(idp_metadata)
    base = {
        "strict": True,
        "debug": False,
        "sp": {
            "entityId": SP_ENTITY,
            "assertionConsumerService": {"url": ACS_URL, "binding": BINDING_HTTP_POST},
            "singleLogoutService": {"url": LOGOUT_URL, "binding": BINDING_HTTP_REDIRECT},
        },
        "security": {
            "wantAssertionsSigned": assertion_signed,
            "wantMessagesSigned": response_signed,
            "rejectDeprecatedAlgorithm": False,
        },
    }
    return OneLogin_Saml2_IdPMetadataParser.merge_settings(base, parsed)


def onelogin_auth(settings: dict, post_data: dict | None = None, get_data: dict | None = None) -> Any:
    request = {**ONELOGIN_REQUEST, "post_data": post_data or {}, "get_data": get_data or {}}
    return OneLogin_Saml2_Auth(request, settings)


# -- reading what came back ------------------------------------------------------------------------


def response_xml(saml_response: str) -> etree._Element:
    return parse_xml(base64.b64decode(saml_response))


def redirect_message(url: str) -> tuple[etree._Element, dict[str, str]]:
    """The SAML message of an HTTP-Redirect URL, and its query parameters."""
    query = {k: v[0] for k, v in parse_qs(urlsplit(url).query).items()}
    key = "SAMLResponse" if "SAMLResponse" in query else "SAMLRequest"
    xml = zlib.decompress(base64.b64decode(query[key]), -15)
    return parse_xml(xml), query


def deflate_b64(xml: bytes) -> str:
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    return base64.b64encode(compressor.compress(xml) + compressor.flush()).decode()
