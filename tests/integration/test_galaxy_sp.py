"""Galaxy's SAML service provider and its login page, over real HTTP on 127.0.0.1.

Galaxy is configured by hand with a stand-in IdP's certificate (as an administrator pastes
Entra's "Certificate (Base64)"), and the responses are built with lxml and signed by signxml, an
independent signer, so Galaxy's half is tested without Entra's. Every attack row of reference
saml.md §3 is here, each answered with a 403 page naming the reason, never a 500.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer
from lxml import etree

from emulator.app import STARTUP
from emulator.clock import ManualClock
from emulator.galaxy.pages import GALAXY_SSO
from emulator.galaxy.sso import ACCOUNTADMIN_EMAIL
from tests.conftest import TOKEN, Running, StartEmulator
from tests.galaxy_saml import (
    DS,
    NS,
    SAML,
    SAMLP,
    KeyPair,
    StandInIdp,
    assertion_of,
    authn_request_from,
    copy_of,
    edit,
    encode,
    set_name_id,
)
from tests.helpers import free_port

ALICE = "alice@contoso.example"


@pytest.fixture(autouse=True)
def _quiet_pysaml2(caplog: pytest.LogCaptureFixture) -> None:
    # pysaml2 logs every refusal at ERROR with the whole document: keep failures readable.
    caplog.set_level("CRITICAL", logger="saml2")


@pytest.fixture(scope="module")
def idp_keys() -> KeyPair:
    return KeyPair.generate()


@pytest.fixture(scope="module")
def attacker_keys() -> KeyPair:
    return KeyPair.generate()


@dataclass
class Reply:
    status: int
    text: str
    headers: dict

    @property
    def location(self) -> str | None:
        return self.headers.get("Location")


@dataclass
class Galaxy:
    """A running emulator seen by one browser, plus the stand-in IdP."""

    running: Running
    clock: ManualClock
    idp: StandInIdp
    browser: aiohttp.ClientSession

    @property
    def base(self) -> str:
        return self.running.url + "/galaxy"

    @property
    def acs(self) -> str:
        return self.base + "/saml/acs"

    @property
    def entity_id(self) -> str:
        return self.base + "/saml"

    async def request(self, method: str, url: str, **kw) -> Reply:
        kw.setdefault("allow_redirects", False)
        async with self.browser.request(method, url, **kw) as resp:
            return Reply(resp.status, await resp.text(), dict(resp.headers))

    async def control(self, method: str, body: dict | None = None) -> Reply:
        return await self.request(method, self.running.url + "/_emulator/galaxy/sso", json=body)

    async def configure_manually(self, **extra) -> Reply:
        body = {
            "certificate": self.idp.keys.cert_pem,
            "loginUrl": self.idp.login_url,
            "entraIdentifier": self.idp.entity_id,
            **extra,
        }
        reply = await self.control("PUT", body)
        assert reply.status == 200, reply.text
        return reply

    async def provision(self, email: str = ALICE, *, active: bool = True) -> str:
        """What Entra's provisioning cycle does: a SCIM POST to Galaxy's receiver."""
        reply = await self.running.scim().post(
            "/Users",
            {
                "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
                "userName": email,
                "displayName": email.split("@")[0].title(),
                "active": active,
            },
        )
        assert reply.status == 201, reply.body
        return reply.json["id"]

    async def deactivate(self, user_id: str) -> None:
        """What the next cycle after an unassignment sends (reference §1.7: disable, not delete)."""
        reply = await self.running.scim().patch(
            f"/Users/{user_id}",
            {
                "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
                "Operations": [{"op": "Replace", "path": "active", "value": "False"}],
            },
        )
        assert reply.status == 200, reply.body

    async def start_sp_login(self, next_path: str | None = None) -> tuple[str, str | None]:
        """Press Azure: the AuthnRequest's ID and the RelayState, from the redirect."""
        url = self.base + "/login/azure" + (f"?next={next_path}" if next_path else "")
        reply = await self.request("GET", url)
        assert reply.status == 302, reply.text
        assert reply.location.startswith(self.idp.login_url + "?")
        request, query = authn_request_from(reply.location)
        return request.get("ID"), query.get("RelayState", [None])[0]

    def response(self, **kw) -> bytes:
        kw.setdefault("now", self.clock.now())
        kw.setdefault("email", ALICE)
        kw.setdefault("acs", self.acs)
        kw.setdefault("audience", self.entity_id)
        return self.idp.response(**kw)

    async def post_acs(
        self, document: bytes | None = None, *, raw: str | None = None, relay: str | None = None
    ) -> Reply:
        form = {"SAMLResponse": raw if raw is not None else encode(document)}
        if relay is not None:
            form["RelayState"] = relay
        return await self.request("POST", self.acs, data=form)

    async def whoami(self) -> dict:
        reply = await self.request("GET", self.base + "/", headers={"Accept": "application/json"})
        return {"status": reply.status, **json.loads(reply.text)}

    async def csrf(self) -> str:
        page = await self.request("GET", self.base + "/login")
        return re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)

    async def sign_in_directly(self, email: str, password: str) -> Reply:
        token = await self.csrf()
        return await self.request(
            "POST", self.base + "/login", data={"csrf_token": token, "email": email, "password": password}
        )


