"""Entra's SAML IdP over real HTTP: metadata any SP can read, SP-initiated sign-in with both
bindings, Entra-exact responses in each signing option, verified by two independent SPs
(pysaml2's Saml2Client and python3-saml)."""

from __future__ import annotations

import warnings
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from emulator.clock import parse_instant
from emulator.hashing import hash_password
from emulator.saml.signing import WITH_SHA1_ALGORITHMS, verify_element
from emulator.saml.xml import SAML_METADATA_NS, parse_xml
from tests.conftest import Running, StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import (
    ACS_URL,
    NS,
    PASSWORD,
    SP_ENTITY,
    Browser,
    configure_saml,
    metadata,
    onelogin_auth,
    onelogin_settings,
    parse_with_pysaml2,
    post_request,
    pysaml2_sp,
    redirect_request,
    response_xml,
)

with warnings.catch_warnings():
    warnings.simplefilter("ignore")  # pysaml2 touches a deprecated cryptography name (saml.md pitfall 12)
    from onelogin.saml2.idp_metadata_parser import OneLogin_Saml2_IdPMetadataParser
    from onelogin.saml2.utils import OneLogin_Saml2_Utils
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT

TENANT = "8c3f1d2a-6b4e-4f0a-9e2d-3a7b5c1d9e40"  # the `empty` scenario's tenant
ISSUER = f"https://sts.windows.net/{TENANT}/"
WS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
MS = "http://schemas.microsoft.com/identity/claims/"


@dataclass
class Idp:
    emu: Running
    control: Control
    browser: Browser
    alice: dict
    bob: dict

    @property
    def sso_url(self) -> str:
        return f"{self.emu.url}/entra/{TENANT}/saml2"

    async def metadata(self) -> str:
        return (await metadata(self.emu, self.control))[0]


@pytest.fixture
async def idp(start_emulator: StartEmulator) -> AsyncIterator[Idp]:
    emu = await start_emulator()
    control = Control(emu)
    alice = await control.user("alice@contoso.test", givenName="Alice", surname="Archer")
    bob = await control.user("bob@contoso.test", givenName="Bob", surname="Baker")
    await control.assign(alice["id"])
    await control.assign(bob["id"])
    await configure_saml(control)
    browser = Browser(emu)
    world = Idp(emu, control, browser, alice, bob)
    yield world
    await world.browser.close()


async def sign_in(idp: Idp, url: str, user: dict) -> tuple[str, str, str | None]:
    """Follow an SP's redirect to the sign-in page, click `user`, and return the auto-post."""
    page = await idp.browser.get(url)
    assert page.status == 200, page.text
    page = await idp.browser.pick(page, user)
    assert page.status == 200, page.text
    return page.saml_post()


# -- metadata --------------------------------------------------------------------------------------


async def test_app_federation_metadata_is_signed_and_parses_in_pysaml2_and_python3_saml(idp: Idp) -> None:
    xml, view = await metadata(idp.emu, idp.control)
    assert view["entra"]["appFederationMetadataUrl"].endswith(
        f"/entra/{TENANT}/federationmetadata/2007-06/federationmetadata.xml?appid={view['appId']}"
    )
    assert view["entra"]["identifier"] == ISSUER
    certificate = view["entra"]["certificate"]
    async with idp.emu.session.get(
        f"{idp.emu.url}/_emulator/entra/apps/{APP}/saml/certificate?format=base64"
    ) as resp:
        cert_b64 = await resp.text()

    parsed = OneLogin_Saml2_IdPMetadataParser.parse(xml)
    assert parsed["idp"]["entityId"] == ISSUER
    assert parsed["idp"]["singleSignOnService"]["url"] == idp.sso_url
    assert parsed["idp"]["singleLogoutService"]["url"] == idp.sso_url
    assert parsed["idp"]["x509cert"] == cert_b64
    assert parsed["sp"]["NameIDFormat"] == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    post = OneLogin_Saml2_IdPMetadataParser.parse(xml, required_sso_binding=BINDING_HTTP_POST)
    assert post["idp"]["singleSignOnService"]["url"] == idp.sso_url
    # python3-saml's own check of the metadata signature, and ours
    assert OneLogin_Saml2_Utils.validate_metadata_sign(xml, OneLogin_Saml2_Utils.format_cert(cert_b64))
    root = parse_xml(xml.encode())
    verify_element(root, root.get("ID"), [cert_b64], element_tag=f"{{{SAML_METADATA_NS}}}EntityDescriptor")

    sp = pysaml2_sp(xml)
    assert sp.metadata.single_sign_on_service(ISSUER, BINDING_HTTP_REDIRECT)[0]["location"] == idp.sso_url
    assert sp.metadata.single_sign_on_service(ISSUER, BINDING_HTTP_POST)[0]["location"] == idp.sso_url
    assert sp.metadata.single_logout_service(ISSUER, BINDING_HTTP_REDIRECT, "idpsso")
    assert len(sp.metadata.certs(ISSUER, "idpsso", use="signing")) == 1
    assert certificate["subject"] == "CN=Microsoft Azure Federated SSO Certificate"


