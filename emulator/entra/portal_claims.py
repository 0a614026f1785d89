"""The Entra portal's Attributes & Claims page of an app's Single sign-on blade, mounted under
`/entra/portal/apps/{app}/sso/claims`:

    GET  .../sso/claims[?add=1|?edit=<claim name>]   the claims; the Manage claim pane when asked
    POST .../sso/claims/nameid                        Required claim: Name ID source and format
    POST .../sso/claims/add                           Add new claim (namespace + name, source)
    POST .../sso/claims/edit                          change one additional claim (by its old name)
    POST .../sso/claims/delete                        delete one additional claim
    POST .../sso/claims/groups                        Add a group claim: none or security groups

Like the rest of the portal (see `emulator.entra.portal`), the page has no rules of its own: each
post is turned into the same JSON change the control API's `PATCH .../saml` sends to
`saml.settings.update`, which validates it (sources, formats, the claims Entra always adds) and
refuses with a `SamlSettingsError` that the page shows, saving nothing. Claims are named by their
current name, not their position, so a post made from a stale page cannot change the wrong row.
"""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

from aiohttp import web

from emulator.entra.portal import _app, _base, _context, _entra, write_and_go
from emulator.entra.saml.settings import (
    ALWAYS_ADDED_CLAIMS,
    GROUPS_CLAIM_OPTIONS,
    NAMEID_FORMATS,
    USER_SOURCES,
    SamlSettingsError,
    is_uri,
)
from emulator.web.templates import page

DONE_WORDS = {
    "nameid": "Unique User Identifier (Name ID) saved.",
    "added": "Claim added.",
    "saved": "Claim saved.",
    "deleted": "Claim deleted.",
    "groups": "Group claim saved.",
}
# How the portal's drop-downs word the values the settings module stores.
FORMAT_WORDS = {
    "emailAddress": "Email address",
    "persistent": "Persistent",
    "unspecified": "Unspecified",
    "transient": "Transient",
}
GROUPS_WORDS = {"none": "None", "securityGroups": "Security groups"}
# The settings module names a claim field by its place in the JSON list; the page names the field.
_CLAIM_FIELD = re.compile(r"claims\[\d+\]\.(name|source)")
_FIELD_WORDS = {"name": "the claim name", "source": "the source attribute"}


def split_claim_name(name: str) -> tuple[str, str]:
    """(namespace, name) as the portal's Manage claim pane shows a claim URI: everything up to
    the last `/` of a URI is its namespace; a name without one has an empty namespace."""
    if is_uri(name) and "/" in name:
        namespace, _, short = name.rpartition("/")
        if short:
            return namespace, short
    return "", name


def join_claim_name(namespace: str, name: str) -> str:
    """The claim URI the portal saves for a namespace and a name (the name alone when the
    namespace is blank, so a full URI may also be typed as the name)."""
    namespace = namespace.strip().rstrip("/")
    name = name.strip()
    return f"{namespace}/{name}" if namespace and name else name


def _claims_page(
    request: web.Request,
    app: dict,
    *,
    pane: str | None = None,
    form: dict | None = None,
    error: str | None = None,
) -> web.Response:
    """The page; `pane` ("add" or "edit") opens Manage claim, filled from `form` (what was typed)
    or, when editing, from the claim. A refused change is shown with a 200, as `_sso_page` does."""
    settings = _entra(request).saml.settings.get(app["id"]).to_json()
    form = dict(form or {})
    if pane is None and request.query.get("add") == "1":
        pane = "add"
    elif pane is None and "edit" in request.query:
        original = request.query["edit"]
        found = next((c for c in settings["claims"] if c["name"] == original), None)
        if found is not None:
            pane = "edit"
            namespace, short = split_claim_name(found["name"])
            form = {"original": original, "namespace": namespace, "name": short, "source": found["source"]}
    base = _base(request, app)
    rows = [
        {**claim, "edit_href": f"{base}/sso/claims?edit={quote(claim['name'], safe='')}"}
        for claim in settings["claims"]
    ]
    nameid = {
        "nameIdSource": form.get("nameIdSource", settings["nameIdSource"]),
        "nameIdFormat": form.get("nameIdFormat", settings["nameIdFormat"]),
    }
    return page(
        request,
        "portal_claims.html",
        _context(
            request,
            app,
            "sso",
            settings=settings,
            rows=rows,
            pane=pane,
            form=form,
            nameid=nameid,
            groups_claim=form.get("groupsClaim", settings["groupsClaim"]),
            sources=list(USER_SOURCES),
            formats=[(key, FORMAT_WORDS.get(key, key)) for key in NAMEID_FORMATS],
            group_options=[(key, GROUPS_WORDS.get(key, key)) for key in GROUPS_CLAIM_OPTIONS],
            always_added=sorted(ALWAYS_ADDED_CLAIMS),
            error=error,
            done=DONE_WORDS.get(request.query.get("done", "")),
        ),
    )