@pytest.fixture
async def galaxy(start_emulator: StartEmulator, idp_keys: KeyPair) -> AsyncIterator[Galaxy]:
    clock = ManualClock()
    running = await start_emulator(clock)
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as browser:
        yield Galaxy(running, clock, StandInIdp(idp_keys), browser)


@pytest.fixture
async def sso(galaxy: Galaxy) -> Galaxy:
    """Galaxy with SSO configured by manual entry and Alice provisioned and active."""
    await galaxy.configure_manually()
    await galaxy.provision()
    return galaxy


def assert_refused(reply: Reply, code: str, *words: str) -> None:
    """A 403 page naming the reason (and its code), never a 500, and no session started."""
    assert reply.status == 403, (reply.status, reply.text[:500])
    found = re.search(r'data-refusal="([^"]*)">([^<]*)<', reply.text)
    assert found, reply.text
    reason = found.group(2)
    assert found.group(1) == code, (found.group(1), reason)
    for word in words:
        assert word.lower() in reason.lower(), (word, reason)
    assert "galaxy_session=" not in reply.headers.get("Set-Cookie", "")


# -- direct login --------------------------------------------------------------------------------


async def test_accountadmin_signs_in_with_the_password_generated_on_first_start(galaxy: Galaxy) -> None:
    password = galaxy.running.server.app[STARTUP].galaxy_admin_password
    assert password
    reply = await galaxy.sign_in_directly(ACCOUNTADMIN_EMAIL, password)
    assert reply.status == 303 and reply.location == "/galaxy/"
    cookie = reply.headers["Set-Cookie"]
    assert "galaxy_session=" in cookie and "HttpOnly" in cookie and "SameSite=Lax" in cookie
    assert "Path=/galaxy" in cookie
    me = await galaxy.whoami()
    assert me["email"] == ACCOUNTADMIN_EMAIL and me["method"] == "password"
    home = await galaxy.request("GET", galaxy.base + "/")
    assert "Account admin" in home.text and "email and password" in home.text


async def test_the_accountadmin_password_is_generated_once_per_data_folder(
    start_emulator: StartEmulator, tmp_path
) -> None:
    first = await start_emulator(data_dir=tmp_path / "once")
    assert first.server.app[STARTUP].galaxy_admin_password
    await first.server.close()
    again = await start_emulator(data_dir=tmp_path / "once")
    assert again.server.app[STARTUP].galaxy_admin_password is None


async def test_a_wrong_password_is_refused_on_the_login_page(galaxy: Galaxy) -> None:
    reply = await galaxy.sign_in_directly(ACCOUNTADMIN_EMAIL, "not-the-password")
    assert reply.status == 401
    assert "Incorrect email or password" in reply.text
    assert (await galaxy.whoami())["status"] == 401
    unknown = await galaxy.sign_in_directly("nobody@galaxy.example", "whatever")
    assert unknown.status == 401


