"""The Entra portal's Attributes & Claims page over real HTTP, as a browser posts its forms (with
the CSRF cookie and field): edits made there reach the signed assertion of a real sign-in at
Entra's IdP, and refused changes show the reason and save nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from emulator.saml.signing import WITH_SHA1_ALGORITHMS, verify_element
from tests.conftest import StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import (
    NS,
    Browser,
    configure_saml,
    metadata,
    pysaml2_sp,
    redirect_request,
    response_xml,
)
from tests.portal_helpers import PortalSession, alert, notice

TENANT = "8c3f1d2a-6b4e-4f0a-9e2d-3a7b5c1d9e40"  # the `empty` scenario's tenant
ISSUER = f"https://sts.windows.net/{TENANT}/"
WS = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/"
MS = "http://schemas.microsoft.com/identity/claims/"
GROUPS = "http://schemas.microsoft.com/ws/2008/06/identity/claims/groups"
PAGE = f"/entra/portal/apps/{quote(APP)}/sso/claims"


class Portal(PortalSession):
    """The Attributes & Claims page; its forms post to sub-paths with the page's CSRF field."""

    async def settings(self) -> dict:
        return await self.control.call("GET", f"/entra/apps/{APP}/saml")


@pytest.fixture
async def portal(start_emulator: StartEmulator) -> AsyncIterator[Portal]:
    emu = await start_emulator()
    control = Control(emu)
    alice = await control.user(
        "alice@contoso.test", givenName="Alice", surname="Archer", department="Finance"
    )
    await control.assign(alice["id"])
    await configure_saml(control)
    world = Portal(Browser(emu), PAGE, "", emu=emu, control=control, alice=alice)
    yield world
    await world.browser.close()


async def sign_in_assertion(portal: Portal) -> tuple:
    """A real SP-initiated sign-in of Alice at Entra's IdP; the signed assertion, verified."""
    sp = pysaml2_sp((await metadata(portal.emu, portal.control))[0])
    _, url = redirect_request(sp, ISSUER)  # no NameIDPolicy Format: the configured one applies
    browser = Browser(portal.emu)  # a browser of its own, signed in nowhere
    try:
        page = await browser.pick(await browser.get(url), portal.alice)
        _, saml_response, _ = page.saml_post()
    finally:
        await browser.close()
    root = response_xml(saml_response)
    assertion = root.find("saml:Assertion", NS)
    certificate = assertion.findtext("ds:Signature/ds:KeyInfo/ds:X509Data/ds:X509Certificate", namespaces=NS)
    verify_element(root, assertion.get("ID"), [certificate], WITH_SHA1_ALGORITHMS)
    name_id = assertion.find("saml:Subject/saml:NameID", NS)
    attributes = assertion.findall("saml:AttributeStatement/saml:Attribute", NS)
    claims = {a.get("Name"): [v.text for v in a.findall("saml:AttributeValue", NS)] for a in attributes}
    return name_id, claims


async def test_claims_edited_on_the_page_reach_the_signed_assertion(portal: Portal) -> None:
    analysts = await portal.control.group("Analysts", [portal.alice["id"]])
    name_id, claims = await sign_in_assertion(portal)
    assert name_id.text == "alice@contoso.test"
    assert claims[WS + "surname"] == ["Archer"] and claims[WS + "givenname"] == ["Alice"]

    # Edit: givenname becomes a short name of the SP's choosing.
    page = await portal.post(
        "/edit",
        {"original": WS + "givenname", "namespace": "", "name": "first_name", "source": "user.givenname"},
    )
    assert page.url.endswith("?done=saved") and "Claim saved" in notice(page)
    # Add: namespace + name, as the portal splits a claim URI.
    page = await portal.post(
        "/add",
        {
            "namespace": "http://schemas.example.com/claims/",
            "name": "department",
            "source": "user.department",
        },
    )
    assert "Claim added" in notice(page)
    # Delete: surname.
    page = await portal.post("/delete", {"name": WS + "surname"})
    assert "Claim deleted" in notice(page)
    # The required claim: the object id, persistent.
    page = await portal.post("/nameid", {"nameIdSource": "user.objectid", "nameIdFormat": "persistent"})
    assert "Name ID" in notice(page)
    # The groups claim.
    page = await portal.post("/groups", {"groupsClaim": "securityGroups"})
    assert "Group claim saved" in notice(page)

    rows = page.doc.xpath("//table[@data-claims]//tr[@data-claim]/@data-claim")
    assert rows == [
        "first_name",
        WS + "emailaddress",
        WS + "name",
        "http://schemas.example.com/claims/department",
    ]
    settings = await portal.settings()
    assert (settings["nameIdSource"], settings["nameIdFormat"], settings["groupsClaim"]) == (
        "user.objectid",
        "persistent",
        "securityGroups",
    )

    name_id, claims = await sign_in_assertion(portal)
    assert (name_id.text, name_id.get("Format")) == (
        portal.alice["id"],
        "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
    )
    assert claims["first_name"] == ["Alice"]
    assert claims["http://schemas.example.com/claims/department"] == ["Finance"]
    assert claims[GROUPS] == [analysts["id"]]
    assert WS + "surname" not in claims and WS + "givenname" not in claims
    assert claims[WS + "emailaddress"] == ["alice@contoso.test"]  # untouched rows still there


