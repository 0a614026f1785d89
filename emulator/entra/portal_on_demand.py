"""The Provisioning blade's "Provision on demand" page:

    GET  /portal/apps/{app}/provisioning/on-demand[?q=...]   search a user or group
    POST /portal/apps/{app}/provisioning/on-demand           provision the chosen one now

Why a page: on demand is how people debug a mapping or their SCIM server one object at a time,
so the result is shown step by step (import, scope, match, perform action, with each step's
details and the modified properties), as Entra shows it (reference entra-and-galaxy.md §1.9).
The engine does the work; a refusal (not configured, a group of more than five members) is a
notice on the page.
"""

from __future__ import annotations

from aiohttp import web

from emulator.entra.portal import _app, _commit, _context, _entra
from emulator.entra.provisioning.engine import ProvisioningError
from emulator.entra.provisioning.on_demand import ON_DEMAND_MAX_MEMBERS
from emulator.web.lists import matching
from emulator.web.templates import page


def _candidates(request: web.Request, query: str) -> tuple[list[dict], int]:
    """Users, then groups, whose name, UPN or mail contains the search text (all when blank),
    a picker's worth of each; and how many matched in all."""
    directory = _entra(request).directory
    users, users_total = matching(directory.list_users(), query)
    groups, groups_total = matching(directory.list_groups(), query)
    rows = [
        {"id": u["id"], "name": u["displayName"], "detail": u.get("userPrincipalName", ""), "type": "User"}
        for u in users
    ] + [
        {"id": g["id"], "name": g["displayName"], "detail": f"{len(g['members'])} members", "type": "Group"}
        for g in groups
    ]
    return rows, users_total + groups_total


def _on_demand_page(
    request: web.Request,
    app: dict,
    *,
    query: str = "",
    chosen: str = "",
    result: dict | None = None,
    error: str | None = None,
) -> web.Response:
    candidates, total = _candidates(request, query)
    return page(
        request,
        "portal_on_demand.html",
        _context(
            request,
            app,
            "provisioning",
            query=query,
            chosen=chosen,
            candidates=candidates,
            total=total,
            result=result,
            error=error,
            max_members=ON_DEMAND_MAX_MEMBERS,
        ),
    )


async def on_demand(request: web.Request) -> web.StreamResponse:
    app = _app(request)
    return _on_demand_page(request, app, query=request.query.get("q", "").strip())


async def on_demand_submit(request: web.Request) -> web.StreamResponse:
    """Provision now and show the result on the page (no redirect: the result is the page)."""
    app = _app(request)
    data = await request.post()
    chosen = str(data.get("objectId", "")).strip()
    query = str(data.get("q", "")).strip()
    directory = _entra(request).directory
    found = directory.find_user(chosen) or directory.find_group(chosen) if chosen else None
    if found is None:
        return _on_demand_page(request, app, query=query, error="Select a user or group to provision.")
    try:
        result = await _entra(request).engine.provision_on_demand(app["id"], found["id"])
    except ProvisioningError as exc:
        return _on_demand_page(
            request,
            app,
            query=query,
            chosen=found["id"],
            error=f"{found['displayName']} was not provisioned: {exc}.",
        )
    await _commit(request)
    return _on_demand_page(request, app, query=query, chosen=found["id"], result=result)


def add_on_demand_routes(app: web.Application) -> None:
    app.router.add_get("/portal/apps/{app}/provisioning/on-demand", on_demand)
    app.router.add_post("/portal/apps/{app}/provisioning/on-demand", on_demand_submit)
