"""Every way Entra refuses a sign-in, over real HTTP: a readable page (or a SAML error Response
at a trusted reply URL) with its AADSTS code, and never a 500."""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from dataclasses import dataclass

import pytest

from emulator.clock import ManualClock
from tests.conftest import Running, StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import (
    ACS_URL,
    NS,
    SP_ENTITY,
    Browser,
    Page,
    configure_saml,
    deflate_b64,
    response_xml,
)

TENANT = "8c3f1d2a-6b4e-4f0a-9e2d-3a7b5c1d9e40"


@dataclass
class World:
    emu: Running
    control: Control
    browser: Browser
    alice: dict

    @property
    def sso(self) -> str:
        return f"/entra/{TENANT}/saml2"

    async def redirect(self, xml: str | bytes, **query: str) -> Page:
        data = xml.encode() if isinstance(xml, str) else xml
        params = {"SAMLRequest": deflate_b64(data), **query}
        async with self.browser.session.get(self.emu.url + self.sso, params=params) as resp:
            return Page(resp.status, str(resp.url), await resp.text(), dict(resp.headers))

    async def post(self, form: dict[str, str]) -> Page:
        return await self.browser.post(self.sso, form)


@pytest.fixture
async def world(start_emulator: StartEmulator) -> AsyncIterator[World]:
    emu = await start_emulator(clock=ManualClock())
    control = Control(emu)
    alice = await control.user("alice@contoso.test", givenName="Alice")
    await control.assign(alice["id"])
    await configure_saml(control)
    browser = Browser(emu)
    yield World(emu, control, browser, alice)
    await browser.close()


def authn_request(
    *,
    request_id: str = "_req1",
    issuer: str | None = SP_ENTITY,
    acs: str | None = ACS_URL,
    inner: str = "",
    attrs: str = "",
) -> str:
    acs_attr = f' AssertionConsumerServiceURL="{acs}"' if acs else ""
    issuer_xml = (
        f'<saml:Issuer xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion">{issuer}</saml:Issuer>'
        if issuer
        else ""
    )
    return (
        '<samlp:AuthnRequest xmlns:samlp="urn:oasis:names:tc:SAML:2.0:protocol" '
        'xmlns:saml="urn:oasis:names:tc:SAML:2.0:assertion" '
        f'ID="{request_id}" Version="2.0" IssueInstant="2026-01-05T09:00:00Z"{acs_attr}{attrs}>'
        f"{issuer_xml}{inner}</samlp:AuthnRequest>"
    )


def assert_error_page(page: Page, code: int, status: int) -> None:
    assert page.status == status, page.text[:1500]
    assert page.error_code == f"AADSTS{code}", page.text[:1500]
    assert f"AADSTS{code}:" in page.text
    assert "Traceback" not in page.text


def error_response(page: Page) -> tuple[list[str], str, object]:
    action, saml_response, _ = page.saml_post()
    assert action == ACS_URL
    root = response_xml(saml_response)
    codes = [c.get("Value").rsplit(":", 1)[1] for c in root.iterfind(".//samlp:StatusCode", NS)]
    return codes, root.findtext(".//samlp:StatusMessage", namespaces=NS), root


# -- pages: the request cannot be answered to the app ----------------------------------------------


async def test_no_saml_request_is_aadsts750054_for_both_bindings(world: World) -> None:
    assert_error_page(await world.browser.get(world.sso), 750054, 400)
    assert_error_page(await world.post({"RelayState": "x"}), 750054, 400)


async def test_unknown_tenant_is_aadsts90002(world: World) -> None:
    page = await world.browser.get("/entra/00000000-0000-0000-0000-000000000000/saml2?SAMLRequest=x")
    assert_error_page(page, 90002, 404)


@pytest.mark.parametrize(
    ("binding", "payload", "reason"),
    [
        ("redirect", "%%%not base64%%%", "not valid base64"),
        ("redirect", base64.b64encode(b"plain text, not deflate").decode(), "could not be inflated"),
        ("redirect", base64.b64encode(b"<samlp:AuthnRequest").decode(), "could not be inflated"),
        ("post", "not*base64", "not valid base64"),
        ("post", base64.b64encode(b"<samlp:AuthnRequest ").decode(), "not well-formed"),
        ("post", base64.b64encode(b"<hello/>").decode(), "Expected a samlp:AuthnRequest"),
    ],
)
async def test_undecodable_requests_are_readable_aadsts75005_pages(
    world: World, binding: str, payload: str, reason: str
) -> None:
    if binding == "redirect":
        async with world.browser.session.get(
            world.emu.url + world.sso, params={"SAMLRequest": payload}
        ) as resp:
            page = Page(resp.status, str(resp.url), await resp.text())
    else:
        page = await world.post({"SAMLRequest": payload})
    assert_error_page(page, 75005, 400)
    assert reason in page.text