async def test_tenant_metadata_and_domain_name_tenant_segment_answer_too(idp: Idp) -> None:
    for path in (
        f"/entra/{TENANT}/FederationMetadata/2007-06/FederationMetadata.xml",
        "/entra/contoso.onmicrosoft.com/federationmetadata/2007-06/federationmetadata.xml",
    ):
        async with idp.emu.session.get(idp.emu.url + path) as resp:
            assert resp.status == 200
            assert resp.content_type == "application/xml"
            assert f'entityID="{ISSUER}"' in await resp.text()


# -- SP-initiated sign-in --------------------------------------------------------------------------


async def test_sp_initiated_redirect_binding_signs_in_through_pysaml2(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    request_id, url = redirect_request(sp, ISSUER, relay_state="/after-login")
    assert url.startswith(idp.sso_url + "?SAMLRequest=")
    action, saml_response, relay_state = await sign_in(idp, url, idp.alice)
    assert action == ACS_URL
    assert relay_state == "/after-login"
    response = parse_with_pysaml2(sp, saml_response, request_id)
    assert response.name_id.text == "alice@contoso.test"
    # pysaml2 maps the WS-Federation claim URIs it knows to friendly names
    assert response.ava["emailAddress"] == ["alice@contoso.test"]
    assert response.ava["givenName"] == ["Alice"]
    assert response.ava[MS + "objectidentifier"] == [idp.alice["id"]]


async def test_sp_initiated_post_binding_signs_in_through_pysaml2(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    request_id, saml_request = post_request(sp, idp.sso_url)
    page = await idp.browser.post(idp.sso_url, {"SAMLRequest": saml_request, "RelayState": "xyz"})
    assert page.status == 200, page.text
    page = await idp.browser.pick(page, idp.bob)
    action, saml_response, relay_state = page.saml_post()
    assert (action, relay_state) == (ACS_URL, "xyz")
    response = parse_with_pysaml2(sp, saml_response, request_id)
    assert response.name_id.text == "bob@contoso.test"


@pytest.mark.parametrize("option", ["assertion", "response", "both"])
@pytest.mark.parametrize("algorithm", ["SHA-256", "SHA-1"])
async def test_every_signing_option_and_algorithm_verifies_in_pysaml2(
    idp: Idp, option: str, algorithm: str
) -> None:
    await configure_saml(idp.control, signingOption=option, signingAlgorithm=algorithm)
    sp = pysaml2_sp(await idp.metadata(), allow_sha1=algorithm == "SHA-1")
    request_id, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)

    root = response_xml(saml_response)
    signed = {
        "assertion": root.find("saml:Assertion/ds:Signature", NS) is not None,
        "response": root.find("ds:Signature", NS) is not None,
    }
    assert signed == {
        "assertion": option in ("assertion", "both"),
        "response": option in ("response", "both"),
    }
    methods = {m.get("Algorithm") for m in root.iterfind(".//ds:SignatureMethod", NS)}
    assert methods == {
        "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
        if algorithm == "SHA-256"
        else "http://www.w3.org/2000/09/xmldsig#rsa-sha1"
    }
    response = parse_with_pysaml2(sp, saml_response, request_id)
    assert response.name_id.text == "alice@contoso.test"


async def test_sha1_signature_is_refused_by_an_sp_that_allows_only_sha2(idp: Idp) -> None:
    await configure_saml(idp.control, signingAlgorithm="SHA-1")
    sp = pysaml2_sp(await idp.metadata())  # SHA-2 only
    request_id, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)
    with pytest.raises(Exception, match="not allowed"):
        parse_with_pysaml2(sp, saml_response, request_id)