async def claims_page(request: web.Request) -> web.StreamResponse:
    return _claims_page(request, _app(request))


async def _save(
    request: web.Request,
    app: dict,
    changes: dict[str, Any],
    *,
    done: str,
    refused: str,
    pane: str | None,
    form: dict,
) -> web.StreamResponse:
    """Apply `changes` as the control API would; on success commit and 303 to the page with the
    `done` notice, otherwise show the page again with the reason and what was typed."""

    def shown(exc: Exception) -> web.Response:
        reason = _CLAIM_FIELD.sub(lambda m: _FIELD_WORDS[m.group(1)], str(exc))
        return _claims_page(request, app, pane=pane, form=form, error=f"{refused}: {reason}")

    return await write_and_go(
        request,
        lambda: _entra(request).saml.settings.update(app["id"], changes),
        shown,
        f"{_base(request, app)}/sso/claims?done={done}",
        errors=(SamlSettingsError,),
    )


async def _fields(request: web.Request, *names: str) -> dict[str, str]:
    data = await request.post()
    return {name: str(data.get(name, "")).strip() for name in names}


def _current_claims(request: web.Request, app: dict) -> list[dict]:
    return _entra(request).saml.settings.get(app["id"]).to_json()["claims"]


async def save_name_id(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    form = await _fields(request, "nameIdSource", "nameIdFormat")
    return await _save(
        request, app, form, done="nameid", refused="The Name ID was not saved", pane=None, form=form
    )


async def add_claim(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    form = await _fields(request, "namespace", "name", "source")
    refused = "The claim was not added"
    if not form["name"]:
        return _claims_page(request, app, pane="add", form=form, error=f"{refused}: enter the claim's name.")
    claim = {"name": join_claim_name(form["namespace"], form["name"]), "source": form["source"]}
    changes = {"claims": [*_current_claims(request, app), claim]}
    return await _save(request, app, changes, done="added", refused=refused, pane="add", form=form)


async def edit_claim(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    form = await _fields(request, "original", "namespace", "name", "source")
    refused = "The claim was not saved"
    claims = _current_claims(request, app)
    index = next((i for i, c in enumerate(claims) if c["name"] == form["original"]), None)
    if index is None:
        error = f"{refused}: {form['original']!r} is no longer one of the additional claims."
        return _claims_page(request, app, error=error)
    if not form["name"]:
        return _claims_page(request, app, pane="edit", form=form, error=f"{refused}: enter the claim's name.")
    claims[index] = {"name": join_claim_name(form["namespace"], form["name"]), "source": form["source"]}
    return await _save(
        request, app, {"claims": claims}, done="saved", refused=refused, pane="edit", form=form
    )


async def delete_claim(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    form = await _fields(request, "name")
    claims = _current_claims(request, app)
    kept = [c for c in claims if c["name"] != form["name"]]
    refused = "The claim was not deleted"
    if len(kept) == len(claims):
        return _claims_page(
            request, app, error=f"{refused}: {form['name']!r} is not one of the additional claims."
        )
    return await _save(request, app, {"claims": kept}, done="deleted", refused=refused, pane=None, form={})


async def save_groups_claim(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    form = await _fields(request, "groupsClaim")
    return await _save(
        request, app, form, done="groups", refused="The group claim was not saved", pane=None, form=form
    )


def add_claims_routes(app: web.Application) -> None:
    """Mount the page and its posts on the Entra sub-application, beside the portal's routes."""
    claims = "/portal/apps/{app}/sso/claims"
    r = app.router
    r.add_get(claims, claims_page)
    r.add_post(claims + "/nameid", save_name_id)
    r.add_post(claims + "/add", add_claim)
    r.add_post(claims + "/edit", edit_claim)
    r.add_post(claims + "/delete", delete_claim)
    r.add_post(claims + "/groups", save_groups_claim)