BILLION_LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    '<!ENTITY lol2 "&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;&lol;">'
    '<!ENTITY lol3 "&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;&lol2;">]>'
)
XXE = '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'


@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, XXE])
async def test_entity_payloads_are_refused_before_parsing(world: World, prolog: str) -> None:
    xml = prolog + authn_request(issuer="&lol3;" if "lol" in prolog else "&xxe;")
    page = await world.redirect(xml)
    assert_error_page(page, 75005, 400)
    assert "DTD" in page.text
    page = await world.post({"SAMLRequest": base64.b64encode(xml.encode()).decode()})
    assert_error_page(page, 75005, 400)


async def test_a_deflate_bomb_is_refused(world: World) -> None:
    bomb = authn_request(inner="<!--" + "A" * 2_000_000 + "-->")
    assert_error_page(await world.redirect(bomb), 75005, 400)


async def test_request_id_starting_with_a_digit_is_aadsts7500529(world: World) -> None:
    assert_error_page(await world.redirect(authn_request(request_id="123abc")), 7500529, 400)


async def test_unknown_issuer_is_aadsts700016(world: World) -> None:
    page = await world.redirect(authn_request(issuer="https://stranger.example/sp"))
    assert_error_page(page, 700016, 400)
    assert "https://stranger.example/sp" in page.text
    assert_error_page(await world.redirect(authn_request(issuer=None)), 700016, 400)


async def test_unregistered_reply_url_is_aadsts50011(world: World) -> None:
    page = await world.redirect(authn_request(acs="https://evil.example/acs"))
    assert_error_page(page, 50011, 400)
    assert "https://evil.example/acs" in page.text


async def test_a_response_binding_other_than_post_is_aadsts75003(world: World) -> None:
    artifact = ' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-Artifact"'
    assert_error_page(await world.redirect(authn_request(attrs=artifact)), 75003, 400)
    post = ' ProtocolBinding="urn:oasis:names:tc:SAML:2.0:bindings:HTTP-POST"'
    assert (await world.redirect(authn_request(attrs=post))).mode == "list"


async def test_no_reply_url_at_all_is_aadsts500113(world: World) -> None:
    await world.control.call("PATCH", f"/entra/apps/{APP}/saml", {"replyUrls": []})
    assert_error_page(await world.redirect(authn_request(acs=None)), 500113, 400)


async def test_request_without_acs_goes_to_the_default_reply_url(world: World) -> None:
    await configure_saml(world.control, replyUrls=[ACS_URL, "https://galaxy.example/other-acs"])
    page = await world.redirect(authn_request(acs=None))
    assert page.mode == "list"


async def test_other_methods_and_unknown_pages_are_readable_errors(world: World) -> None:
    async with world.browser.session.put(world.emu.url + world.sso) as resp:
        page = Page(resp.status, str(resp.url), await resp.text())
    assert_error_page(page, 900561, 405)
    assert_error_page(await world.browser.get("/entra/nowhere/at/all"), 90023, 404)


async def test_metadata_for_an_unknown_appid_is_aadsts700016(world: World) -> None:
    page = await world.browser.get(
        f"/entra/{TENANT}/federationmetadata/2007-06/federationmetadata.xml?appid=nope"
    )
    assert_error_page(page, 700016, 404)


# -- SAML error Responses: the app and its reply URL are trusted -----------------------------------


async def test_unsupported_name_id_policy_is_requester_request_unsupported(world: World) -> None:
    policy = '<samlp:NameIDPolicy Format="urn:oasis:names:tc:SAML:2.0:nameid-format:kerberos"/>'
    page = await world.redirect(authn_request(inner=policy), RelayState="keep-me")
    codes, message, root = error_response(page)
    assert codes == ["Requester", "RequestUnsupported"]
    assert message.startswith("AADSTS75006: ")
    assert "AADSTS75016" in message and "Trace ID: " in message and "Timestamp: " in message
    assert root.get("InResponseTo") == "_req1"
    assert root.get("Destination") == ACS_URL
    assert page.saml_post()[2] == "keep-me"


async def test_subject_in_the_request_is_an_error_response(world: World) -> None:
    subject = "<saml:Subject><saml:NameID>alice@contoso.test</saml:NameID></saml:Subject>"
    codes, message, _ = error_response(await world.redirect(authn_request(inner=subject)))
    assert codes == ["Requester", "RequestUnsupported"]
    assert "AADSTS900236" in message and "'Subject'" in message