async def test_a_login_post_without_the_csrf_token_is_refused(galaxy: Galaxy) -> None:
    password = galaxy.running.server.app[STARTUP].galaxy_admin_password
    await galaxy.csrf()  # the browser holds the cookie, but the form leaves the field out
    reply = await galaxy.request(
        "POST", galaxy.base + "/login", data={"email": ACCOUNTADMIN_EMAIL, "password": password}
    )
    assert reply.status == 403 and "Request refused" in reply.text
    assert (await galaxy.whoami())["status"] == 401


async def test_the_scim_api_is_not_asked_for_a_csrf_token(galaxy: Galaxy) -> None:
    # The pages' CSRF check must not reach the SCIM sub-app (bearer tokens, no cookies).
    await galaxy.provision("carol@contoso.example")


async def test_each_sign_in_gets_a_new_session_id_and_logout_ends_it(galaxy: Galaxy) -> None:
    password = galaxy.running.server.app[STARTUP].galaxy_admin_password
    first = await galaxy.sign_in_directly(ACCOUNTADMIN_EMAIL, password)
    second = await galaxy.sign_in_directly(ACCOUNTADMIN_EMAIL, password)
    id_of = lambda reply: re.search(r"galaxy_session=([^;]+)", reply.headers["Set-Cookie"]).group(1)  # noqa: E731
    assert id_of(first) != id_of(second)
    # The conftest's session keeps no cookies for an IP host, so only this header is sent.
    async with galaxy.running.session.get(
        galaxy.base + "/", headers={"Accept": "application/json", "Cookie": f"galaxy_session={id_of(first)}"}
    ) as old:
        assert old.status == 401  # the first session ended when the second began
    token = await galaxy.csrf()
    out = await galaxy.request("POST", galaxy.base + "/logout", data={"csrf_token": token})
    assert out.status == 303 and out.location == "/galaxy/login"
    assert (await galaxy.whoami())["status"] == 401
    landing = await galaxy.request("GET", galaxy.base + "/")
    assert landing.status == 303 and landing.location.startswith("/galaxy/login")


async def test_scenario_direct_users_sign_in(galaxy: Galaxy) -> None:
    sso_service = galaxy.running.server.app[GALAXY_SSO]
    sso_service.direct_users.add_scenario_user(
        {"email": "Dana@Contoso.example", "password": "pa55word!", "roles": ["public"], "displayName": "Dana"}
    )
    reply = await galaxy.sign_in_directly("dana@contoso.example", "pa55word!")
    assert reply.status == 303
    assert (await galaxy.whoami())["displayName"] == "Dana"


# -- SSO configuration ---------------------------------------------------------------------------


async def test_galaxy_shows_its_own_values_to_copy_into_entra(galaxy: Galaxy) -> None:
    view = (await galaxy.control("GET")).text
    values = json.loads(view)
    assert values["configured"] is False
    assert values["galaxy"] == {
        "entityId": galaxy.base + "/saml",
        "replyUrl": galaxy.base + "/saml/acs",
        "relayState": galaxy.base + "/",
        "metadataUrl": galaxy.base + "/saml/metadata",
        "loginUrl": galaxy.base + "/login",
    }
    metadata = await galaxy.request("GET", galaxy.base + "/saml/metadata")
    root = etree.fromstring(metadata.text.encode())
    assert root.get("entityID") == galaxy.entity_id
    md = "{urn:oasis:names:tc:SAML:2.0:metadata}"
    acs = root.find(f"{md}SPSSODescriptor/{md}AssertionConsumerService")
    assert acs.get("Location") == galaxy.acs and acs.get("Binding").endswith("HTTP-POST")


