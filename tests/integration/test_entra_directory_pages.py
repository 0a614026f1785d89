"""The Entra portal's Users and Groups pages over real HTTP, posting their forms as a browser does
(the CSRF cookie and hidden field): a post without the token is refused and changes nothing,
unknown ids are 404 pages, and refused input is shown again with the reason, saving nothing."""

from __future__ import annotations

import re
import uuid
from collections.abc import AsyncIterator

import pytest

from emulator.hashing import password_matches
from tests.conftest import StartEmulator
from tests.entra_helpers import Control
from tests.entra_saml_helpers import Browser, Page
from tests.portal_helpers import PortalSession, alert, notice

PORTAL = "/entra/portal"


class Portal(PortalSession):
    """Posts carry the CSRF field of the New user page."""

    async def users(self, *, deleted: bool = False) -> dict[str, dict]:
        query = "?includeDeleted=true" if deleted else ""
        found = (await self.control.call("GET", f"/entra/users{query}"))["users"]
        return {u["userPrincipalName"]: u for u in found}

    async def groups(self) -> dict[str, dict]:
        return {g["displayName"]: g for g in (await self.control.call("GET", "/entra/groups"))["groups"]}


def value(page: Page, name: str) -> str:
    return page.doc.xpath(f"//input[@name='{name}']/@value")[0]


@pytest.fixture
async def portal(start_emulator: StartEmulator) -> AsyncIterator[Portal]:
    emu = await start_emulator()
    control = Control(emu)
    alice = await control.user("alice@contoso.test", givenName="Alice")
    browser = Browser(emu)
    yield Portal(browser, PORTAL, "/users/new", emu=emu, control=control, alice=alice)
    await browser.close()


async def test_a_post_without_the_csrf_token_is_refused_and_creates_nothing(portal: Portal) -> None:
    await portal.open("/users/new")  # the browser holds the cookie; the post leaves the field out
    before = await portal.users()
    page = await portal.browser.post(
        f"{PORTAL}/users/new", {"displayName": "Mallory", "userPrincipalName": "mallory@contoso.test"}
    )
    assert page.status == 403
    assert "Request refused" in page.text
    assert await portal.users() == before

    page = await portal.browser.post(f"{PORTAL}/groups/new", {"displayName": "Intruders"})
    assert page.status == 403
    assert "Intruders" not in await portal.groups()

    page = await portal.browser.post(f"{PORTAL}/users/{portal.alice['id']}/delete", {})
    assert page.status == 403
    assert not (await portal.users())["alice@contoso.test"].get("deletedDateTime")


async def test_unknown_ids_are_404_pages(portal: Portal) -> None:
    unknown = str(uuid.uuid4())
    for path in (f"/users/{unknown}", f"/groups/{unknown}", "/users/not-an-id", "/groups/not-an-id"):
        page = await portal.browser.get(PORTAL + path)
        assert page.status == 404, path
        # Said in the portal's frame, with its menus, not as a sign-in failure.
        assert "This page does not exist" in page.text and "AADSTS" not in page.text, path
        assert page.doc.xpath("//nav[@aria-label='Microsoft Entra ID']"), path
    for path in (f"/users/{unknown}/delete", f"/users/{unknown}/restore", f"/groups/{unknown}/members"):
        page = await portal.post(path, {"member": portal.alice["id"]})
        assert page.status == 404, path


async def test_new_user_with_a_password_then_search(portal: Portal) -> None:
    page = await portal.post(
        "/users/new",
        {
            "displayName": "Bob Kelly",
            "userPrincipalName": "bob@contoso.test",
            "mail": "bob@contoso.test",
            "givenName": "Bob",
            "surname": "",
            "jobTitle": "Analyst",
            "password": "Correct-Horse-9",
        },
        follow=False,
    )
    assert page.status == 303
    bob = (await portal.users())["bob@contoso.test"]
    assert page.headers["Location"] == f"{PORTAL}/users/{bob['id']}?done=user-created"
    assert bob["jobTitle"] == "Analyst" and bob["accountEnabled"] is True
    assert "surname" not in bob  # a blank field is not sent
    assert password_matches("Correct-Horse-9", bob["passwordHash"])

    page = await portal.open("/users?q=KELL")
    assert [r.text_content() for r in page.doc.xpath("//table[@data-users]//td[1]")] == ["Bob Kelly"]
    page = await portal.open("/users?q=alice@")
    assert [r.text_content() for r in page.doc.xpath("//table[@data-users]//td[1]")] == ["Alice"]


