"""The Provisioning blade's editing pages over real HTTP, posted as a browser posts them (the CSRF
cookie and field): the Attribute Mapping editor with its expression tester, the Settings section
(scope, accidental-deletion threshold), Provision on demand with its step-by-step result and the
provisioning log detail panel. What the pages save is what the next cycle sends; a refused change
shows the reason and saves nothing."""

from __future__ import annotations

from collections.abc import AsyncIterator
from urllib.parse import quote

import pytest

from tests.conftest import TOKEN, StartEmulator
from tests.entra_helpers import APP, Control
from tests.entra_saml_helpers import Browser
from tests.portal_helpers import PortalSession, role_text

BASE = f"/entra/portal/apps/{quote(APP)}/provisioning"


class Portal(PortalSession):
    """The Provisioning blade's pages; a post carries the CSRF field of the page it is made on."""

    async def settings(self) -> dict:
        return await self.control.call("GET", f"/entra/apps/{APP}/provisioning")


@pytest.fixture
async def portal(start_emulator: StartEmulator) -> AsyncIterator[Portal]:
    emu = await start_emulator()
    control = Control(emu)
    alice = await control.user("alice@contoso.test", givenName="Alice", surname="Archer", jobTitle="Analyst")
    await control.assign(alice["id"])
    await control.configure()
    world = Portal(Browser(emu), BASE, emu=emu, control=control, alice=alice)
    yield world
    await world.browser.close()


def row_index(settings: dict, target: str, key: str = "userMappings") -> int:
    return next(i for i, m in enumerate(settings[key]) if m["target"] == target)


def mapping_fields(**changes: str) -> dict[str, str]:
    fields = {
        "type": "direct",
        "source": "",
        "constant": "",
        "expression": "",
        "defaultValue": "",
        "target": "",
        "matching": "no",
        "precedence": "",
        "applyOn": "always",
        "op": "save",
    }
    return {**fields, **changes}


async def test_an_expression_saved_in_the_editor_is_what_the_next_cycle_sends(portal: Portal) -> None:
    settings = await portal.settings()
    index = row_index(settings, "displayName")
    page = await portal.open(f"/mappings/user?edit={index}")
    assert page.doc.xpath("//select[@name='source']/option[@selected]/@value") == ["displayName"]

    expression = 'Join(" ", ToUpper([surname]), [givenName])'
    fields = mapping_fields(type="expression", expression=expression, target="displayName", index=str(index))
    # Test expression: the value for Alice, and nothing saved.
    tested = await portal.post(
        "/mappings/user",
        {**fields, "op": "test", "testObject": portal.alice["id"]},
        form_page="/mappings/user",
    )
    assert "ARCHER Alice" in role_text(tested, "status")
    assert (await portal.settings())["userMappings"] == settings["userMappings"]

    saved = await portal.post("/mappings/user", fields)
    assert saved.url.endswith("?done=saved") and "initial cycle" in role_text(saved, "status")
    row = (await portal.settings())["userMappings"][index]
    assert row == {
        "target": "displayName",
        "sourceType": "expression",
        "source": expression,
        "matchingPrecedence": None,
        "applyOn": "always",
        "defaultValue": None,
    }
    await portal.control.run()
    assert (await portal.control.galaxy_users())["alice@contoso.test"]["displayName"] == "ARCHER Alice"


async def test_a_bad_expression_is_refused_in_the_pane_and_nothing_is_saved(portal: Portal) -> None:
    before = await portal.settings()
    index = row_index(before, "displayName")
    fields = mapping_fields(type="expression", expression="Join(", target="displayName", index=str(index))
    page = await portal.post("/mappings/user", fields)
    assert page.status == 200 and "Not saved" in role_text(page, "alert")
    assert "this mapping (Source): invalid expression" in role_text(page, "alert")
    # What was typed stays in the pane.
    assert page.doc.xpath("//textarea[@name='expression']/text()") == ["Join("]
    assert (await portal.settings())["userMappings"] == before["userMappings"]

    # An unknown source attribute and a second writer of one target are refused too.
    for bad in (
        mapping_fields(source="favouriteColour", target="nickName"),
        mapping_fields(source="mail", target="userName"),
    ):
        page = await portal.post("/mappings/user", {**bad, "index": ""})
        assert "Not saved" in role_text(page, "alert")
        assert "Mappings[" not in role_text(page, "alert")  # said as the table reads, not as JSON
    assert (await portal.settings())["userMappings"] == before["userMappings"]


