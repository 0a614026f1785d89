"""The Provisioning blade's Attribute Mapping pages, one for users and one for groups:

    GET  /portal/apps/{app}/provisioning/mappings/{kind}[?edit=N|new]   the table, and the
                                                                        Edit attribute pane
    POST /portal/apps/{app}/provisioning/mappings/{kind}                save the pane (op=save) or
                                                                        test it on an object (op=test)
    POST /portal/apps/{app}/provisioning/mappings/{kind}/delete         delete one row
    POST /portal/apps/{app}/provisioning/mappings/{kind}/enabled        Enabled: Yes / No

Why pages of their own: in Entra the mappings are where people spend their time (a source
attribute, a constant or an expression per target attribute, the matching attribute, "Apply this
mapping"), and the expression builder's "Test expression" is how they find out what will be
sent. Saving goes through the engine's `configure`, so the validation (and the forced initial
cycle after a change, reference entra-and-galaxy.md §1.4) is the control API's; testing evaluates
the typed row with the planner's own view of the source object.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

from aiohttp import web

from emulator.entra.portal import _app, _base, _commit, _context, _entra, write_and_go
from emulator.entra.provisioning.mappings import (
    APPLY_ON,
    GROUP_SOURCE_ATTRIBUTES,
    USER_SOURCE_ATTRIBUTES,
    AttributeMapping,
    MappingError,
)
from emulator.entra.provisioning.planner import group_source, user_source
from emulator.entra.provisioning.settings import SettingsError
from emulator.web.lists import matching
from emulator.web.templates import page


@dataclass(frozen=True)
class Kind:
    """What differs between the user and the group page."""

    mappings_key: str
    enabled_key: str
    title: str
    sources: frozenset[str]


KINDS = {
    "user": Kind(
        "userMappings", "provisionUsers", "Provision Microsoft Entra ID Users", USER_SOURCE_ATTRIBUTES
    ),
    "group": Kind(
        "groupMappings", "provisionGroups", "Provision Microsoft Entra ID Groups", GROUP_SOURCE_ATTRIBUTES
    ),
}
MAPPING_TYPES = (("direct", "Direct"), ("constant", "Constant"), ("expression", "Expression"))
APPLY_WORDS = {"always": "Always", "create": "Only during object creation", "update": "Only during updating"}
DONE_WORDS = {
    "saved": "Attribute mapping saved. The next cycle is an initial cycle.",
    "deleted": "Attribute mapping deleted. The next cycle is an initial cycle.",
    "on": "Saved: these objects are provisioned.",
    "off": "Saved: these objects are no longer provisioned; those already in the app stay as they are.",
}
# Target attributes offered in the Edit attribute pane besides the ones already mapped: the
# Galaxy profile's and the core schema's common paths (any valid path may be typed).
COMMON_TARGETS = {
    "user": (
        "userName",
        "active",
        "displayName",
        "nickName",
        "title",
        "userType",
        "locale",
        "timezone",
        "preferredLanguage",
        "externalId",
        "name.givenName",
        "name.familyName",
        "name.formatted",
        'emails[type eq "work"].value',
        'phoneNumbers[type eq "work"].value',
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:employeeNumber",
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
    ),
    "group": ("displayName", "externalId", "members"),
}


def _kind(request: web.Request) -> tuple[str, Kind]:
    name = request.match_info["kind"]
    if name not in KINDS:
        raise web.HTTPNotFound()
    return name, KINDS[name]


def _row_form(row: dict) -> dict:
    """A stored mapping as the pane's fields."""
    return {
        "type": row["sourceType"],
        "source": row["source"] if row["sourceType"] == "direct" else "",
        "constant": row["source"] if row["sourceType"] == "constant" else "",
        "expression": row["source"] if row["sourceType"] == "expression" else "",
        "defaultValue": row.get("defaultValue") or "",
        "target": row["target"],
        "matching": row.get("matchingPrecedence") is not None,
        "precedence": str(row.get("matchingPrecedence") or ""),
        "applyOn": row.get("applyOn") or "always",
    }


BLANK_ROW = _row_form({"sourceType": "direct", "source": "", "target": ""})  # Add New Mapping