@pytest.mark.parametrize("option", ["assertion", "response", "both"])
async def test_python3_saml_accepts_every_signing_option(idp: Idp, option: str) -> None:
    await configure_saml(idp.control, signingOption=option)
    settings = onelogin_settings(
        await idp.metadata(),
        assertion_signed=option in ("assertion", "both"),
        response_signed=option in ("response", "both"),
    )
    auth = onelogin_auth(settings)
    url = auth.login(return_to="https://galaxy.example/home")
    request_id = auth.get_last_request_id()
    _, saml_response, relay_state = await sign_in(idp, url, idp.alice)
    auth = onelogin_auth(settings, post_data={"SAMLResponse": saml_response, "RelayState": relay_state})
    auth.process_response(request_id=request_id)
    assert auth.get_errors() == [], auth.get_last_error_reason()
    assert auth.is_authenticated()
    assert auth.get_nameid() == "alice@contoso.test"
    assert auth.get_attribute(MS + "objectidentifier") == [idp.alice["id"]]
    assert relay_state == "https://galaxy.example/home"


async def test_python3_saml_sha1_response_is_accepted_unless_deprecated_algorithms_are_refused(
    idp: Idp,
) -> None:
    await configure_saml(idp.control, signingAlgorithm="SHA-1")
    settings = onelogin_settings(await idp.metadata(), assertion_signed=True, response_signed=False)
    for reject, accepted in ((False, True), (True, False)):
        settings["security"]["rejectDeprecatedAlgorithm"] = reject
        await idp.browser.close()
        idp.browser = Browser(idp.emu)  # signed in nowhere, so the account tile is shown again
        auth = onelogin_auth(settings)
        url = auth.login()
        request_id = auth.get_last_request_id()
        _, saml_response, _ = await sign_in(idp, url, idp.alice)
        auth = onelogin_auth(settings, post_data={"SAMLResponse": saml_response})
        auth.process_response(request_id=request_id)
        assert auth.is_authenticated() is accepted, auth.get_last_error_reason()


# -- the response, element by element --------------------------------------------------------------