async def test_add_a_constant_delete_a_row_and_disable_groups(portal: Portal) -> None:
    before = await portal.settings()
    page = await portal.post(
        "/mappings/user",
        {**mapping_fields(type="constant", constant="Employee", target="userType"), "index": ""},
    )
    assert "saved" in role_text(page, "status")
    after = (await portal.settings())["userMappings"]
    assert after[-1]["sourceType"] == "constant" and after[-1]["source"] == "Employee"
    assert len(after) == len(before["userMappings"]) + 1

    index = row_index(await portal.settings(), "title")
    page = await portal.post("/mappings/user/delete", {"index": str(index)}, form_page="/mappings/user")
    assert "deleted" in role_text(page, "status")
    assert all(m["target"] != "title" for m in (await portal.settings())["userMappings"])
    # The matching attribute cannot go: the engine must query before it creates.
    index = row_index(await portal.settings(), "userName")
    page = await portal.post("/mappings/user/delete", {"index": str(index)}, form_page="/mappings/user")
    assert "matching attribute" in role_text(page, "alert")

    page = await portal.post("/mappings/group/enabled", {"enabled": "no"}, form_page="/mappings/group")
    assert page.url.endswith("?done=off") and "no longer provisioned" in role_text(page, "status")
    assert (await portal.settings())["provisionGroups"] is False
    overview = await portal.open("?edit=1")
    assert "Provision Microsoft Entra ID Groups" in overview.text


async def test_unknown_rows_and_kinds_are_not_found(portal: Portal) -> None:
    for path in ("/mappings/user?edit=999", "/mappings/printers", "/mappings/user?edit=abc"):
        page = await portal.browser.get(BASE + path)
        assert page.status == 404, path


async def test_settings_scope_and_accidental_deletion_threshold(portal: Portal) -> None:
    fields = {
        "op": "save",
        "mode": "Automatic",
        "tenantUrl": portal.emu.scim_url,
        "secretToken": "",
        "settings": "1",
        "scope": "all",
        "accidentalDeletionThreshold": "3",
    }  # "preventAccidentalDeletion" unticked: absent from the post
    page = await portal.post("", fields, form_page="?edit=1")
    assert page.url.endswith("done=saved")
    saved = await portal.settings()
    assert (saved["scope"], saved["accidentalDeletionThreshold"]) == ("all", 3)
    assert saved["preventAccidentalDeletion"] is False
    assert page.doc.xpath("//select[@name='scope']/option[@selected]/@value") == ["all"]

    for bad, words in (("0", "at least 1"), ("many", "whole number")):
        page = await portal.post("", {**fields, "accidentalDeletionThreshold": bad}, form_page="?edit=1")
        assert page.status == 200 and words in role_text(page, "alert")
        assert page.doc.xpath("//input[@name='accidentalDeletionThreshold']/@value") == [bad]
    page = await portal.post("", {**fields, "scope": "everyone"}, form_page="?edit=1")
    assert "scope" in role_text(page, "alert")
    assert await portal.settings() == saved


async def test_allow_deletes_after_the_threshold_held_them_back(portal: Portal) -> None:
    control = portal.control
    users = [await control.user(f"u{i}@contoso.test") for i in range(3)]
    for user in users:
        await control.assign(user["id"])
    await control.configure(accidentalDeletionThreshold=2)
    await control.call("POST", f"/entra/apps/{APP}/provisioning/start")
    await control.run()
    for user in users:
        await control.call("DELETE", f"/entra/users/{user['id']}?permanent=true")
    await control.run()
    page = await portal.open("")
    assert "3 deletions exceeded" in page.doc.xpath("//*[@data-staged-deletes]")[0].text_content()
    page = await portal.post("/allow-deletes", {}, form_page="")
    assert "Deletes allowed" in role_text(page, "status")
    await control.run()
    assert set(await control.galaxy_users()) == {"alice@contoso.test"}