async def test_sso_configured_by_manual_entry(galaxy: Galaxy) -> None:
    login = await galaxy.request("GET", galaxy.base + "/login")
    assert ">Azure<" not in login.text
    reply = await galaxy.configure_manually()
    view = json.loads(reply.text)
    assert view["source"] == "manual" and view["entraIdentifier"] == galaxy.idp.entity_id
    assert view["loginUrl"] == galaxy.idp.login_url
    assert view["certificates"][0]["subject"] == "CN=Microsoft Azure Federated SSO Certificate"
    assert view["allowSha1"] is False and view["allowUnsolicited"] is True
    login = await galaxy.request("GET", galaxy.base + "/login")
    assert ">Azure<" in login.text and 'name="password"' in login.text


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"certificate": "not a certificate"}, "not valid Base64"),
        ({"certificate": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}, "X.509"),
        ({"loginUrl": "login.microsoftonline.com/x/saml2"}, "Login URL"),
        ({"entraIdentifier": " "}, "Microsoft Entra Identifier"),
    ],
)
async def test_manual_entry_mistakes_are_clear_errors(galaxy: Galaxy, change: dict, message: str) -> None:
    body = {
        "certificate": galaxy.idp.keys.cert_pem,
        "loginUrl": galaxy.idp.login_url,
        "entraIdentifier": galaxy.idp.entity_id,
        **change,
    }
    reply = await galaxy.control("PUT", body)
    assert reply.status == 400 and message in reply.text
    assert json.loads((await galaxy.control("GET")).text)["configured"] is False


@pytest.fixture
async def metadata_server(idp_keys: KeyPair) -> AsyncIterator[str]:
    """A web server standing in for login.microsoftonline.com's federation metadata."""
    idp = StandInIdp(idp_keys)

    async def metadata(request: web.Request) -> web.Response:
        return web.Response(body=idp.metadata(), content_type="application/xml")

    async def html(request: web.Request) -> web.Response:
        return web.Response(text="<html><body>Sign in</body></html>", content_type="text/html")

    app = web.Application()
    app.router.add_get("/federationmetadata/2007-06/federationmetadata.xml", metadata)
    app.router.add_get("/html", html)
    server = TestServer(app, host="127.0.0.1", port=free_port())
    await server.start_server()
    yield str(server.make_url("")).rstrip("/")
    await server.close()


async def test_sso_configured_by_app_federation_metadata_url(galaxy: Galaxy, metadata_server: str) -> None:
    url = metadata_server + "/federationmetadata/2007-06/federationmetadata.xml?appid=1234"
    reply = await galaxy.control("PUT", {"metadataUrl": url})
    assert reply.status == 200, reply.text
    view = json.loads(reply.text)
    assert view["source"] == "metadataUrl" and view["metadataUrl"] == url
    assert view["entraIdentifier"] == galaxy.idp.entity_id and view["loginUrl"] == galaxy.idp.login_url
    await galaxy.provision()
    request_id, relay = await galaxy.start_sp_login()
    signed_in = await galaxy.post_acs(galaxy.response(in_response_to=request_id), relay=relay)
    assert signed_in.status == 303


async def test_a_metadata_url_that_cannot_be_used_is_a_clear_error(
    galaxy: Galaxy, metadata_server: str
) -> None:
    missing = await galaxy.control("PUT", {"metadataUrl": metadata_server + "/nothing-here"})
    assert missing.status == 400 and "answered HTTP 404" in missing.text
    not_metadata = await galaxy.control("PUT", {"metadataUrl": metadata_server + "/html"})
    assert not_metadata.status == 400 and "not SAML metadata" in not_metadata.text
    unreachable = await galaxy.control("PUT", {"metadataUrl": f"http://127.0.0.1:{free_port()}/md.xml"})
    assert unreachable.status == 400 and "could not be fetched" in unreachable.text
    both = await galaxy.control(
        "PUT", {"metadataUrl": metadata_server + "/x", "loginUrl": "https://x.example"}
    )
    assert both.status == 400 and "either" in both.text


async def test_deleting_the_sso_configuration_leaves_direct_login(galaxy: Galaxy) -> None:
    await galaxy.configure_manually()
    assert (await galaxy.control("DELETE")).status == 204
    login = await galaxy.request("GET", galaxy.base + "/login")
    assert ">Azure<" not in login.text
    azure = await galaxy.request("GET", galaxy.base + "/login/azure")
    assert azure.status == 409 and "not configured" in azure.text.lower()
    password = galaxy.running.server.app[STARTUP].galaxy_admin_password
    assert (await galaxy.sign_in_directly(ACCOUNTADMIN_EMAIL, password)).status == 303


