"""My Apps and sign-out over real HTTP: IdP-initiated launches (an unsolicited Response with the
configured Relay State), SP-initiated launches through a Sign on URL, SAML single logout, and
signing out of the browser."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from tests.conftest import Running, StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import (
    ACS_URL,
    LOGOUT_URL,
    NS,
    ONELOGIN_REQUEST,
    Browser,
    Page,
    configure_saml,
    metadata,
    onelogin_auth,
    onelogin_settings,
    parse_with_pysaml2,
    pysaml2_sp,
    redirect_message,
    redirect_request,
    response_xml,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pysaml2 touches a deprecated cryptography name (saml.md pitfall 12)
    from onelogin.saml2.logout_response import OneLogin_Saml2_Logout_Response
    from onelogin.saml2.settings import OneLogin_Saml2_Settings
    from saml2 import BINDING_HTTP_REDIRECT
    from saml2.saml import NAMEID_FORMAT_EMAILADDRESS, NameID

TENANT = "8c3f1d2a-6b4e-4f0a-9e2d-3a7b5c1d9e40"
ISSUER = f"https://sts.windows.net/{TENANT}/"


@dataclass
class World:
    emu: Running
    control: Control
    browser: Browser
    alice: dict
    app: dict


@pytest.fixture
async def world(start_emulator: StartEmulator) -> AsyncIterator[World]:
    emu = await start_emulator()
    control = Control(emu)
    alice = await control.user("alice@contoso.test", givenName="Alice")
    await control.assign(alice["id"])
    await configure_saml(control, relayState="/galaxy/home", logoutUrl=LOGOUT_URL)
    app = await control.call("GET", f"/entra/apps/{APP}")
    browser = Browser(emu)
    yield World(emu, control, browser, alice, app)
    await browser.close()


async def sign_in_to_my_apps(world: World, user: dict) -> Page:
    page = await world.browser.get("/entra/myapps")  # no session: off to the sign-in page
    assert page.mode == "list", page.text[:1000]
    page = await world.browser.pick(page, user)
    assert page.url.endswith("/entra/myapps"), page.url
    return page


async def test_my_apps_signs_in_first_then_lists_assigned_apps(world: World) -> None:
    page = await sign_in_to_my_apps(world, world.alice)
    assert "Starburst Galaxy" in page.text and "alice@contoso.test" in page.text
    launchers = [action for action, _ in page.forms() if "/myapps/launch/" in action]
    assert launchers == [f"/entra/myapps/launch/{world.app['id']}"]


async def test_my_apps_of_an_unassigned_user_is_empty_and_a_forged_launch_is_50105(world: World) -> None:
    bob = await world.control.user("bob@contoso.test")
    page = await sign_in_to_my_apps(world, bob)
    assert "No apps" in page.text
    _, values = page.form_with()
    answer = await world.browser.post(f"/entra/myapps/launch/{world.app['id']}", values)
    assert answer.status == 403 and answer.error_code == "AADSTS50105"


async def test_launch_without_sign_on_url_posts_an_unsolicited_response_pysaml2_accepts(world: World) -> None:
    page = await sign_in_to_my_apps(world, world.alice)
    action, values = next((a, v) for a, v in page.forms() if "/myapps/launch/" in a)
    page = await world.browser.post(action, values)
    target, saml_response, relay_state = page.saml_post()
    assert (target, relay_state) == (ACS_URL, "/galaxy/home")
    root = response_xml(saml_response)
    assert root.get("InResponseTo") is None
    assert root.find(".//saml:SubjectConfirmationData", NS).get("InResponseTo") is None
    sp = pysaml2_sp((await metadata(world.emu, world.control))[0])
    response = parse_with_pysaml2(sp, saml_response, None)
    assert response.name_id.text == "alice@contoso.test"


async def test_python3_saml_accepts_the_idp_initiated_response(world: World) -> None:
    page = await sign_in_to_my_apps(world, world.alice)
    action, values = next((a, v) for a, v in page.forms() if "/myapps/launch/" in a)
    _, saml_response, relay_state = (await world.browser.post(action, values)).saml_post()
    settings = onelogin_settings(
        (await metadata(world.emu, world.control))[0], assertion_signed=True, response_signed=False
    )
    auth = onelogin_auth(settings, post_data={"SAMLResponse": saml_response, "RelayState": relay_state})
    auth.process_response()
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.get_nameid() == "alice@contoso.test"


async def test_launch_with_a_sign_on_url_sends_the_browser_to_the_app(world: World) -> None:
    await configure_saml(world.control, signOnUrl="https://galaxy.example/login/azure")
    page = await sign_in_to_my_apps(world, world.alice)
    action, values = next((a, v) for a, v in page.forms() if "/myapps/launch/" in a)
    answer = await world.browser.post(action, values, follow=False)
    assert answer.status == 302
    assert answer.headers["Location"] == "https://galaxy.example/login/azure"


async def test_launch_form_needs_its_csrf_token(world: World) -> None:
    await sign_in_to_my_apps(world, world.alice)
    answer = await world.browser.post(f"/entra/myapps/launch/{world.app['id']}", {})
    assert answer.status == 403


async def test_sign_out_forgets_every_account(world: World) -> None:
    page = await sign_in_to_my_apps(world, world.alice)
    action, values = next((a, v) for a, v in page.forms() if a.endswith("/logout"))
    page = await world.browser.post(action, values)
    assert "You signed out of your account" in page.text
    assert (await world.browser.get("/entra/myapps")).mode == "list"
    confirm = await world.browser.get("/entra/logout")
    assert confirm.status == 200 and "Sign out" in confirm.text


async def test_switch_account_shows_the_picker_with_both_accounts(world: World) -> None:
    bob = await world.control.user("bob@contoso.test")
    await world.control.assign(bob["id"])
    await sign_in_to_my_apps(world, world.alice)
    page = await world.browser.get("/entra/myapps?switch=1")
    assert page.mode == "pick"
    page = await world.browser.get(page.doc.xpath("//a[text()='Use another account']/@href")[0])
    page = await world.browser.pick(page, bob)
    assert "bob@contoso.test" in page.text
    page = await world.browser.get("/entra/myapps?switch=1")
    assert page.mode == "pick" and "Pick an account" in page.text
    assert {v["username"] for _, v in page.forms()} == {world.alice["id"], bob["id"]}
    page = await world.browser.pick(page, world.alice)
    assert "(alice@contoso.test)" in page.text


# -- SAML single logout ----------------------------------------------------------------------------


async def test_sp_logout_request_signs_out_and_redirects_a_signed_logout_response(world: World) -> None:
    xml, _ = await metadata(world.emu, world.control)
    sp = pysaml2_sp(xml)
    request_id, url = redirect_request(sp, ISSUER)
    page = await world.browser.pick(await world.browser.get(url), world.alice)
    parse_with_pysaml2(sp, page.saml_post()[1], request_id)

    sso = f"{world.emu.url}/entra/{TENANT}/saml2"
    logout_id, logout = sp.create_logout_request(
        sso,
        ISSUER,
        name_id=NameID(format=NAMEID_FORMAT_EMAILADDRESS, text="alice@contoso.test"),
    )
    info = sp.apply_binding(BINDING_HTTP_REDIRECT, str(logout), sso, relay_state="bye")
    answer = await world.browser.get(dict(info["headers"])["Location"], follow=False)
    assert answer.status == 302
    location = answer.headers["Location"]
    assert location.startswith(LOGOUT_URL + "?SAMLResponse=")
    assert "%2f" in location or "%2b" in location or "%3d" in location  # Entra's lower-case escapes
    root, query = redirect_message(location)
    assert root.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}LogoutResponse"
    assert root.get("InResponseTo") == logout_id
    assert root.get("Destination") == LOGOUT_URL
    # entra-docs single-sign-out-saml-protocol: the issuer is login.microsoftonline.com/{tenant}/
    assert root.findtext("saml:Issuer", namespaces=NS) == f"{world.emu.url}/entra/{TENANT}/"
    assert root.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith(":Success")
    assert query["RelayState"] == "bye"
    assert query["SigAlg"] == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    verify_redirect_signature(location, await certificate_pem(world))
    assert sp.parse_logout_request_response(query["SAMLResponse"], BINDING_HTTP_REDIRECT).status_ok()

    request_id, url = redirect_request(sp, ISSUER)
    assert (await world.browser.get(url)).mode == "list"  # signed out: no single sign-on


async def test_logout_without_a_logout_url_shows_the_signed_out_page(world: World) -> None:
    await configure_saml(world.control, logoutUrl=None)
    await sign_in_to_my_apps(world, world.alice)
    sp = pysaml2_sp((await metadata(world.emu, world.control))[0])
    sso = f"{world.emu.url}/entra/{TENANT}/saml2"
    _, logout = sp.create_logout_request(sso, ISSUER, name_id=NameID(text="someone-else"))
    info = sp.apply_binding(BINDING_HTTP_REDIRECT, str(logout), sso)
    page = await world.browser.get(dict(info["headers"])["Location"])
    assert page.status == 200 and "You signed out of your account" in page.text
    assert (await world.browser.get("/entra/myapps")).mode == "list"


async def test_logout_request_from_an_unknown_issuer_is_aadsts700016(world: World) -> None:
    sp = pysaml2_sp((await metadata(world.emu, world.control))[0])
    sp.config.entityid = "https://stranger.example/sp"
    sso = f"{world.emu.url}/entra/{TENANT}/saml2"
    _, logout = sp.create_logout_request(sso, ISSUER, name_id=NameID(text="alice@contoso.test"))
    info = sp.apply_binding(BINDING_HTTP_REDIRECT, str(logout), sso)
    page = await world.browser.get(dict(info["headers"])["Location"])
    assert page.status == 400 and page.error_code == "AADSTS700016"


async def test_python3_saml_takes_entras_logout_response_only_with_its_two_quirks_allowed(
    world: World,
) -> None:
    """Both quirks are Entra's own: the Redirect signature is computed over lower-case escapes
    (python3-saml #282: `lowercase_urlencoding`), and the LogoutResponse Issuer is
    login.microsoftonline.com/{tenant}/, not the metadata's entityID (entra-docs
    single-sign-out-saml-protocol), which python3-saml's strict mode refuses."""
    xml, _ = await metadata(world.emu, world.control)
    settings = onelogin_settings(xml, assertion_signed=True, response_signed=False)
    url = onelogin_auth(settings).logout(name_id="alice@contoso.test")
    answer = await world.browser.get(url, follow=False)
    _, query = redirect_message(answer.headers["Location"])

    def process(lowercase: bool, strict: bool) -> list[str]:
        auth = onelogin_auth({**settings, "strict": strict}, get_data=query)
        auth._request_data.update({"script_name": "/saml/logout", "lowercase_urlencoding": lowercase})
        auth.process_slo(keep_local_session=True)
        return auth.get_errors()

    assert "invalid_logout_response_signature" in process(lowercase=False, strict=False)
    assert process(lowercase=True, strict=True) == ["invalid_logout_response"]
    assert process(lowercase=True, strict=False) == []
    response = OneLogin_Saml2_Logout_Response(OneLogin_Saml2_Settings(settings), query["SAMLResponse"])
    assert not response.is_valid({**ONELOGIN_REQUEST, "script_name": "/saml/logout", "get_data": query})
    assert "Invalid issuer in the Logout Response" in response.get_error()


async def certificate_pem(world: World) -> str:
    async with world.emu.session.get(f"{world.emu.url}/_emulator/entra/apps/{APP}/saml/certificate") as resp:
        return await resp.text()


def verify_redirect_signature(url: str, cert_pem: str) -> None:
    """SAML bindings §3.4.4.1: the signature covers the query's own bytes, in order."""
    import base64
    from urllib.parse import unquote, urlsplit

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.hazmat.primitives.asymmetric import padding

    query = urlsplit(url).query
    signed, _, signature = query.rpartition("&Signature=")
    key = x509.load_pem_x509_certificate(cert_pem.encode()).public_key()
    key.verify(base64.b64decode(unquote(signature)), signed.encode(), padding.PKCS1v15(), hashes.SHA256())  # type: ignore[union-attr]
