"""etag_matches: one weak comparison (RFC 7232 §2.3.2) for If-Match and If-None-Match."""

from __future__ import annotations

import pytest

from emulator.scim.etags import etag_matches


@pytest.mark.parametrize(
    "header",
    [
        'W/"3"',
        '"3"',
        "*",
        ' W/"3" ',
        'W/"1", W/"3"',
        '"1","3"',
        'W/"1" ,  *',
        'W/"a,b", W/"3"',
        'w/"3"',
    ],
)
def test_headers_that_name_the_current_version(header: str) -> None:
    assert etag_matches('W/"3"', header)


@pytest.mark.parametrize(
    "header",
    ["", " ", 'W/"1"', '"30"', "3", 'W/"3', 'W/"3"x', "W/3", 'W/"1", "2"', '"a,b"', ",,"],
)
def test_headers_that_do_not(header: str) -> None:
    assert not etag_matches('W/"3"', header)


def test_a_comma_inside_a_tag_does_not_split_it() -> None:
    assert etag_matches('"a,b"', 'W/"a,b"')
    assert not etag_matches('"a"', '"a,b"')