async def test_the_sso_page_is_for_account_admins(galaxy: Galaxy) -> None:
    page = await galaxy.request("GET", galaxy.base + "/access/sso")
    assert page.status == 303  # to the login page
    password = galaxy.running.server.app[STARTUP].galaxy_admin_password
    await galaxy.sign_in_directly(ACCOUNTADMIN_EMAIL, password)
    page = await galaxy.request("GET", galaxy.base + "/access/sso")
    assert page.status == 200 and galaxy.acs in page.text and galaxy.entity_id in page.text
    token = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    saved = await galaxy.request(
        "POST",
        galaxy.base + "/access/sso",
        data={
            "csrf_token": token,
            "source": "manual",
            "certificate": galaxy.idp.keys.cert_pem,
            "loginUrl": galaxy.idp.login_url,
            "entraIdentifier": galaxy.idp.entity_id,
            "allowUnsolicited": "on",
        },
    )
    assert saved.status == 303
    page = await galaxy.request("GET", galaxy.base + "/access/sso")
    assert "manual entry" in page.text and galaxy.idp.entity_id in page.text


# -- accepted sign-ins -----------------------------------------------------------------------------


@pytest.mark.parametrize("sign", ["assertion", "response", "both"])
async def test_sp_initiated_sign_in_with_a_response_signed_by_an_independent_signer(
    sso: Galaxy, sign: str
) -> None:
    request_id, relay = await sso.start_sp_login(next_path="/galaxy/")
    reply = await sso.post_acs(sso.response(in_response_to=request_id, sign=sign), relay=relay)
    assert reply.status == 303 and reply.location == "/galaxy/", reply.text
    cookie = reply.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Lax" in cookie and "Path=/galaxy" in cookie
    me = await sso.whoami()
    assert me["email"] == ALICE and me["method"] == "sso" and me["solicited"] is True
    assert me["issuer"] == sso.idp.entity_id
    home = await sso.request("GET", sso.base + "/")
    assert ALICE in home.text and "single sign-on" in home.text


async def test_the_authn_request_goes_by_redirect_to_the_login_url(sso: Galaxy) -> None:
    reply = await sso.request("GET", sso.base + "/login/azure")
    request, _ = authn_request_from(reply.location)
    assert etree.QName(request).localname == "AuthnRequest"
    assert request.get("AssertionConsumerServiceURL") == sso.acs
    assert request.get("Destination") == sso.idp.login_url
    assert request.findtext(f"{{{SAML}}}Issuer") == sso.entity_id
    assert not request.get("ID")[0].isdigit()  # Entra refuses IDs starting with a digit
    policy = request.find(f"{{{SAMLP}}}NameIDPolicy")
    assert policy is not None and policy.get("Format").endswith("emailAddress")


async def test_idp_initiated_sign_in_from_my_apps_lands_on_the_relay_state(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(), relay=sso.base + "/")
    assert reply.status == 303 and reply.location == "/galaxy/"
    me = await sso.whoami()
    assert me["email"] == ALICE and me["solicited"] is False


async def test_a_relay_state_to_another_site_is_not_followed(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(), relay="https://evil.example/galaxy/")
    assert reply.status == 303 and reply.location == "/galaxy/"


async def test_the_name_id_matches_the_scim_user_name_case_insensitively(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(email="Alice@Contoso.Example"))
    assert reply.status == 303
    assert (await sso.whoami())["email"] == ALICE


async def test_three_minutes_of_clock_skew_are_allowed(sso: Galaxy) -> None:
    ahead = sso.response(now=sso.clock.now() + timedelta(minutes=2))  # the IdP's clock runs ahead
    assert (await sso.post_acs(ahead)).status == 303
    too_far = sso.response(now=sso.clock.now() + timedelta(minutes=4))
    assert_refused(await sso.post_acs(too_far), "not-yet-valid", "in the future")


async def test_sha1_is_accepted_when_the_setting_allows_it(sso: Galaxy) -> None:
    await sso.configure_manually(allowSha1=True)
    reply = await sso.post_acs(sso.response(algorithm="rsa-sha1"))
    assert reply.status == 303