async def test_the_sso_blade_links_to_the_page_and_the_edit_pane_splits_the_claim_uri(portal: Portal) -> None:
    blade = await portal.browser.get(f"/entra/portal/apps/{quote(APP)}/sso")
    (link,) = blade.doc.xpath("//a[@aria-label='Edit Attributes & Claims']/@href")
    linked = await portal.browser.get(link)
    assert linked.status == 200 and linked.doc.xpath("//h1")[0].text_content() == "Attributes & Claims"
    page = await portal.open()
    edit = page.doc.xpath(f"//a[@aria-label='Edit {WS}givenname']/@href")[0]
    page = await portal.browser.get(edit)
    assert page.doc.xpath("//input[@name='original']/@value") == [WS + "givenname"]
    assert page.doc.xpath("//input[@id='claim-name']/@value") == ["givenname"]
    assert page.doc.xpath("//input[@id='claim-namespace']/@value") == [WS.rstrip("/")]
    assert page.doc.xpath("//select[@id='claim-source']/option[@selected]/@value") == ["user.givenname"]
    assert page.doc.xpath("//form[@data-form='edit']/@action") == [f"{link}/edit"]
    page = await portal.open("?add=1")
    assert page.doc.xpath("//form[@data-form='add']/@action") == [f"{link}/add"]
    # The selects offer exactly what the settings accept.
    assert page.doc.xpath("//select[@id='nameIdFormat']/option/@value") == [
        "emailAddress",
        "persistent",
        "unspecified",
        "transient",
    ]
    assert page.doc.xpath("//select[@id='groupsClaim']/option/@value") == ["none", "securityGroups"]
    assert "user.department" in page.doc.xpath("//select[@id='claim-source']/option/@value")
    missing = await portal.browser.get("/entra/portal/apps/no-such-app/sso/claims")
    assert missing.status == 404


@pytest.mark.parametrize(
    ("action", "fields", "reason"),
    [
        # A claim Entra always adds, typed as namespace + name or as a full URI.
        ("add", {"namespace": MS.rstrip("/"), "name": "tenantid", "source": "user.mail"}, "adds by itself"),
        ("add", {"namespace": "", "name": GROUPS, "source": "user.mail"}, "adds by itself"),
        (
            "edit",
            {
                "original": WS + "name",
                "namespace": "",
                "name": MS + "objectidentifier",
                "source": "user.mail",
            },
            "adds by itself",
        ),
        ("add", {"namespace": WS.rstrip("/"), "name": "emailaddress", "source": "user.mail"}, "listed twice"),
        ("add", {"namespace": "", "name": "", "source": "user.mail"}, "enter the claim's name"),
        ("add", {"namespace": "", "name": "shoe", "source": "user.shoesize"}, "must be a user attribute"),
        (
            "edit",
            {"original": "gone", "namespace": "", "name": "x", "source": "user.mail"},
            "no longer one of",
        ),
        ("delete", {"name": "gone"}, "not one of the additional claims"),
        (
            "nameid",
            {"nameIdSource": "user.shoesize", "nameIdFormat": "persistent"},
            "must be a user attribute",
        ),
        ("nameid", {"nameIdSource": "user.mail", "nameIdFormat": "x509"}, "nameIdFormat must be one of"),
        ("groups", {"groupsClaim": "all"}, "groupsClaim must be one of"),
    ],
)
async def test_a_refused_change_shows_the_reason_and_saves_nothing(
    portal: Portal, action: str, fields: dict, reason: str
) -> None:
    before = await portal.settings()
    page = await portal.post(f"/{action}", fields)
    assert page.status == 200
    assert "not" in alert(page) and reason in alert(page)
    assert "claims[" not in alert(page)  # the field is named as the page names it
    assert not page.doc.xpath("//*[@role='status']")
    assert await portal.settings() == before
    # What was typed is still in the pane (a stale edit closes it: its claim is gone).
    if action in ("add", "edit") and fields.get("name") and fields.get("original") != "gone":
        assert page.doc.xpath("//input[@id='claim-name']/@value") == [fields["name"]]


async def test_a_post_without_the_csrf_field_is_refused_and_changes_nothing(portal: Portal) -> None:
    before = await portal.settings()
    await portal.open()  # the browser has the csrf cookie
    for action, fields in [
        ("delete", {"name": WS + "surname"}),
        ("add", {"namespace": "", "name": "x", "source": "user.mail"}),
        ("groups", {"groupsClaim": "securityGroups"}),
        ("nameid", {"nameIdSource": "user.objectid", "nameIdFormat": "persistent"}),
    ]:
        page = await portal.browser.post(f"{PAGE}/{action}", fields)
        assert page.status == 403, action
        page = await portal.browser.post(f"{PAGE}/{action}", {"csrf_token": "forged", **fields})
        assert page.status == 403, action
    assert await portal.settings() == before
