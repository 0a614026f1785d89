"""The consoles' long-list helpers: pickers offer a bounded number of matches and say how many
there were; tables page with links that keep the search."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from emulator.web.lists import matching, paged


def people(n: int) -> list[dict]:
    return [
        {"displayName": f"Person {i:05}", "userPrincipalName": f"p{i}@contoso.test", "mail": None}
        for i in range(n)
    ]


def test_matching_bounds_the_picker_and_counts_every_match() -> None:
    shown, total = matching(people(10_000), "")
    assert (len(shown), total) == (50, 10_000)
    assert shown[0]["displayName"] == "Person 00000"  # by name
    shown, total = matching(people(10_000), "  P999@CONTOSO ")  # case-blind, trimmed, on the UPN
    assert [d["userPrincipalName"] for d in shown] == ["p999@contoso.test"] and total == 1
    assert matching(people(3), "nobody") == ([], 0)
    assert len(matching(people(30), "person", limit=7)[0]) == 7


def test_paged_pages_and_links_keep_the_search() -> None:
    rows = list(range(250))
    first = paged(rows, "", "/users", {"q": "ann", "empty": ""})
    assert (first.number, first.pages, first.total, first.first) == (1, 3, 250, 1)
    assert first.rows == list(range(100)) and first.previous_href is None
    assert parse_qs(urlsplit(first.next_href).query) == {"q": ["ann"], "page": ["2"]}
    last = paged(rows, "3", "/users", {})
    assert last.rows == list(range(200, 250)) and last.next_href is None and last.first == 201
    for nonsense in ("0", "4", "-1", "x", "1e3"):
        assert paged(rows, nonsense, "/users", {}).number == 1
    empty = paged([], "", "/users", {})
    assert (empty.pages, empty.total, empty.first, empty.rows) == (1, 0, 0, [])