async def test_a_deflated_response_is_read_too(sso: Galaxy) -> None:
    deflater = zlib.compressobj(9, zlib.DEFLATED, -15)
    raw = deflater.compress(sso.response()) + deflater.flush()
    reply = await sso.post_acs(raw=base64.b64encode(raw).decode())
    assert reply.status == 303


async def test_the_time_checks_follow_the_emulator_clock_not_the_wall_clock(sso: Galaxy) -> None:
    sso.clock.advance(timedelta(days=400))  # a demo skipping ahead: pysaml2 alone would refuse
    assert (await sso.post_acs(sso.response())).status == 303


# -- admission: provisioned and active -------------------------------------------------------------


async def test_a_user_not_provisioned_yet_is_refused(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(email="bob@contoso.example"))
    assert_refused(reply, "not-provisioned", "not provisioned yet", "bob@contoso.example")
    assert (await sso.whoami())["status"] == 401


async def test_a_deactivated_user_is_refused(sso: Galaxy) -> None:
    user_id = await sso.provision("erin@contoso.example")
    assert (await sso.post_acs(sso.response(email="erin@contoso.example"))).status == 303
    await sso.deactivate(user_id)
    reply = await sso.post_acs(sso.response(email="erin@contoso.example"))
    assert_refused(reply, "deactivated", "deactivated")


async def test_a_name_id_that_is_not_an_email_is_refused(sso: Galaxy) -> None:
    assert_refused(await sso.post_acs(sso.response(email="alice")), "name-id-not-email", "not an email")


# -- the tamper and XSW table (reference saml.md §3) -----------------------------------------------


async def test_a_name_id_changed_after_signing_is_refused(sso: Galaxy) -> None:
    await sso.provision("mallory@contoso.example")
    forged = edit(sso.response(), lambda root: set_name_id(assertion_of(root), "mallory@contoso.example"))
    assert_refused(await sso.post_acs(forged), "bad-signature", "signature")
    assert (await sso.whoami())["status"] == 401


async def test_an_attribute_changed_after_signing_is_refused(sso: Galaxy) -> None:
    def promote(root: etree._Element) -> None:
        value = assertion_of(root).find(".//saml:AttributeValue", NS)
        value.text = "admin@contoso.example"

    assert_refused(await sso.post_acs(edit(sso.response(), promote)), "bad-signature", "signature")


@pytest.mark.parametrize("sign", ["assertion", "response", "both"])
async def test_a_stripped_signature_is_refused(sso: Galaxy, sign: str) -> None:
    def strip(root: etree._Element) -> None:
        for signature in root.iter(f"{{{DS}}}Signature"):
            signature.getparent().remove(signature)

    assert_refused(await sso.post_acs(edit(sso.response(sign=sign), strip)), "unsigned", "neither", "signed")


async def test_xsw_an_unsigned_forged_assertion_before_the_signed_one_is_refused(sso: Galaxy) -> None:
    await sso.provision("mallory@contoso.example")

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy_of(genuine)
        forged.remove(forged.find("ds:Signature", NS))
        forged.set("ID", "_forged")
        set_name_id(forged, "mallory@contoso.example")
        genuine.addprevious(forged)

    assert_refused(
        await sso.post_acs(edit(sso.response(), wrap)), "signature-wrapping", "exactly one assertion"
    )


async def test_xsw_same_id_forgery_with_the_genuine_assertion_in_extensions_is_refused(sso: Galaxy) -> None:
    # The case pyXMLSecurity accepted (saml.md §3): only the duplicate-ID rule catches it.
    await sso.provision("mallory@contoso.example")

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy_of(genuine)
        set_name_id(forged, "mallory@contoso.example")
        genuine.addprevious(forged)
        extensions = etree.Element(f"{{{SAMLP}}}Extensions")
        root.find("saml:Issuer", NS).addnext(extensions)
        extensions.append(genuine)

    assert_refused(await sso.post_acs(edit(sso.response(), wrap)), "signature-wrapping", "wrapping")