async def test_refused_input_is_shown_with_what_was_typed_and_saves_nothing(portal: Portal) -> None:
    before = await portal.users()
    # A duplicate userPrincipalName (any case), as the control API refuses it.
    page = await portal.post(
        "/users/new", {"displayName": "Alice Two", "userPrincipalName": "ALICE@contoso.test", "password": "x"}
    )
    assert page.status == 200
    assert "already exists" in alert(page) and "not created" in alert(page)
    assert value(page, "displayName") == "Alice Two"
    assert page.doc.xpath("//input[@name='password']/@value") == []  # a password is never sent back
    assert "type it again" in alert(page)  # ...so the refusal says so where it is read
    # A mail that is not an address, and a missing display name.
    page = await portal.post(
        "/users/new", {"displayName": "Carol", "userPrincipalName": "c@x.test", "mail": "c"}
    )
    assert "does not look like name@domain" in alert(page)
    page = await portal.post("/users/new", {"displayName": "", "userPrincipalName": "d@x.test"})
    assert "displayName is required" in alert(page)
    assert await portal.users() == before

    # Editing: a blank display name is refused, and the other typed values are kept on the page.
    user_page = f"/users/{portal.alice['id']}"
    page = await portal.post(user_page, {"displayName": "", "jobTitle": "Chief"})
    assert "displayName cannot be empty" in alert(page)
    assert value(page, "jobTitle") == "Chief"
    # Taking another user's userPrincipalName is refused.
    await portal.control.user("erin@contoso.test")
    page = await portal.post(user_page, {"userPrincipalName": "erin@contoso.test"})
    assert "already exists" in alert(page)
    alice = (await portal.users())["alice@contoso.test"]
    assert alice["displayName"] == "Alice" and "jobTitle" not in alice

    # A group without a name; adding nobody.
    page = await portal.post("/groups/new", {"displayName": " ", "members": portal.alice["id"]})
    assert "displayName is required" in alert(page)
    assert await portal.groups() == {}
    group = await portal.control.group("Readers")
    page = await portal.post(f"/groups/{group['id']}/members", {"member": ""})
    assert "Select a user or group" in alert(page)
    page = await portal.post(f"/groups/{group['id']}/members/remove", {"member": portal.alice["id"]})
    assert "not a member" in alert(page)


async def test_edit_clear_block_delete_restore_and_purge(portal: Portal) -> None:
    user_page = f"/users/{portal.alice['id']}"
    page = await portal.post(user_page, {"displayName": "Alice Smith", "givenName": "", "department": "Data"})
    assert notice(page) == "Profile saved."
    alice = (await portal.users())["alice@contoso.test"]
    assert alice["displayName"] == "Alice Smith" and alice["department"] == "Data"
    assert "givenName" not in alice  # blanked: cleared
    seq = alice["changeSeq"]
    page = await portal.post(user_page, {"displayName": "Alice Smith", "department": "Data"})
    assert "Nothing to save" in notice(page)
    assert (await portal.users())["alice@contoso.test"]["changeSeq"] == seq

    page = await portal.post(f"{user_page}/sign-in", {"enabled": "false"})
    assert "Sign-in blocked" in notice(page)
    assert (await portal.users())["alice@contoso.test"]["accountEnabled"] is False
    assert page.doc.xpath("//button[normalize-space()='Allow sign-in']")

    page = await portal.post(f"{user_page}/delete", {})
    assert "30 days" in notice(page)
    assert "alice@contoso.test" not in await portal.users()
    deleted = await portal.open("/users/deleted")
    assert "alice@contoso.test" in deleted.doc.xpath("string(//table[@data-deleted-users])")
    page = await portal.post(f"{user_page}/delete", {})
    assert "already deleted" in alert(page)

    page = await portal.post(f"{user_page}/restore", {})
    assert "restored" in notice(page)
    assert not (await portal.users())["alice@contoso.test"]["deletedDateTime"]

    await portal.post(f"{user_page}/delete", {})
    page = await portal.post(f"{user_page}/purge", {})
    assert "permanently" in notice(page)
    assert "alice@contoso.test" not in await portal.users(deleted=True)