async def test_response_follows_entra_reference_section_3(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    request_id, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)
    root = response_xml(saml_response)

    assert root.tag == "{urn:oasis:names:tc:SAML:2.0:protocol}Response"
    assert root.prefix == "samlp"
    assert root.get("ID").startswith("_") and len(root.get("ID")) == 37
    assert root.get("Destination") == ACS_URL
    assert root.get("InResponseTo") == request_id
    assert root.findtext("saml:Issuer", namespaces=NS) == ISSUER
    assert root.find("saml:Issuer", NS).get("Format") is None
    assert root.find("samlp:Status/samlp:StatusCode", NS).get("Value").endswith(":Success")

    assertion = root.find("saml:Assertion", NS)
    assert assertion.prefix is None  # <Assertion xmlns="urn:...:assertion">
    assert assertion.get("ID").startswith("_") and assertion.get("ID") != root.get("ID")
    assert assertion.findtext("saml:Issuer", namespaces=NS) == ISSUER
    assert assertion[1].tag == "{http://www.w3.org/2000/09/xmldsig#}Signature"  # after Issuer
    instant = assertion.get("IssueInstant")

    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    assert name_id.text == "alice@contoso.test"
    assert name_id.get("Format") == "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    confirmation = assertion.find("saml:Subject/saml:SubjectConfirmation", NS)
    assert confirmation.get("Method") == "urn:oasis:names:tc:SAML:2.0:cm:bearer"
    data = confirmation.find("saml:SubjectConfirmationData", NS)
    assert data.get("InResponseTo") == request_id
    assert data.get("Recipient") == ACS_URL
    assert minutes_between(instant, data.get("NotOnOrAfter")) == 5

    conditions = assertion.find("saml:Conditions", NS)
    assert conditions.get("NotBefore") == instant
    assert minutes_between(instant, conditions.get("NotOnOrAfter")) == 70
    assert conditions.findtext("saml:AudienceRestriction/saml:Audience", namespaces=NS) == SP_ENTITY

    attributes = assertion.findall("saml:AttributeStatement/saml:Attribute", NS)
    assert all(set(a.attrib) == {"Name"} for a in attributes)  # Name only, no NameFormat
    claims = {a.get("Name"): [v.text for v in a.findall("saml:AttributeValue", NS)] for a in attributes}
    assert claims == {
        MS + "tenantid": [TENANT],
        MS + "objectidentifier": [idp.alice["id"]],
        MS + "displayname": ["Alice"],
        MS + "identityprovider": [ISSUER],
        "http://schemas.microsoft.com/claims/authnmethodsreferences": [
            "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
        ],
        WS + "givenname": ["Alice"],
        WS + "surname": ["Archer"],
        WS + "emailaddress": ["alice@contoso.test"],
        WS + "name": ["alice@contoso.test"],
    }
    authn = assertion.find("saml:AuthnStatement", NS)
    assert authn.get("SessionIndex") == assertion.get("ID")
    assert authn.get("AuthnInstant") <= instant
    assert (
        authn.findtext("saml:AuthnContext/saml:AuthnContextClassRef", namespaces=NS)
        == "urn:oasis:names:tc:SAML:2.0:ac:classes:Password"
    )
    certificate = assertion.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
    verify_element(root, assertion.get("ID"), [certificate], WITH_SHA1_ALGORITHMS)


def minutes_between(start: str, end: str) -> float:
    return (parse_instant(end) - parse_instant(start)).total_seconds() / 60