async def test_xsw_the_genuine_assertion_inside_the_forged_ones_ds_object_is_refused(sso: Galaxy) -> None:
    await sso.provision("mallory@contoso.example")

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy_of(genuine)
        forged.set("ID", "_forged")
        set_name_id(forged, "mallory@contoso.example")
        carrier = etree.SubElement(forged.find("ds:Signature", NS), f"{{{DS}}}Object")
        genuine.addprevious(forged)
        genuine.remove(genuine.find("ds:Signature", NS))
        carrier.append(genuine)

    assert_refused(await sso.post_acs(edit(sso.response(), wrap)), "bad-signature", "signature")


async def test_xsw_a_forged_assertion_wrapping_the_signed_one_is_refused(sso: Galaxy) -> None:
    await sso.provision("mallory@contoso.example")

    def wrap(root: etree._Element) -> None:
        genuine = assertion_of(root)
        forged = copy_of(genuine)
        forged.remove(forged.find("ds:Signature", NS))
        forged.set("ID", "_forged")
        set_name_id(forged, "mallory@contoso.example")
        genuine.addprevious(forged)
        etree.SubElement(forged, f"{{{SAML}}}Advice").append(genuine)

    assert_refused(await sso.post_acs(edit(sso.response(), wrap)), "unsigned", "neither", "signed")
    assert (await sso.whoami())["status"] == 401


async def test_a_response_signed_by_another_key_is_refused(sso: Galaxy, attacker_keys: KeyPair) -> None:
    reply = await sso.post_acs(sso.response(keys=attacker_keys))  # same issuer, another key
    assert_refused(reply, "bad-signature", "signature")


async def test_a_wrong_audience_is_refused(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(audience="https://another-sp.example/saml"))
    assert_refused(reply, "wrong-audience", "audience")


async def test_an_unknown_in_response_to_is_refused(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(in_response_to="id-Galaxy-never-sent-this"))
    assert_refused(reply, "unknown-in-response-to", "did not send")


async def test_each_request_id_answers_once(sso: Galaxy) -> None:
    request_id, relay = await sso.start_sp_login()
    assert (await sso.post_acs(sso.response(in_response_to=request_id), relay=relay)).status == 303
    second = sso.response(in_response_to=request_id)  # a fresh assertion for the same request
    assert_refused(await sso.post_acs(second), "unknown-in-response-to", "already used")


async def test_an_expired_response_is_refused(sso: Galaxy) -> None:
    document = sso.response()
    sso.clock.advance(timedelta(minutes=5 + 3, seconds=1))  # confirmation lifetime + skew
    assert_refused(await sso.post_acs(document), "expired", "expired")


async def test_an_expired_assertion_is_refused_even_with_a_fresh_confirmation(sso: Galaxy) -> None:
    document = sso.response(
        assertion_lifetime=timedelta(minutes=1), confirmation_lifetime=timedelta(minutes=30)
    )
    sso.clock.advance(timedelta(minutes=4, seconds=1))
    assert_refused(await sso.post_acs(document), "expired", "Conditions")


async def test_a_replayed_response_is_refused(sso: Galaxy) -> None:
    document = sso.response()
    assert (await sso.post_acs(document)).status == 303
    assert_refused(await sso.post_acs(document), "replayed", "already been used")


async def test_sha1_is_refused_by_default(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(algorithm="rsa-sha1"))
    assert_refused(reply, "algorithm-refused", "rsa-sha1", "not allowed")


async def test_an_unsolicited_response_is_refused_when_the_setting_disallows_it(sso: Galaxy) -> None:
    await sso.configure_manually(allowUnsolicited=False)
    assert_refused(await sso.post_acs(sso.response()), "unsolicited", "unsolicited")
    request_id, relay = await sso.start_sp_login()  # SP-initiated still works
    assert (await sso.post_acs(sso.response(in_response_to=request_id), relay=relay)).status == 303


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(
        f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10)
    )
    + ']><samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&lol9;</samlp:Response>'
)
XXE = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
    '<samlp:Response xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol">&xxe;</samlp:Response>'
)


@pytest.mark.parametrize("payload", [XXE, BILLION_LAUGHS], ids=["external-entity", "billion-laughs"])
async def test_xml_entity_payloads_are_refused(sso: Galaxy, payload: str) -> None:
    assert_refused(await sso.post_acs(payload.encode()), "unsafe-xml", "DTD")


