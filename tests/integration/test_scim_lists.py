"""Listing and searching (RFC 7644 §3.4): filters over HTTP, paging, sorting, projection, .search."""

from __future__ import annotations

import urllib.parse

import pytest

from tests.conftest import ScimClient

USER = "urn:ietf:params:scim:schemas:core:2.0:User"
SEARCH = "urn:ietf:params:scim:api:messages:2.0:SearchRequest"


async def seed(scim: ScimClient, n: int) -> list[dict]:
    users = []
    for i in range(n):
        reply = await scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": f"user{i:02d}@contoso.com",
                "displayName": f"User {chr(ord('Z') - i)}",
                "active": i % 3 != 0,
                "name": {"givenName": f"G{i}", "familyName": "Smith" if i % 2 else "Jones"},
            },
        )
        users.append(reply.json)
    return users


def q(filter_text: str) -> str:
    return "/Users?filter=" + urllib.parse.quote(filter_text)


@pytest.mark.parametrize(
    ("filter_text", "expected"),
    [
        ('userName eq "USER03@contoso.com"', [3]),
        ('userName ne "user03@contoso.com"', [0, 1, 2, 4, 5]),
        ('userName co "R0"', [0, 1, 2, 3, 4, 5]),
        ('userName sw "user0"', [0, 1, 2, 3, 4, 5]),
        ('userName ew "04@CONTOSO.COM"', [4]),
        ("displayName pr", [0, 1, 2, 3, 4, 5]),
        ('displayName gt "User W"', [0, 1, 2]),
        ('displayName ge "User W"', [0, 1, 2, 3]),
        ('displayName lt "User V"', [5]),
        ('displayName le "User V"', [4, 5]),
        ('name.familyName eq "Smith" and active eq true', [1, 5]),
        ('name.familyName eq "Smith" or userName eq "user00@contoso.com"', [0, 1, 3, 5]),
        ('not (name.familyName eq "Smith")', [0, 2, 4]),
        ('userName eq "user00@contoso.com" or userName eq "user01@contoso.com" and active eq false', [0]),
        ('(userName eq "user00@contoso.com" or userName eq "user01@contoso.com") and active eq true', [1]),
        ('urn:ietf:params:scim:schemas:core:2.0:User:userName eq "user02@contoso.com"', [2]),
        ('meta.lastModified gt "2000-01-01T00:00:00Z"', [0, 1, 2, 3, 4, 5]),
        ('meta.created lt "2000-01-01T00:00:00Z"', []),
    ],
)
async def test_filter_operators_and_combinators(
    scim: ScimClient, filter_text: str, expected: list[int]
) -> None:
    users = await seed(scim, 6)
    reply = await scim.get(q(filter_text))
    assert reply.status == 200, reply.body
    assert [r["id"] for r in reply.json["Resources"]] == [users[i]["id"] for i in expected]
    assert reply.json["totalResults"] == len(expected)


async def test_value_path_filter_in_the_full_profile(full_scim: ScimClient) -> None:
    a = (
        await full_scim.post(
            "/Users",
            {
                "schemas": [USER],
                "userName": "a",
                "emails": [
                    {"type": "work", "value": "a@contoso.com"},
                    {"type": "home", "value": "a@home.example"},
                ],
            },
        )
    ).json
    await full_scim.post(
        "/Users", {"schemas": [USER], "userName": "b", "emails": [{"type": "home", "value": "b@contoso.com"}]}
    )
    reply = await full_scim.get(q('emails[type eq "work" and value co "@contoso"]'))
    assert [r["id"] for r in reply.json["Resources"]] == [a["id"]]


@pytest.mark.parametrize(
    "bad",
    [
        "userName eq",
        'userName zz "x"',
        '(userName eq "x"',
        'bogus eq "x"',
        'userName eq "x" and',
        "name.nope pr",
    ],
)
async def test_bad_filters_are_invalid_filter_errors(scim: ScimClient, bad: str) -> None:
    reply = await scim.get(q(bad))
    assert reply.status == 400
    assert reply.json["scimType"] == "invalidFilter" and reply.json["detail"]


async def test_paging_edges(scim: ScimClient) -> None:
    users = await seed(scim, 12)
    ids = [u["id"] for u in users]
    page = (await scim.get("/Users?startIndex=11&count=5")).json
    assert page["startIndex"] == 11 and page["itemsPerPage"] == 2 and page["totalResults"] == 12
    assert [r["id"] for r in page["Resources"]] == ids[10:]
    assert (await scim.get("/Users?startIndex=0&count=2")).json["startIndex"] == 1
    empty = (await scim.get("/Users?count=0")).json
    assert empty["totalResults"] == 12 and empty["Resources"] == [] and empty["itemsPerPage"] == 0
    beyond = (await scim.get("/Users?startIndex=50")).json
    assert beyond["Resources"] == [] and beyond["totalResults"] == 12
    assert (await scim.get("/Users?count=-3")).json["itemsPerPage"] == 0
    bad = await scim.get("/Users?startIndex=abc")
    assert bad.status == 400 and bad.json["scimType"] == "invalidValue"