async def test_claims_follow_the_configured_sources_and_skip_empty_values(idp: Idp) -> None:
    carol = await idp.control.user("carol@contoso.test", mail=None, givenName="Carol")
    await idp.control.assign(carol["id"])
    await configure_saml(
        idp.control,
        nameIdSource="user.objectid",
        nameIdFormat="persistent",
        claims=[
            {"name": WS + "emailaddress", "source": "user.mail"},
            {"name": "department", "source": "user.department"},
            {"name": "given", "source": "user.givenname"},
        ],
    )
    sp = pysaml2_sp(await idp.metadata())
    _, url = redirect_request(sp, ISSUER)  # NameIDPolicy without a Format
    _, saml_response, _ = await sign_in(idp, url, carol)
    root = response_xml(saml_response)
    name_id = root.find("saml:Assertion/saml:Subject/saml:NameID", NS)
    assert (name_id.text, name_id.get("Format")) == (
        carol["id"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    )
    # the request's NameIDPolicy Format wins over the configured one
    _, url = redirect_request(
        sp, ISSUER, nameid_format="urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress"
    )
    _, saml_response, _ = (await idp.browser.get(url)).saml_post()  # carol is signed in already
    name_id = response_xml(saml_response).find("saml:Assertion/saml:Subject/saml:NameID", NS)
    assert (name_id.text, name_id.get("Format")) == (
        carol["id"],
        "urn:oasis:names:tc:SAML:1.1:nameid-format:emailAddress",
    )
    # transient: a random value for each sign-in
    _, url = redirect_request(sp, ISSUER, nameid_format="urn:oasis:names:tc:SAML:2.0:nameid-format:transient")
    _, saml_response, _ = (await idp.browser.get(url)).saml_post()
    transient = response_xml(saml_response).find("saml:Assertion/saml:Subject/saml:NameID", NS)
    assert transient.get("Format").endswith(":transient") and transient.text != carol["id"]
    names = [a.get("Name") for a in root.iterfind(".//saml:Attribute", NS)]
    assert "given" in names
    assert WS + "emailaddress" not in names and "department" not in names  # no value, no claim


async def test_groups_claim_carries_transitive_group_object_ids_and_overage_link(idp: Idp) -> None:
    inner = await idp.control.group("Inner", [idp.alice["id"]])
    outer = await idp.control.group("Outer", [inner["id"]])
    await configure_saml(idp.control, groupsClaim="securityGroups")
    sp = pysaml2_sp(await idp.metadata())
    request_id, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)
    response = parse_with_pysaml2(sp, saml_response, request_id)
    groups = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
    assert sorted(response.ava[groups]) == sorted([inner["id"], outer["id"]])

    for index in range(150):
        await idp.control.group(f"Bulk {index}", [idp.alice["id"]])
    await idp.browser.close()
    idp.browser = Browser(idp.emu)  # a fresh browser, signed in nowhere
    request_id, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)
    response = parse_with_pysaml2(sp, saml_response, request_id)
    assert groups not in response.ava
    assert response.ava["http://schemas.microsoft.com/claims/groups.link"] == [
        f"https://graph.windows.net/{TENANT}/users/{idp.alice['id']}/getMemberObjects"
    ]


async def test_role_claim_carries_the_app_roles_the_user_holds(idp: Idp) -> None:
    """Reference §3: `…/ws/2008/06/identity/claims/role` carries app roles, directly assigned or
    through a group's assignment."""
    await idp.control.call("POST", f"/entra/apps/{APP}/roles", {"value": "DataAdmin"})
    await idp.control.call("POST", f"/entra/apps/{APP}/roles", {"value": "Analyst"})
    await idp.control.call(
        "POST", f"/entra/apps/{APP}/assignments", {"principalId": idp.alice["id"], "role": "DataAdmin"}
    )
    team = await idp.control.group("Team", [idp.alice["id"]])
    await idp.control.call(
        "POST", f"/entra/apps/{APP}/assignments", {"principalId": team["id"], "role": "Analyst"}
    )
    sp = pysaml2_sp(await idp.metadata())
    request_id, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)
    parse_with_pysaml2(sp, saml_response, request_id)  # verifies
    role = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
    values = [
        v.text
        for a in response_xml(saml_response).iterfind(".//saml:Attribute", NS)
        if a.get("Name") == role
        for v in a
    ]
    assert values == ["Analyst", "DataAdmin"]
    error = await idp.control.call(
        "POST", f"/entra/apps/{APP}/assignments", {"principalId": idp.alice["id"], "role": "Nope"}, expect=400
    )
    assert "no role 'Nope'" in error["error"]


async def test_identifier_that_is_not_a_uri_gets_an_spn_audience(idp: Idp) -> None:
    app = await idp.control.call("GET", f"/entra/apps/{APP}")
    await configure_saml(idp.control, identifiers=[app["appId"]])
    sp = pysaml2_sp(await idp.metadata())
    sp.config.entityid = app["appId"]
    _, url = redirect_request(sp, ISSUER)
    _, saml_response, _ = await sign_in(idp, url, idp.alice)
    root = response_xml(saml_response)
    assert root.findtext(".//saml:Audience", namespaces=NS) == f"spn:{app['appId']}"


# -- the sign-in page ------------------------------------------------------------------------------


