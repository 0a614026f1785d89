"""Entity tags for SCIM versioning (RFC 7644 §3.14) and the If-Match / If-None-Match test.

The receiver's ETags are weak (`W/"3"`, the resource's meta.version). RFC 7232 §2.3.2 weak
comparison treats two tags as the same when their opaque parts are equal, whether or not either
is marked weak; RFC 7644 §3.14 lets clients send either form. Both preconditions use it: a
strong comparison for If-Match could never succeed against a weak version.
"""

from __future__ import annotations


def etag_matches(current_version: str, header: str) -> bool:
    """Whether the If-Match or If-None-Match `header` names `current_version`.

    `header` is `*` (any current representation, which the caller has) or a comma-separated
    list of entity tags, e.g. `W/"1", "2"` (RFC 7232 §3.1, §3.2). Tags compare weakly (see the
    module docstring). A malformed tag (e.g. unquoted) matches nothing.
    """
    wanted = _opaque(current_version)
    if wanted is None:
        return False
    return any(tag == "*" or _opaque(tag) == wanted for tag in _tags(header))


def _opaque(tag: str) -> str | None:
    """The opaque part of one entity tag, quotes included, or None if it is malformed."""
    if tag.startswith(("W/", "w/")):
        tag = tag[2:]
    if len(tag) >= 2 and tag[0] == '"' and tag[-1] == '"' and '"' not in tag[1:-1]:
        return tag
    return None


def _tags(header: str) -> list[str]:
    """The entity tags of a header value; a comma inside the quotes of a tag does not split it
    (RFC 7232 §2.3 allows commas in the opaque part)."""
    tags: list[str] = []
    i, n = 0, len(header)
    while i < n:
        while i < n and header[i] in " \t,":
            i += 1
        if i >= n:
            break
        start = i
        if header.startswith(("W/", "w/"), i):
            i += 2
        if i < n and header[i] == '"':
            close = header.find('"', i + 1)
            i = n if close < 0 else close + 1
        while i < n and header[i] not in ",":
            i += 1
        tags.append(header[start:i].strip())
    return tags