def _posted_form(data) -> dict:
    return {
        "type": str(data.get("type", "direct")),
        "source": str(data.get("source", "")).strip(),
        "constant": str(data.get("constant", "")),
        "expression": str(data.get("expression", "")).strip(),
        "defaultValue": str(data.get("defaultValue", "")),
        "target": str(data.get("target", "")).strip(),
        "matching": data.get("matching") == "yes",
        "precedence": str(data.get("precedence", "")).strip(),
        "applyOn": str(data.get("applyOn", "always")),
        "testObject": str(data.get("testObject", "")),
    }


def _form_mapping(form: dict) -> dict:
    """The pane's fields as a mapping's JSON form; the mapping model validates it."""
    precedence: int | None = None
    if form["matching"]:
        if form["precedence"] and not form["precedence"].isdigit():
            raise SettingsError("Matching precedence must be a whole number from 1")
        precedence = int(form["precedence"] or 1)
    source = {"direct": form["source"], "constant": form["constant"], "expression": form["expression"]}
    if form["type"] not in source:
        raise SettingsError(f"Mapping type must be one of {', '.join(t for t, _ in MAPPING_TYPES)}")
    return {
        "target": form["target"],
        "sourceType": form["type"],
        "source": source[form["type"]],
        "matchingPrecedence": precedence,
        "applyOn": form["applyOn"],
        "defaultValue": form["defaultValue"] or None,
    }


def _index(raw: str, rows: list) -> int | None:
    """A row number from a form or query ("new" and "" are None); out of range is a 404."""
    if raw in ("", "new"):
        return None
    if not raw.isdigit() or int(raw) >= len(rows):
        raise web.HTTPNotFound()
    return int(raw)


def _mapping_page(
    request: web.Request,
    app: dict,
    *,
    editing: str | None = None,
    form: dict | None = None,
    error: str | None = None,
    tested: dict | None = None,
) -> web.Response:
    """The table, with the Edit attribute pane open when `editing` is a row number or "new". A
    refused change is shown in the pane with a 200, as the portal shows it in a notice."""
    name, kind = _kind(request)
    engine = _entra(request).engine
    settings = engine.public_settings(app["id"])
    rows = settings[kind.mappings_key]
    if editing is not None and form is None:
        index = _index(editing, rows)
        form = BLANK_ROW if index is None else _row_form(rows[index])
    objects: list[dict] = []  # the tester's suggestions, only when the pane is open
    if editing is not None:
        directory = _entra(request).directory
        objects, _ = matching(directory.list_users() if name == "user" else directory.list_groups(), "")
    targets = sorted({*COMMON_TARGETS[name], *(r["target"] for r in rows)})
    return page(
        request,
        "portal_mappings.html",
        _context(
            request,
            app,
            "provisioning",
            kind=name,
            title=kind.title,
            enabled=settings[kind.enabled_key],
            rows=rows,
            editing=editing,
            form=form,
            error=error,
            tested=tested,
            sources=sorted(kind.sources, key=str.lower),
            targets=targets,
            mapping_types=MAPPING_TYPES,
            apply_words=APPLY_WORDS,
            apply_on=APPLY_ON,
            objects=objects,
            done=DONE_WORDS.get(request.query.get("done", "")),
            page_url=f"{_base(request, app)}/provisioning/mappings/{name}",
        ),
    )


