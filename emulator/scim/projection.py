"""What a response contains: attribute projection, sorting, paging and ListResponse (RFC 7644 §3.4).

`make_projector` compiles `attributes`/`excludedAttributes` once per request into a function
applied to every resource of a page; the default projection (no lists) only drops the attributes
that are never returned by default, with the lookup tables precomputed per resource type, because
pages of 100 users must be served at over 100 pages/s.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from emulator.scim.errors import ScimError, invalid_path, invalid_value
from emulator.scim.schema import (
    COMMON,
    LIST_RESPONSE,
    Attribute,
    AttributePath,
    ResourceType,
)
from emulator.scim.values import is_secret, parse_instant, without_subs

Projector = Callable[[dict], dict]

# --- per resource type: what the default representation leaves out ---------------------------


@dataclass(frozen=True, slots=True)
class _Defaults:
    """For one schema container (core or one extension): what is hidden unless asked for."""

    always: frozenset[str]  # canonical names with returned=always
    hidden: frozenset[str]  # canonical names with returned=never or request
    never: frozenset[str]  # canonical names with returned=never (hidden even when named)
    hidden_subs: dict[str, frozenset[str]]  # attribute name -> sub names returned never/request
    never_subs: dict[str, frozenset[str]]


@dataclass(frozen=True, slots=True)
class _TypeInfo:
    core: _Defaults
    extensions: dict[str, _Defaults]  # canonical URN -> defaults
    default: Projector


def _defaults(attributes: Iterable[Attribute]) -> _Defaults:
    attributes = tuple(attributes)
    hidden_subs: dict[str, frozenset[str]] = {}
    never_subs: dict[str, frozenset[str]] = {}
    for attr in attributes:
        hidden = frozenset(s.name for s in attr.sub_attributes if s.returned in ("never", "request"))
        never = frozenset(s.name for s in attr.sub_attributes if s.returned == "never")
        if hidden:
            hidden_subs[attr.name] = hidden
        if never:
            never_subs[attr.name] = never
    return _Defaults(
        frozenset(a.name for a in attributes if a.returned == "always"),
        frozenset(a.name for a in attributes if a.returned in ("never", "request")),
        frozenset(a.name for a in attributes if a.returned == "never"),
        hidden_subs,
        never_subs,
    )


def _hide(container: dict, d: _Defaults) -> dict:
    """A copy of `container` without what `d` hides by default (nested sub-attributes included)."""
    out = dict(container)
    for name in d.hidden:
        out.pop(name, None)
    for name, subs in d.hidden_subs.items():
        value = out.get(name)
        if value is not None:
            value = without_subs(value, subs)
            if value:
                out[name] = value
            else:
                del out[name]
    return out


def _make_default(core: _Defaults, extensions: dict[str, _Defaults]) -> Projector:
    hidden = tuple(core.hidden)
    nested = bool(core.hidden_subs)
    ext_items = tuple((urn, d) for urn, d in extensions.items() if d.hidden or d.hidden_subs)
    if not nested and not ext_items:
        # The common case (both profiles): a shallow copy without `password`.
        def default(resource: dict) -> dict:
            out = dict(resource)
            for name in hidden:
                out.pop(name, None)
            return out

        return default

    def default_nested(resource: dict) -> dict:
        out = _hide(resource, core)
        for urn, d in ext_items:
            ext = out.get(urn)
            if isinstance(ext, dict):
                ext = _hide(ext, d)
                if ext:
                    out[urn] = ext
                else:
                    del out[urn]
        return out

    return default_nested


def _build_info(rtype: ResourceType) -> _TypeInfo:
    core = _defaults((*COMMON, *rtype.schema.attributes))
    extensions = {ext.id: _defaults(ext.attributes) for ext, _ in rtype.extensions}
    return _TypeInfo(core, extensions, _make_default(core, extensions))


def _info(rtype: ResourceType) -> _TypeInfo:
    return rtype.derived(_build_info)


# --- attributes / excludedAttributes ----------------------------------------------------------


def parse_attribute_list(
    text: str | list | None, rtype: ResourceType, *, param: str = "attributes"
) -> list[AttributePath] | None:
    """The paths named by an `attributes` or `excludedAttributes` parameter (RFC 7644 §3.9).

    Accepts the comma-separated query-string form or the list form of a SearchRequest (RFC 7644
    §3.4.3). Names are resolved case-insensitively, optionally URN-qualified; a bare schema URN
    stands for every attribute of that schema. None or an empty list means "not given". An
    unknown name is 400 invalidPath naming it (`param` names the parameter in the detail).
    """
    if text is None:
        return None
    if isinstance(text, str):
        parts: list = text.split(",")
    elif isinstance(text, list):
        parts = [p for item in text for p in (item.split(",") if isinstance(item, str) else [item])]
    else:
        raise invalid_value(f"{param}: expected a comma-separated string or an array of attribute names")
    out: list[AttributePath] = []
    for part in parts:
        if not isinstance(part, str):
            raise invalid_value(f"{param}: attribute names must be strings, got {part!r}")
        name = part.strip()
        if not name:
            continue
        path = rtype.resolve(name)
        if path is not None:
            out.append(path)
            continue
        whole = _whole_schema(name, rtype)
        if whole is None:
            raise invalid_path(
                f"{param}: unknown attribute '{name}' for resource type {rtype.name} "
                f"(see /Schemas for the attributes this server stores)"
            )
        out.extend(whole)
    return out or None


def _whole_schema(name: str, rtype: ResourceType) -> list[AttributePath] | None:
    lowered = name.lower()
    if lowered == rtype.schema.id.lower():
        return [AttributePath(None, a) for a in rtype.schema.attributes]
    ext = rtype.extension(name)
    if ext is not None:
        return [AttributePath(ext.id, a) for a in ext.attributes]
    return None


@dataclass(slots=True)
class _Selection:
    """Paths grouped by container: attribute name -> None (whole) or the set of sub names."""

    core: dict[str, set[str] | None]
    extensions: dict[str, dict[str, set[str] | None]]


def _group(paths: list[AttributePath]) -> _Selection:
    sel = _Selection({}, {})
    for path in paths:
        box = sel.core if path.extension is None else sel.extensions.setdefault(path.extension, {})
        name = path.attribute.name
        if path.sub is None:
            box[name] = None
        elif name not in box:
            box[name] = {path.sub.name}
        elif box[name] is not None:
            box[name].add(path.sub.name)  # type: ignore[union-attr]
    return sel


def _pick(container: dict, chosen: dict[str, set[str] | None], d: _Defaults, always: frozenset[str]) -> dict:
    """The members of `container` named in `chosen`, plus `always` ones, minus `never` ones."""
    out: dict = {}
    for key, value in container.items():
        if key in always:
            out[key] = value
            continue
        if key not in chosen or key in d.never:
            continue
        subs = chosen[key]
        if subs is None:
            hidden = d.hidden_subs.get(key)
            if hidden:
                value = without_subs(value, hidden)
        else:
            keep = subs - d.never_subs.get(key, frozenset())
            value = _only_subs(value, keep)
        if value != [] and value != {}:
            out[key] = value
    return out


def _only_subs(value: Any, keep: set[str]) -> Any:
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if k in keep}
    if isinstance(value, list):
        out = []
        for item in value:
            if isinstance(item, dict):
                item = {k: v for k, v in item.items() if k in keep}
                if item:
                    out.append(item)
        return out
    return value


def _make_selector(info: _TypeInfo, paths: list[AttributePath]) -> Projector:
    sel = _group(paths)
    core_always = info.core.always | {"schemas"}
    ext_sel = {urn: (chosen, info.extensions[urn]) for urn, chosen in sel.extensions.items()}
    ext_always = {urn: d.always for urn, d in info.extensions.items() if d.always}
    for urn in ext_always:
        ext_sel.setdefault(urn, ({}, info.extensions[urn]))
    core = info.core
    chosen_core = sel.core

    def select(resource: dict) -> dict:
        out = _pick(resource, chosen_core, core, core_always)
        for urn, (chosen, d) in ext_sel.items():
            ext = resource.get(urn)
            if isinstance(ext, dict):
                ext = _pick(ext, chosen, d, d.always)
                if ext:
                    out[urn] = ext
        return out

    return select


def _make_excluder(info: _TypeInfo, paths: list[AttributePath], base: Projector) -> Projector:
    sel = _group(paths)
    boxes: list[tuple[str | None, dict[str, set[str] | None], frozenset[str]]] = [
        (None, sel.core, info.core.always | {"schemas"})
    ]
    for urn, chosen in sel.extensions.items():
        boxes.append((urn, chosen, info.extensions[urn].always))

    def exclude(resource: dict) -> dict:
        out = base(resource)
        for urn, chosen, always in boxes:
            if urn is None:
                target = out
            else:
                ext = out.get(urn)
                if not isinstance(ext, dict):
                    continue
                target = out[urn] = dict(ext)
            for name, subs in chosen.items():
                # RFC 7644 §3.9: excludedAttributes has no effect on returned=always attributes.
                if name in always or name not in target:
                    continue
                if subs is None:
                    del target[name]
                else:
                    value = without_subs(target[name], frozenset(subs))
                    if value:
                        target[name] = value
                    else:
                        del target[name]
            if urn is not None and not target:
                del out[urn]
        return out

    return exclude


def make_projector(
    rtype: ResourceType,
    attributes: list[AttributePath] | None,
    excluded: list[AttributePath] | None,
) -> Projector:
    """A function giving the representation to send for each stored resource of `rtype`.

    Compile it once per request and apply it to every resource of a page. `returned: never`
    attributes (password) are never included; `returned: always` ones (id) and `schemas` always
    are; with `attributes`, only the named ones (a named sub-attribute keeps only that part of
    the complex value; a named extension attribute keeps the extension object with only it);
    `excluded` removes attributes from the result; `returned: request` ones appear only when
    named (RFC 7643 §7, RFC 7644 §3.9). The resource itself is never modified.
    """
    info = _info(rtype)
    projector = info.default if not attributes else _make_selector(info, attributes)
    if excluded:
        projector = _make_excluder(info, excluded, projector)
    return projector


# --- sortBy -----------------------------------------------------------------------------------


def _normaliser(leaf: Attribute) -> Callable[[Any], Any] | None:
    if leaf.type in ("string", "reference", "binary") and not leaf.case_exact:
        return str.lower
    if leaf.type == "dateTime":
        return parse_instant
    return None


_MISSING = (1,)


def _sort_path(rtype: ResourceType, path_text: Any) -> AttributePath | None:
    return rtype.resolve(path_text.strip()) if isinstance(path_text, str) else None


def _unknown_sort(rtype: ResourceType, path_text: Any) -> ScimError:
    return invalid_path(
        f"sortBy: unknown attribute '{path_text}' for resource type {rtype.name} "
        f"(see /Schemas for the attributes this server stores)"
    )


def sort_key(rtype: ResourceType, path_text: str) -> Callable[[dict], tuple]:
    """A key function for `sortBy` (RFC 7644 §3.4.2.3), for use with sorted()/list.sort().

    Multi-valued attributes sort by the primary value, else the first; strings that are not
    caseExact compare case-insensitively; dateTimes compare as instants. Missing values compare
    greater than every value, so they come last with ascending order and first with
    `reverse=True` (descending), exactly as the RFC asks. Naming a multi-valued complex
    attribute without a sub-attribute sorts by its `value`; naming a single-valued complex
    attribute without one, a write-only attribute, or an unknown attribute, is 400 invalidPath.
    """
    path = _sort_path(rtype, path_text)
    if path is None:
        raise _unknown_sort(rtype, path_text)
    return _key_for(path)[0]


def union_sort_keys(rtypes: Sequence[ResourceType], path_text: Any) -> list[Callable[[dict], tuple]]:
    """Key functions, one per resource type of `rtypes`, that sort resources of all of them as
    one list (a `sortBy` at the root /.search, RFC 7644 §3.4.3).

    A type that lacks the attribute gets a key under which each of its resources sorts as a
    missing value (last ascending, first descending, as in `sort_key`). The keys of present
    values carry the attribute's SCIM type, so values of an attribute that has different types
    in different resource types still compare. Only when no type has the attribute is it 400
    invalidPath; other mistakes (a complex attribute without a sub-attribute) are 400 as well.
    """
    keys: list[Callable[[dict], tuple]] = []
    for rtype in rtypes:
        path = _sort_path(rtype, path_text)
        if path is None:
            keys.append(_missing_key)
            continue
        key, kind = _key_for(path)

        def tagged(resource: dict, key: Callable[[dict], tuple] = key, kind: str = kind) -> tuple:
            found = key(resource)
            return found if found is _MISSING else (0, kind, found[1])

        keys.append(tagged)
    if all(key is _missing_key for key in keys):
        raise _unknown_sort(rtypes[0], path_text)
    return keys


def _missing_key(resource: dict) -> tuple:
    return _MISSING


def _key_for(path: AttributePath) -> tuple[Callable[[dict], tuple], str]:
    """The key function for a resolved `sortBy` path and the SCIM type of the values it sorts."""
    attr, sub = path.attribute, path.sub
    if is_secret(path.leaf):
        raise invalid_path(f"sortBy: '{path.dotted()}' is write-only and cannot be sorted on")
    if attr.type == "complex" and sub is None:
        sub = attr.sub("value") if attr.multi_valued else None
        if sub is None:
            example = f"{attr.name}.{attr.sub_attributes[0].name}" if attr.sub_attributes else attr.name
            raise invalid_path(
                f"sortBy: '{path.dotted()}' is complex; name a sub-attribute, e.g. '{example}'"
            )
    leaf = sub or attr
    norm = _normaliser(leaf)
    urn, name, sub_name, multi = path.extension, attr.name, sub.name if sub else None, attr.multi_valued

    def raw(resource: dict) -> Any:
        container = resource if urn is None else resource.get(urn)
        if not isinstance(container, dict):
            return None
        value = container.get(name)
        if multi:
            if not isinstance(value, list) or not value:
                return None
            chosen = value[0]
            if sub_name is not None:
                for item in value:
                    if isinstance(item, dict) and item.get("primary") is True:
                        chosen = item
                        break
            value = chosen
        if sub_name is not None:
            value = value.get(sub_name) if isinstance(value, dict) else None
        return value

    if urn is None and not multi and sub_name is None and norm is str.lower:
        # The common case (userName, displayName): no container or list walking.
        def key_lower(resource: dict) -> tuple:
            value = resource.get(name)
            return _MISSING if value is None else (0, value.lower())

        return key_lower, leaf.type

    if norm is None:

        def key(resource: dict) -> tuple:
            value = raw(resource)
            return _MISSING if value is None else (0, value)

    else:

        def key(resource: dict) -> tuple:
            value = raw(resource)
            if value is None:
                return _MISSING
            value = norm(value)
            return _MISSING if value is None else (0, value)

    return key, leaf.type


# --- paging and the ListResponse --------------------------------------------------------------


def list_response(resources: list[dict], total: int, start_index: int) -> dict:
    """A ListResponse message (RFC 7644 §3.4.2) for one page of already projected resources."""
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": total,
        "startIndex": start_index,
        "itemsPerPage": len(resources),
        "Resources": resources,
    }


# RFC 7644 puts no upper bound on startIndex or count, but the ListResponse echoes startIndex
# and JSON encoders (orjson here) only write 64-bit integers, so a client sending
# startIndex=99999999999999999999999 would get a 500. Values beyond SCIM's practical range (the
# largest 32-bit signed integer, what most SCIM clients and servers use for both) are clamped:
# any startIndex past the last result gives the same empty page, and count is capped by
# maxResults anyway. Digit strings are clamped before int() sees them, which refuses strings of
# over 4,300 digits.
MAX_PAGING_VALUE = 2**31 - 1
_MAX_DIGITS = len(str(MAX_PAGING_VALUE))


def _integer(name: str, raw: Any) -> int | None:
    if raw is None:
        return None
    if isinstance(raw, int) and not isinstance(raw, bool):
        return max(-MAX_PAGING_VALUE, min(raw, MAX_PAGING_VALUE))
    if isinstance(raw, str):
        text = raw.strip()
        if not text:
            return None
        negative = text[0] == "-"
        digits = (text[1:] if text[0] in "+-" else text).lstrip("0") or "0"
        if digits.isascii() and digits.isdigit():
            value = MAX_PAGING_VALUE if len(digits) > _MAX_DIGITS else min(int(digits), MAX_PAGING_VALUE)
            return -value if negative else value
    shown = repr(raw)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    raise invalid_value(f"{name}: expected an integer, got {shown}")


def parse_paging(
    start_index: str | int | None, count: str | int | None, *, max_results: int
) -> tuple[int, int]:
    """(startIndex, count) from the query parameters (strings) or a SearchRequest (integers).

    RFC 7644 §3.4.2.4: startIndex below 1 is read as 1; a negative count as 0; count above
    `max_results` (the advertised filter.maxResults) is capped; an absent or empty value takes
    the default (1, `max_results`). startIndex above MAX_PAGING_VALUE is read as that value
    (see the comment on it). A value that is not an integer is 400 invalidValue.
    """
    first = _integer("startIndex", start_index)
    size = _integer("count", count)
    first = 1 if first is None or first < 1 else first
    if size is None or size > max_results:
        size = max_results
    elif size < 0:
        size = 0
    return first, size