async def test_requested_authn_context_must_be_exact_and_satisfiable(world: World) -> None:
    def context(comparison: str, ref: str) -> str:
        return (
            f'<samlp:RequestedAuthnContext Comparison="{comparison}">'
            f"<saml:AuthnContextClassRef>urn:oasis:names:tc:SAML:2.0:ac:classes:{ref}</saml:AuthnContextClassRef>"
            "</samlp:RequestedAuthnContext>"
        )

    codes, message, _ = error_response(
        await world.redirect(authn_request(inner=context("minimum", "Password")))
    )
    assert codes == ["Requester", "RequestUnsupported"] and "Comparison" in message
    codes, message, _ = error_response(await world.redirect(authn_request(inner=context("exact", "X509"))))
    assert codes == ["Requester", "NoAuthnContext"] and message.startswith("AADSTS75011:")
    page = await world.redirect(authn_request(inner=context("exact", "PasswordProtectedTransport")))
    assert page.mode == "list"


# -- the person may not go on ----------------------------------------------------------------------


async def test_unassigned_user_gets_aadsts50105_and_stays_signed_in(world: World) -> None:
    mallory = await world.control.user("mallory@contoso.test")
    page = await world.redirect(authn_request())
    assert page.mode == "list"
    tiles = {values["username"] for _, values in page.forms() if "username" in values}
    assert world.alice["id"] in tiles
    assert "Not assigned to Starburst Galaxy" in page.text  # offered under "Other accounts"
    page = await world.browser.pick(page, mallory)
    assert_error_page(page, 50105, 403)
    assert "mallory@contoso.test" in page.text

    # with "Assignment required?" off, the same browser signs in without another prompt
    await configure_saml(world.control, assignmentRequired=False)
    page = await world.redirect(authn_request(request_id="_req2"))
    action, _, _ = page.saml_post()
    assert action == ACS_URL


async def test_group_assignment_lets_direct_members_in(world: World) -> None:
    dave = await world.control.user("dave@contoso.test")
    group = await world.control.group("Analysts", [dave["id"]])
    await world.control.assign(group["id"])
    page = await world.browser.pick(await world.redirect(authn_request()), dave)
    assert page.saml_post()[0] == ACS_URL


async def test_disabled_user_cannot_sign_in(world: World) -> None:
    nestor = await world.control.user("nestor@contoso.test", accountEnabled=False)
    await world.control.assign(nestor["id"])
    page = await world.redirect(authn_request())
    assert "Sign-in blocked" in page.text
    page = await world.browser.pick(page, nestor)
    assert_error_page(page, 50057, 403)
    assert "disabled" in page.text


async def test_deleted_or_unknown_user_typed_in_is_aadsts50034(world: World) -> None:
    gone = await world.control.user("gone@contoso.test")
    await world.control.assign(gone["id"])
    await world.control.call("DELETE", f"/entra/users/{gone['id']}")
    page = await world.redirect(authn_request())
    assert "gone@contoso.test" not in page.text
    for typed in ("gone@contoso.test", "nobody@contoso.test"):
        action, values = page.form_with(username="")
        answer = await world.browser.post(action, {**values, "username": typed})
        assert answer.status == 400 and "AADSTS50034" in answer.text and typed in answer.text


async def test_a_user_signed_in_then_blocked_is_dropped_from_the_browser(world: World) -> None:
    page = await world.browser.pick(await world.redirect(authn_request()), world.alice)
    page.saml_post()
    await world.control.call("PATCH", f"/entra/users/{world.alice['id']}", {"accountEnabled": False})
    page = await world.redirect(authn_request(request_id="_req2"))
    assert page.mode == "list"  # no single sign-on for a blocked account


async def test_missing_name_id_source_value_is_aadsts501241(world: World) -> None:
    await configure_saml(world.control, nameIdSource="user.employeeid")
    page = await world.browser.pick(await world.redirect(authn_request()), world.alice)
    assert_error_page(page, 501241, 500)


async def test_sign_in_page_expires_after_thirty_minutes(world: World) -> None:
    page = await world.redirect(authn_request())
    await world.control.advance(31 * 60)
    answer = await world.browser.pick(page, world.alice)
    assert_error_page(answer, 50089, 400)


async def test_sign_in_form_without_its_csrf_token_is_refused(world: World) -> None:
    page = await world.redirect(authn_request())
    action, values = page.form_with(username=world.alice["id"])
    answer = await world.browser.post(action, {k: v for k, v in values.items() if k != "csrf_token"})
    assert answer.status == 403 and "Request refused" in answer.text


async def test_a_response_page_cannot_be_replayed(world: World) -> None:
    page = await world.redirect(authn_request())
    action, values = page.form_with(username=world.alice["id"])
    (await world.browser.post(action, values)).saml_post()
    assert_error_page(await world.browser.post(action, values), 50089, 400)