async def test_provision_on_demand_shows_each_step_and_reaches_galaxy(portal: Portal) -> None:
    page = await portal.open("/on-demand?q=alice")
    assert page.doc.xpath("//select[@name='objectId']/option/@value") == [portal.alice["id"]]
    page = await portal.post(
        "/on-demand", {"objectId": portal.alice["id"], "q": "alice"}, form_page="/on-demand"
    )
    assert page.status == 200
    result = page.doc.xpath("//*[@data-result]")[0]
    assert result.get("data-result") == "success"
    steps = page.doc.xpath("//section[@data-result]/ol[@data-steps]/li/@data-step")
    assert steps == ["import", "scoping", "matching", "export"]
    modified = page.doc.xpath("//table[@data-modified]//td[1]/text()")
    assert "userName" in modified
    assert "alice@contoso.test" in await portal.control.galaxy_users()
    # The result links to its log entry, and the entry's panel shows the same steps.
    link = page.doc.xpath("//a[contains(@href, 'entry=')]/@href")[0]
    detail = await portal.browser.get(link)
    assert detail.doc.xpath("//*[@data-log-detail]//ol[@data-steps]/li/@data-step") == steps
    assert [t.text_content() for t in detail.doc.xpath("//*[@role='tab']")] == [
        "Steps",
        "Modified properties",
        "Summary",
    ]
    assert "Administrator (provision on demand)" in detail.text


async def test_provision_on_demand_refusals_are_notices(portal: Portal) -> None:
    control = portal.control
    members = [(await control.user(f"m{i}@contoso.test"))["id"] for i in range(6)]
    big = await control.group("Big group", members)
    page = await portal.post("/on-demand", {"objectId": big["id"]}, form_page="/on-demand")
    assert page.status == 200 and "at most 5 members" in role_text(page, "alert")
    page = await portal.post("/on-demand", {"objectId": "nobody"}, form_page="/on-demand")
    assert "Select a user or group" in role_text(page, "alert")
    # A wrong token: the connection step fails and says why.
    await control.configure(secretToken="wrong-token-123456")
    page = await portal.post("/on-demand", {"objectId": portal.alice["id"]}, form_page="/on-demand")
    assert page.doc.xpath("//*[@data-result]/@data-result") == ["failure"]
    assert page.doc.xpath("//ol[@data-steps]/li/@data-step") == ["processing"]
    assert "alice@contoso.test" not in await control.galaxy_users()
    assert TOKEN not in page.text


async def test_log_detail_of_a_failure_has_troubleshooting(portal: Portal) -> None:
    await portal.control.call(
        "POST", "/galaxy/faults", {"method": "POST", "path": "/Users", "status": 409, "count": 1}
    )
    await portal.control.call("POST", f"/entra/apps/{APP}/provisioning/start")
    await portal.control.run()
    entry = (await portal.control.logs(status="failure"))[0]
    page = await portal.open(f"/logs?status=failure&entry={entry['id']}")
    tabs = [t.text_content() for t in page.doc.xpath("//*[@role='tab']")]
    assert tabs == ["Steps", "Troubleshooting & Recommendations", "Modified properties", "Summary"]
    panel = page.doc.xpath("//*[@id='panel-trouble']")[0].text_content()
    assert entry["provisioningStatusInfo"]["errorInformation"]["errorCode"] in panel
    assert page.doc.xpath("//tr[@aria-current='true']")
    missing = await portal.browser.get(BASE + "/logs?entry=no-such-entry")
    assert missing.status == 404 and "does not exist" in role_text(missing, "alert")


async def test_posts_without_the_csrf_field_change_nothing(portal: Portal) -> None:
    before = await portal.settings()
    await portal.open("/mappings/user")  # the browser has its CSRF cookie, but the form has no field
    for path, fields in (
        ("/mappings/user", mapping_fields(type="constant", constant="x", target="userType", index="")),
        ("/mappings/user/delete", {"index": "2"}),
        ("/mappings/group/enabled", {"enabled": "no"}),
        ("", {"op": "save", "mode": "Manual", "tenantUrl": "", "settings": "1", "scope": "all"}),
    ):
        page = await portal.browser.post(BASE + path, fields)
        assert page.status == 403, path
    page = await portal.browser.post(BASE + "/on-demand", {"objectId": portal.alice["id"]})
    assert page.status == 403
    assert await portal.settings() == before
    assert await portal.control.galaxy_users() == {}
