"""Long lists on the consoles' pages: search-limited pickers and paged tables.

Why: a tenant may hold 10,000 users (the `large` scenario). A page that lists them all in a
table, or puts them all in a `<select>`, weighs megabytes and is useless to a person; the real
portal searches in its pickers and pages its lists. These helpers do that for every page alike,
in plain data (no aiohttp), so they are easy to test and to reuse.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from urllib.parse import urlencode

PICK_LIMIT = 50
"""How many matches a picker offers; the page says how many more a search would narrow."""

PAGE_SIZE = 100
"""Rows per page of a long table."""

SEARCHED = ("displayName", "userPrincipalName", "mail")


def by_name(docs: Iterable[dict]) -> list[dict]:
    """Directory objects in the order people look for them: by display name, case-blind."""
    return sorted(docs, key=lambda d: (d.get("displayName") or "").casefold())


def matching(docs: Iterable[dict], query: str, limit: int = PICK_LIMIT) -> tuple[list[dict], int]:
    """The objects whose display name, user principal name or mail contains `query` (every one
    when it is blank), by name, at most `limit` of them; and how many matched in all."""
    needle = query.strip().casefold()
    found = [
        d for d in docs if not needle or any(needle in str(d.get(key) or "").casefold() for key in SEARCHED)
    ]
    return by_name(found)[:limit], len(found)


@dataclass(frozen=True)
class Pager:
    """One page of a long table, with the links to its neighbours (None at either end)."""

    rows: list
    number: int
    pages: int
    total: int
    first: int  # 1-based position of the first row shown (0 when there are none)
    previous_href: str | None
    next_href: str | None


def paged(rows: list, raw_page: str, base_href: str, query: dict[str, str], size: int = PAGE_SIZE) -> Pager:
    """Page `raw_page` (1-based, from the query string; anything else means the first) of `rows`;
    links keep the other `query` parameters."""
    pages = max(1, -(-len(rows) // size))
    number = int(raw_page) if raw_page.isdigit() and 1 <= int(raw_page) <= pages else 1
    kept = {k: v for k, v in query.items() if v}

    def href(n: int) -> str:
        return f"{base_href}?{urlencode({**kept, 'page': n})}"

    start = (number - 1) * size
    return Pager(
        rows=rows[start : start + size],
        number=number,
        pages=pages,
        total=len(rows),
        first=start + 1 if rows else 0,
        previous_href=href(number - 1) if number > 1 else None,
        next_href=href(number + 1) if number < pages else None,
    )