async def test_login_hint_preselects_and_password_users_must_type_their_password(idp: Idp) -> None:
    await idp.control.call(
        "PATCH", f"/entra/users/{idp.bob['id']}", {"passwordHash": hash_password(PASSWORD)}
    )
    sp = pysaml2_sp(await idp.metadata())
    request_id, url = redirect_request(sp, ISSUER)
    page = await idp.browser.get(url + "&login_hint=bob%40contoso.test")
    assert page.mode == "password"
    assert "bob@contoso.test" in page.text
    wrong = await idp.browser.type_password(page, "nope")
    assert wrong.status == 400 and "AADSTS50126" in wrong.text and wrong.mode == "password"
    page = await idp.browser.type_password(wrong, PASSWORD)
    _, saml_response, _ = page.saml_post()
    assert parse_with_pysaml2(sp, saml_response, request_id).name_id.text == "bob@contoso.test"


async def test_login_hint_of_a_one_click_user_suggests_that_account_first(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    _, url = redirect_request(sp, ISSUER)
    page = await idp.browser.get(url + "&login_hint=bob%40contoso.test")
    assert page.mode == "list"
    suggested = page.doc.xpath("//button[@data-suggested='true']")
    assert len(suggested) == 1 and "bob@contoso.test" in suggested[0].text_content()
    first_tile = page.forms()[0][1]
    assert first_tile["username"] == idp.bob["id"]


async def test_one_account_on_the_browser_signs_in_without_a_prompt_and_two_make_a_picker(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    _, url = redirect_request(sp, ISSUER)
    await sign_in(idp, url, idp.alice)

    request_id, url = redirect_request(sp, ISSUER)
    page = await idp.browser.get(url)  # single sign-on: straight to the app
    _, saml_response, _ = page.saml_post()
    assert parse_with_pysaml2(sp, saml_response, request_id).name_id.text == "alice@contoso.test"

    request_id, url = redirect_request(sp, ISSUER, force_authn="true")
    page = await idp.browser.get(url)
    assert page.mode == "list"  # ForceAuthn: the session is not reused
    page = await idp.browser.pick(page, idp.bob)
    page.saml_post()

    request_id, url = redirect_request(sp, ISSUER)
    page = await idp.browser.get(url)
    assert page.mode == "pick" and "Pick an account" in page.text
    tiles = {values["username"] for _, values in page.forms()}
    assert tiles == {idp.alice["id"], idp.bob["id"]}
    assert "Use another account" in page.text
    page = await idp.browser.pick(page, idp.alice)  # no password asked: already signed in
    _, saml_response, _ = page.saml_post()
    assert parse_with_pysaml2(sp, saml_response, request_id).name_id.text == "alice@contoso.test"


async def test_is_passive_without_a_session_answers_no_passive(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    request_id, url = redirect_request(sp, ISSUER, is_passive="true")
    page = await idp.browser.get(url)
    _, saml_response, _ = page.saml_post()
    root = response_xml(saml_response)
    codes = [c.get("Value") for c in root.iterfind(".//samlp:StatusCode", NS)]
    assert codes == [
        "urn:oasis:names:tc:SAML:2.0:status:Responder",
        "urn:oasis:names:tc:SAML:2.0:status:NoPassive",
    ]
    assert root.findtext(".//samlp:StatusMessage", namespaces=NS).startswith("AADSTS50058:")

    _, url = redirect_request(sp, ISSUER)
    await sign_in(idp, url, idp.alice)
    request_id, url = redirect_request(sp, ISSUER, is_passive="true")
    page = await idp.browser.get(url)
    _, saml_response, _ = page.saml_post()
    assert parse_with_pysaml2(sp, saml_response, request_id).name_id.text == "alice@contoso.test"


async def test_session_cookie_is_http_only_lax_and_scoped_to_entra(idp: Idp) -> None:
    sp = pysaml2_sp(await idp.metadata())
    _, url = redirect_request(sp, ISSUER)
    page = await idp.browser.get(url)
    action, values = page.form_with(username=idp.alice["id"])
    async with idp.browser.session.post(idp.browser.absolute(action), data=values) as resp:
        cookie = resp.cookies["ESTSAUTH"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert cookie["path"] == "/entra"
