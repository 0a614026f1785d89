"""Provision on demand (reference §1.9): one user, or one group of at most five members, now."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING

from emulator.entra.provisioning.bookkeeping import Bookkeeper
from emulator.entra.provisioning.connection import connection_message
from emulator.entra.provisioning.cycle import Outcome, Plan, open_cycle
from emulator.entra.provisioning.errors import ProvisioningError
from emulator.entra.provisioning.exporter import Exporter
from emulator.entra.provisioning.planning import plan_group, plan_user
from emulator.entra.provisioning.quirks import WireMode
from emulator.entra.provisioning.reporting import skip_text, step
from emulator.entra.provisioning.scim_client import ScimClientError

if TYPE_CHECKING:
    from emulator.entra.provisioning.engine import ProvisioningEngine

ON_DEMAND_MAX_MEMBERS = 5  # "one group with <=5 members" (§1.9)
INITIATOR = ("user", "Administrator (provision on demand)")


async def provision_on_demand(engine: ProvisioningEngine, app_id: str, object_id: str) -> dict:
    """Provision one user, or one group of at most five members, now (§1.9): test
    connection (shown only when it fails), import, scope, match, perform the action. The
    `aadOptscim062020` flag does not apply here (§1.1), so the default wire format is used."""
    directory, state = engine.directory, engine.state
    app = directory.app(app_id)
    settings = engine.settings(app["id"])
    if not settings["tenantUrl"]:
        raise ProvisioningError("save a Tenant URL and Secret Token before provisioning on demand", 409)
    user = directory.users.find_one("id", object_id)
    group = None if user else directory.groups.find_one("id", object_id)
    if user is None and group is None:
        raise ProvisioningError(f"no user or group with objectId {object_id!r}", 404)
    members: list[dict] = []
    if group is not None:
        members = [u for m in group[1]["members"] if (u := directory.find_user(m))]
        if len(group[1]["members"]) > ON_DEMAND_MAX_MEMBERS:
            raise ProvisioningError(
                f"provision on demand takes a group of at most {ON_DEMAND_MAX_MEMBERS} members; "
                f"{group[1]['displayName']} has {len(group[1]['members'])}"
            )
    cycle = open_cycle(
        app,
        state.job(app["id"]),
        {**settings, "provisionUsers": True, "provisionGroups": True},
        session=engine.session,
        clock=engine.clock,
        initial=False,
        mode=WireMode(rfc_patch=False),
    )
    async with engine.lock(app["id"]):
        try:
            await cycle.client.probe()
        except ScimClientError as exc:
            failed = step(
                "processing",
                "Test connection",
                "failure",
                connection_message(exc, settings["tenantUrl"]),
                {"errorCode": exc.code},
            )
            return {
                "objectId": object_id,
                "status": "failure",
                "steps": [failed],
                "errorCode": exc.code,
                "reason": exc.reason,
                "results": [],
            }
        exporter = Exporter(cycle, state)
        books = Bookkeeper(cycle, state, directory, engine.logs, engine.clock)
        results = []
        for member in members:
            results.append(
                await _provision_one(books, plan_user(cycle, member, directory, state), exporter.export_user)
            )
        if user is not None:
            result = await _provision_one(
                books, plan_user(cycle, user[1], directory, state), exporter.export_user
            )
            await _resolve_and_log(books, exporter, plan_user(cycle, user[1], directory, state))
        else:
            result = await _provision_one(
                books, plan_group(cycle, group[1], directory, state), exporter.export_group
            )
    return {**result, "members": results}


async def _provision_one(books: Bookkeeper, plan: Plan, export: Callable[[Plan], Awaitable[Outcome]]) -> dict:
    started = time.perf_counter()
    try:
        outcome = await export(plan)
    except ScimClientError as exc:
        outcome = Outcome(plan.action, "failure", error=exc, error_code=exc.code)
    if outcome.action == "other" and outcome.status == "skipped" and plan.action == "skip":
        outcome.steps.append(
            step("export", "Perform action", "skipped", skip_text(outcome.error_code or ""), {})
        )
    entry = books.book(plan, outcome, (time.perf_counter() - started) * 1000, INITIATOR)
    return {
        "objectId": plan.obj["id"],
        "identityType": plan.kind,
        "displayName": plan.obj.get("displayName"),
        "action": entry["provisioningAction"],
        "status": entry["provisioningStatusInfo"]["status"],
        "errorInformation": entry["provisioningStatusInfo"]["errorInformation"],
        "steps": entry["provisioningSteps"],
        "modifiedProperties": entry["modifiedProperties"],
        "logEntryId": entry["id"],
    }


async def _resolve_and_log(books: Bookkeeper, exporter: Exporter, plan: Plan) -> None:
    """Set the user's manager reference once it has been exported, as a cycle does."""
    try:
        outcome = await exporter.resolve_manager(plan)
    except ScimClientError as exc:
        outcome = Outcome("update", "failure", error=exc, error_code=exc.code)
    if outcome is not None:
        books.book(plan, outcome, 0, INITIATOR)