async def mappings(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    editing = request.query.get("edit")
    return _mapping_page(request, app, editing=editing)


def _test(request: web.Request, app: dict, kind_name: str, mapping: dict, object_id: str) -> dict:
    """Evaluate one typed mapping for one directory object, as Entra's "Test expression" does."""
    entra = _entra(request)
    kind = KINDS[kind_name]
    built = AttributeMapping.from_json(mapping, known_attributes=kind.sources)
    directory = entra.directory
    typed = object_id.strip()
    if kind_name == "user":
        obj = directory.find_user(typed) or _named(directory.list_users(), typed)
        if obj is None:
            raise SettingsError(f"No user {typed!r}: give a user principal name, object ID or display name")
        scope = entra.engine.scope_of_user(app["id"], obj, entra.engine.settings(app["id"]))
        source = user_source(obj, scope)
    else:
        obj = directory.find_group(typed)
        if obj is None:
            raise SettingsError(f"No group {typed!r}: give a group name or object ID")
        source = group_source(obj)
    value = built.value(source)
    return {"object": obj["displayName"], "objectId": obj["id"], "value": value, "target": built.target}


FIELD_WORDS = {
    "target": "Target attribute",
    "source": "Source",
    "sourceType": "Mapping type",
    "matchingPrecedence": "Matching precedence",
    "applyOn": "Apply this mapping",
    "defaultValue": "Default value if null",
}
_WHERE = re.compile(
    r"(?:user|group)Mappings(?:\[(\d+)\])?(?:\.(\w+))?|\b(" + "|".join(FIELD_WORDS) + r")\b(?=:)"
)


def _readable(message: str, row: int | None) -> str:
    """The engine names fields as the JSON does (`userMappings[3].source: ...`); the page says
    "this mapping (Source): ..." or "row 4", as a person reads the table."""

    def words(match: re.Match[str]) -> str:
        index, field, bare = match.groups()
        if bare:
            return FIELD_WORDS[bare]
        if index is None:
            where = "the mappings"
        elif int(index) == row:
            where = "this mapping"
        else:
            where = f"row {int(index) + 1}"
        return f"{where} ({FIELD_WORDS.get(field, field)})" if field else where

    return _WHERE.sub(words, message)


def _named(docs: list[dict], name: str) -> dict | None:
    """The one object with this display name (case-blind), if exactly one has it."""
    found = [d for d in docs if (d.get("displayName") or "").casefold() == name.casefold()]
    return found[0] if len(found) == 1 else None


async def _save_rows(
    request: web.Request,
    app: dict,
    rows: list[dict],
    refused: Callable[[Exception], web.StreamResponse],
    done: str,
    errors: tuple[type[Exception], ...],
) -> web.StreamResponse:
    """Store this page's rows through the engine's `configure`, as the control API does, so its
    validation (and the initial cycle a changed mapping forces) applies; then the `done` notice."""
    name, kind = _kind(request)
    return await write_and_go(
        request,
        lambda: _entra(request).engine.configure(app["id"], {kind.mappings_key: rows}),
        refused,
        f"{_base(request, app)}/provisioning/mappings/{name}?done={done}",
        errors=errors,
    )


async def mapping_submit(request: web.Request) -> web.StreamResponse:
    """Save the Edit attribute pane, or test it without saving."""
    app = _app(request)
    name, kind = _kind(request)
    data = await request.post()
    rows = list(_entra(request).engine.settings(app["id"])[kind.mappings_key])
    editing = str(data.get("index", ""))
    index = _index(editing, rows)
    form = _posted_form(data)

    def refused(exc: Exception) -> web.Response:
        message = f"{exc.field}: {exc.message}" if isinstance(exc, MappingError) else str(exc)
        verb = "Not tested" if data.get("op") == "test" else "Not saved"
        row = len(rows) if index is None else index
        return _mapping_page(
            request, app, editing=editing or "new", form=form, error=f"{verb}: {_readable(message, row)}"
        )

    try:
        mapping = _form_mapping(form)
        if data.get("op") == "test":
            tested = _test(request, app, name, mapping, form["testObject"])
            return _mapping_page(request, app, editing=editing or "new", form=form, tested=tested)
    except (SettingsError, MappingError) as exc:
        return refused(exc)
    if index is None:
        rows.append(mapping)
    else:
        rows[index] = mapping
    return await _save_rows(request, app, rows, refused, "saved", (SettingsError, MappingError))


async def mapping_delete(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    _, kind = _kind(request)
    data = await request.post()
    rows = list(_entra(request).engine.settings(app["id"])[kind.mappings_key])
    index = _index(str(data.get("index", "")), rows)
    if index is None:
        raise web.HTTPNotFound()
    removed = rows.pop(index)
    return await _save_rows(
        request,
        app,
        rows,
        lambda exc: _mapping_page(
            request, app, error=f"{removed['target']} was not deleted: {_readable(str(exc), None)}"
        ),
        "deleted",
        (SettingsError,),
    )


async def mapping_enabled(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    name, kind = _kind(request)
    data = await request.post()
    choice = data.get("enabled")
    if choice not in ("yes", "no"):
        return _mapping_page(request, app, error="Choose Yes or No for Enabled.")
    _entra(request).engine.configure(app["id"], {kind.enabled_key: choice == "yes"})
    await _commit(request)
    raise web.HTTPSeeOther(
        f"{_base(request, app)}/provisioning/mappings/{name}?done={'on' if choice == 'yes' else 'off'}"
    )


def add_mapping_routes(app: web.Application) -> None:
    base = "/portal/apps/{app}/provisioning/mappings/{kind}"
    app.router.add_get(base, mappings)
    app.router.add_post(base, mapping_submit)
    app.router.add_post(base + "/delete", mapping_delete)
    app.router.add_post(base + "/enabled", mapping_enabled)