async def test_an_entity_smuggled_into_a_signed_response_is_refused(sso: Galaxy) -> None:
    document = sso.response().decode()
    smuggled = '<!DOCTYPE r [<!ENTITY e "x">]>' + document
    assert_refused(await sso.post_acs(smuggled.encode()), "unsafe-xml", "entity")


@pytest.mark.parametrize(
    "raw",
    [
        "this is not base64!",
        base64.b64encode(b"\x00\x01\x02 neither XML nor DEFLATE \xff").decode(),
        base64.b64encode(b"\xff" * 64).decode(),
    ],
    ids=["bad-base64", "bad-deflate", "garbage"],
)
async def test_bad_base64_or_deflate_is_refused(sso: Galaxy, raw: str) -> None:
    assert_refused(await sso.post_acs(raw=raw), "bad-encoding", "SAMLResponse")


async def test_a_missing_saml_response_is_refused(sso: Galaxy) -> None:
    reply = await sso.request("POST", sso.acs, data={"RelayState": "x"})
    assert_refused(reply, "missing-response", "no SAMLResponse")


# -- what pysaml2 leaves to the SP ---------------------------------------------------------------


async def test_a_wrong_destination_is_refused(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(destination="https://another-sp.example/acs"))
    assert_refused(reply, "wrong-destination", "addressed to")


async def test_a_wrong_recipient_is_refused(sso: Galaxy) -> None:
    reply = await sso.post_acs(sso.response(recipient="https://another-sp.example/acs"))
    assert_refused(reply, "wrong-recipient", "Recipient")


async def test_another_issuer_is_refused(sso: Galaxy) -> None:
    other = StandInIdp(sso.idp.keys, entity_id="https://sts.windows.net/another-tenant/")
    reply = await sso.post_acs(
        other.response(now=sso.clock.now(), email=ALICE, acs=sso.acs, audience=sso.entity_id)
    )
    assert_refused(reply, "wrong-issuer", "issued by")


async def test_something_that_is_not_a_response_is_refused(sso: Galaxy) -> None:
    document = f'<samlp:LogoutRequest xmlns:samlp="{SAMLP}" ID="_x" Version="2.0"/>'.encode()
    assert_refused(await sso.post_acs(document), "malformed", "not a SAML Response")


async def test_an_error_status_from_the_idp_is_shown(sso: Galaxy) -> None:
    document = (
        f'<samlp:Response xmlns:samlp="{SAMLP}" ID="_e" Version="2.0" IssueInstant="2026-01-05T09:00:00Z" '
        f'Destination="{sso.acs}"><Issuer xmlns="{SAML}">{sso.idp.entity_id}</Issuer><samlp:Status>'
        '<samlp:StatusCode Value="urn:oasis:names:tc:SAML:2.0:status:Requester"><samlp:StatusCode '
        'Value="urn:oasis:names:tc:SAML:2.0:status:RequestDenied"/></samlp:StatusCode><samlp:StatusMessage>'
        "AADSTS50105: Your administrator has configured the application to block users unless they are "
        "specifically granted access.</samlp:StatusMessage></samlp:Status></samlp:Response>"
    ).encode()
    assert_refused(await sso.post_acs(document), "idp-error", "AADSTS50105")


async def test_refusals_have_a_json_twin(sso: Galaxy) -> None:
    reply = await sso.request(
        "POST", sso.acs, data={"SAMLResponse": "%%%"}, headers={"Accept": "application/json"}
    )
    assert reply.status == 403
    body = json.loads(reply.text)
    assert body["error"] == "bad-encoding" and "Base64" in body["reason"]


async def test_sign_in_before_sso_is_configured_is_refused(galaxy: Galaxy) -> None:
    await galaxy.provision()
    assert_refused(await galaxy.post_acs(galaxy.response()), "sso-not-configured", "not configured")


async def test_tokens_still_authenticate_scim_beside_the_pages(sso: Galaxy) -> None:
    reply = await sso.running.scim(TOKEN).get("/Users")
    assert reply.status == 200 and reply.json["totalResults"] == 1