async def test_sorting(scim: ScimClient) -> None:
    users = await seed(scim, 4)
    asc = (await scim.get("/Users?sortBy=displayName")).json["Resources"]
    assert [r["id"] for r in asc] == [u["id"] for u in reversed(users)]
    desc = (await scim.get("/Users?sortBy=userName&sortOrder=descending")).json["Resources"]
    assert [r["id"] for r in desc] == [u["id"] for u in reversed(users)]
    bad = await scim.get("/Users?sortBy=nope")
    assert bad.status == 400 and bad.json["scimType"] == "invalidPath"
    bad_order = await scim.get("/Users?sortBy=userName&sortOrder=sideways")
    assert bad_order.status == 400


async def test_attributes_and_excluded_attributes(scim: ScimClient) -> None:
    await seed(scim, 1)
    only = (await scim.get("/Users?attributes=userName,name.givenName")).json["Resources"][0]
    assert set(only) == {"id", "schemas", "userName", "name"} and set(only["name"]) == {"givenName"}
    without = (await scim.get("/Users?excludedAttributes=name,displayName")).json["Resources"][0]
    assert "name" not in without and "displayName" not in without and "userName" in without
    bad = await scim.get("/Users?attributes=nope")
    assert bad.status == 400 and "nope" in bad.json["detail"]


async def test_post_search_per_type_and_at_the_root(scim: ScimClient) -> None:
    users = await seed(scim, 3)
    await scim.post(
        "/Groups", {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:Group"], "displayName": "user group"}
    )
    body = {"schemas": [SEARCH], "filter": 'userName sw "user0"', "attributes": ["userName"], "count": 2}
    reply = await scim.post("/Users/.search", body)
    assert reply.status == 200
    assert [r["id"] for r in reply.json["Resources"]] == [u["id"] for u in users[:2]]
    assert reply.json["totalResults"] == 3 and set(reply.json["Resources"][0]) == {
        "id",
        "schemas",
        "userName",
    }
    root = await scim.post("/.search", {"schemas": [SEARCH], "filter": "id pr"})
    assert root.json["totalResults"] == 4
    assert (await scim.post("/Users/.search", {"filter": "id pr"})).status == 400


async def root_seed(scim: ScimClient) -> tuple[list[str], list[str]]:
    """Users b, d and groups a, c (by displayName), created interleaved."""
    group = "urn:ietf:params:scim:schemas:core:2.0:Group"
    made = [
        await scim.post("/Users", {"schemas": [USER], "userName": "u-b", "displayName": "b"}),
        await scim.post("/Groups", {"schemas": [group], "displayName": "a"}),
        await scim.post("/Users", {"schemas": [USER], "userName": "u-d", "displayName": "d"}),
        await scim.post("/Groups", {"schemas": [group], "displayName": "c"}),
    ]
    ids = [m.json["id"] for m in made]
    return [ids[0], ids[2]], [ids[1], ids[3]]


async def test_root_search_sorts_the_union_of_users_and_groups(scim: ScimClient) -> None:
    (ub, ud), (ga, gc) = await root_seed(scim)
    by_name = await scim.post("/.search", {"schemas": [SEARCH], "sortBy": "displayName"})
    assert [r["id"] for r in by_name.json["Resources"]] == [ga, ub, gc, ud]
    assert by_name.json["totalResults"] == 4
    down = await scim.post(
        "/.search", {"schemas": [SEARCH], "sortBy": "displayName", "sortOrder": "descending"}
    )
    assert [r["id"] for r in down.json["Resources"]] == [ud, gc, ub, ga]
    paged = await scim.post(
        "/.search", {"schemas": [SEARCH], "sortBy": "displayName", "startIndex": 2, "count": 2}
    )
    assert [r["id"] for r in paged.json["Resources"]] == [ub, gc] and paged.json["totalResults"] == 4


async def test_root_search_sorted_by_an_attribute_one_type_lacks_keeps_that_type(scim: ScimClient) -> None:
    (ub, ud), (ga, gc) = await root_seed(scim)
    asc = await scim.post("/.search", {"schemas": [SEARCH], "sortBy": "userName"})
    assert asc.status == 200 and asc.json["totalResults"] == 4
    # Groups have no userName: they sort as missing values, last ascending and first descending.
    assert [r["id"] for r in asc.json["Resources"]] == [ub, ud, ga, gc]
    desc = await scim.post("/.search", {"schemas": [SEARCH], "sortBy": "userName", "sortOrder": "descending"})
    assert [r["id"] for r in desc.json["Resources"]][2:] == [ud, ub]
    assert set(r["id"] for r in desc.json["Resources"][:2]) == {ga, gc}
    # A filter naming a User attribute is what makes Groups contribute nothing.
    only_users = await scim.post(
        "/.search", {"schemas": [SEARCH], "filter": "userName pr", "sortBy": "userName"}
    )
    assert [r["id"] for r in only_users.json["Resources"]] == [ub, ud]
    unknown = await scim.post("/.search", {"schemas": [SEARCH], "sortBy": "nope"})
    assert unknown.status == 400 and unknown.json["scimType"] == "invalidPath"
    bad = await scim.post("/.search", {"schemas": [SEARCH], "filter": "userName eq 5"})
    assert bad.status == 400 and bad.json["scimType"] == "invalidFilter"
