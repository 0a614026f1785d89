"""Galaxy's Access pages over real HTTP with many SCIM-provisioned users: Access > Users pages its
table (the search kept across pages), and a big group's member names are shortened."""

from __future__ import annotations

from tests.conftest import StartEmulator
from tests.entra_saml_helpers import Browser
from tests.portal_helpers import sign_in_as_accountadmin

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"


async def test_users_page_in_hundreds_and_groups_shorten_member_names(start_emulator: StartEmulator) -> None:
    emu = await start_emulator(scenario="demo")
    scim = emu.scim()
    ids = []
    for i in range(120):
        body = {"schemas": [USER], "userName": f"person{i:03}@contoso.test", "displayName": f"P {i}"}
        reply = await scim.post("/Users", body)
        assert reply.status == 201, reply.body
        ids.append(reply.json["id"])
    members = [{"value": i} for i in ids[:15]]
    group = {"schemas": [GROUP], "displayName": "Big", "members": members}
    assert (await scim.post("/Groups", group)).status == 201
    browser = Browser(emu)
    try:
        await sign_in_as_accountadmin(browser, emu)
        first = await browser.get("/galaxy/access/users")
        assert len(first.doc.xpath("//tr[@data-user]")) == 100
        assert "1–100 of 121 users" in first.doc.xpath("//*[@data-count]")[0].text_content()
        second = await browser.get(first.doc.xpath("//a[@rel='next']/@href")[0])
        assert len(second.doc.xpath("//tr[@data-user]")) == 21
        searched = await browser.get("/galaxy/access/users?q=person11")
        assert len(searched.doc.xpath("//tr[@data-user]")) == 10
        assert "10 users match “person11”" in searched.doc.xpath("//*[@data-count]")[0].text_content()
        one = await browser.get("/galaxy/access/users?q=person119")
        assert "1 user matches “person119”" in one.doc.xpath("//*[@data-count]")[0].text_content()
        groups = await browser.get("/galaxy/access/groups")
        big = groups.doc.xpath("//tr[@data-group='Big']")[0].text_content()
        assert "person009@contoso.test" in big and "and 5 more" in big and "person014" not in big
    finally:
        await browser.close()


async def test_notices_come_from_the_session_not_the_url(start_emulator: StartEmulator) -> None:
    emu = await start_emulator(scenario="demo")
    browser = Browser(emu)
    try:
        await sign_in_as_accountadmin(browser, emu)
        crafted = await browser.get("/galaxy/access/users?notice=Your+account+is+locked")
        assert "Your account is locked" not in crafted.text
        page = await browser.get("/galaxy/access/sso/scim")
        token = page.doc.xpath("//input[@name='csrf_token']/@value")[0]
        page = await browser.post("/galaxy/access/sso/scim/tokens", {"csrf_token": token})
        tokens = page.doc.xpath("//tr[@data-token-id]/@data-token-id")
        revoked = await browser.post(
            "/galaxy/access/sso/scim/tokens/revoke", {"csrf_token": token, "id": tokens[0]}
        )
        assert "The token was revoked." in revoked.doc.xpath("//*[@role='status']")[0].text_content()
        again = await browser.get("/galaxy/access/sso/scim")  # shown once
        assert not again.doc.xpath("//*[@role='status']")
    finally:
        await browser.close()