async def test_groups_create_members_and_delete(portal: Portal) -> None:
    bob = await portal.control.user("bob@contoso.test")
    page = await portal.post(
        "/groups/new",
        {"displayName": "Readers", "description": "Read only", "members": portal.alice["id"]},
        follow=False,
    )
    assert page.status == 303
    group = (await portal.groups())["Readers"]
    assert group["members"] == [portal.alice["id"]] and group["description"] == "Read only"
    group_page = f"/groups/{group['id']}"
    assert page.headers["Location"] == f"{PORTAL}{group_page}?done=group-created"

    # The add list offers only users and groups not yet members, and never the group itself.
    page = await portal.open(group_page)
    offered = page.doc.xpath("//select[@name='member']/descendant::option/@value")
    assert bob["id"] in offered and portal.alice["id"] not in offered and group["id"] not in offered
    await portal.post(f"{group_page}/members", {"member": bob["id"]})
    others = await portal.control.group("Others")
    page = await portal.post(f"{group_page}/members", {"member": others["id"]})
    assert notice(page) == "Member added."
    assert (await portal.groups())["Readers"]["members"] == [portal.alice["id"], bob["id"], others["id"]]
    page = await portal.post(f"{group_page}/members/remove", {"member": portal.alice["id"]})
    assert notice(page) == "Member removed."
    # The user's page lists its groups.
    bob_page = await portal.open(f"/users/{bob['id']}")
    assert re.search(r"Readers", bob_page.doc.xpath("string(//table[@data-user-groups])"))

    page = await portal.post(group_page, {"displayName": "Readers EU", "description": ""})
    assert notice(page) == "Group saved."
    saved = (await portal.groups())["Readers EU"]
    assert "description" not in saved
    page = await portal.post(f"{group_page}/delete", {})
    assert notice(page) == "Group deleted."
    assert "Readers EU" not in await portal.groups()


async def test_a_big_tenant_pages_its_list_and_searches_its_pickers(portal: Portal) -> None:
    for i in range(130):
        await portal.control.user(f"user{i:03}@contoso.test", displayName=f"User {i:03}")
    group = await portal.control.group("Everyone")
    # Users: 131 users, 100 to a page, the search kept in the links.
    first = await portal.open("/users")
    assert len(first.doc.xpath("//table[@data-users]/tbody/tr")) == 100
    assert "1–100 of 131 users" in first.doc.xpath("//*[@data-count]")[0].text_content()
    second = await portal.browser.get(first.doc.xpath("//a[@rel='next']/@href")[0])
    assert len(second.doc.xpath("//table[@data-users]/tbody/tr")) == 31
    assert second.doc.xpath("//a[@rel='prev']") and not second.doc.xpath("//a[@rel='next']")
    searched = await portal.open("/users?q=user 12")
    assert len(searched.doc.xpath("//table[@data-users]/tbody/tr")) == 10  # User 120 to User 129
    # A group's Add members picker: a picker's worth of choices, the count of the rest, a search.
    page = await portal.open(f"/groups/{group['id']}")
    assert len(page.doc.xpath("//select[@name='member']//option[@value!='']")) == 50
    assert "Showing 50 of" in page.doc.xpath("//*[@data-pick-count]")[0].text_content()
    page = await portal.open(f"/groups/{group['id']}?find=user 129")
    options = page.doc.xpath("//select[@name='member']//option[@value!='']/text()")
    assert options == ["User 129 (user129@contoso.test)"]


async def test_a_new_user_with_a_deleted_users_name_says_where_it_is(portal: Portal) -> None:
    await portal.control.call("DELETE", f"/entra/users/{portal.alice['id']}")  # soft delete
    page = await portal.post(
        "/users/new", {"displayName": "Alice", "userPrincipalName": "alice@contoso.test"}
    )
    assert "already exists" in alert(page) and "Deleted users" in alert(page)
