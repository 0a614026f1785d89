"""What a cycle looks at and what it will do with each object, read from the directory and the
sync state (no I/O to the target); the decisions themselves are `planner`'s pure rules."""

from __future__ import annotations

from emulator.clock import Clock, parse_instant
from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning import planner
from emulator.entra.provisioning.cycle import Cycle, Plan
from emulator.entra.provisioning.mappings import evaluate_mappings
from emulator.entra.provisioning.planner import Link, Scope
from emulator.entra.provisioning.state import ProvisioningState


def candidates(
    cycle: Cycle, watermark: int, directory: EntraDirectory, state: ProvisioningState, clock: Clock
) -> tuple[list[dict], list[dict], list[dict]]:
    """Objects to evaluate: all on an initial cycle, else those changed since the watermark
    (an assignment change brings its principal and a group's direct members), plus the
    escrowed ones whose retry is due."""
    app_id = cycle.app["id"]
    if watermark == 0:
        users = directory.list_users(include_deleted=True)
        groups = directory.list_groups()
        purged = [d for d in directory.deleted.values() if state.record(app_id, d["id"])]
        return users, groups, purged
    user_ids = {u["id"] for u in directory.changed_since(directory.users, watermark)}
    group_ids = {g["id"] for g in directory.changed_since(directory.groups, watermark)}
    for assignment in directory.assignments_of(app_id, include_removed=True):
        if assignment["changeSeq"] <= watermark:
            continue
        if assignment["principalType"] == "User":
            user_ids.add(assignment["principalId"])
        else:
            group_ids.add(assignment["principalId"])
            group = directory.find_group(assignment["principalId"])
            user_ids.update(group["members"] if group else ())
    now = clock.now()
    for record in state.escrowed(app_id):
        if parse_instant(record["escrow"]["nextRetryAt"]) <= now:
            (user_ids if record["objectType"] == "User" else group_ids).add(record["objectId"])
    users = [found for uid in sorted(user_ids) if (found := directory.find_user(uid))]
    groups = [found for gid in sorted(group_ids) if (found := directory.find_group(gid))]
    purged = [
        d for d in directory.changed_since(directory.deleted, watermark) if state.record(app_id, d["id"])
    ]
    return users, groups, purged


def scope_of_user(directory: EntraDirectory, app_id: str, user: dict, settings: dict) -> Scope:
    assigned = directory.is_assigned(app_id, user["id"]) or any(
        directory.is_assigned(app_id, g["id"]) for g in directory.groups_of(user["id"])
    )
    return Scope(
        assigned=assigned,
        sync_all=settings["scope"] == "all",
        active_in_source=bool(user.get("accountEnabled", True)),
        soft_deleted=bool(user.get("deletedDateTime")),
    )


def plan_user(cycle: Cycle, user: dict, directory: EntraDirectory, state: ProvisioningState) -> Plan:
    app_id = cycle.app["id"]
    scope = scope_of_user(directory, app_id, user, cycle.settings)
    record = state.record(app_id, user["id"])
    link = link_of(record)
    source = planner.user_source(user, scope)
    if not cycle.settings["provisionUsers"]:
        return Plan("User", user, "skip", source, {}, record, scope, log_skip=False)
    desired = evaluate_mappings(cycle.user_maps, source, creating=link is None or link.target_id is None)
    action = planner.decide_user(
        link,
        planner.is_active(desired),
        purged=False,
        out_of_scope=not scope.in_scope,
        skip_out_of_scope_deletions=cycle.settings["skipOutOfScopeDeletions"],
        disable_mapped=any(m.target == planner.ACTIVE for m in cycle.user_maps),
    )
    # Skips are logged for objects the job already knows or that are in scope; the initial
    # cycle does not log every unassigned user of the tenant.
    log_skip = action == "skip" and (record is not None or scope.in_scope or not cycle.initial)
    return Plan("User", user, action, source, desired, record, scope, log_skip=log_skip)


def plan_group(cycle: Cycle, group: dict, directory: EntraDirectory, state: ProvisioningState) -> Plan:
    app_id = cycle.app["id"]
    record = state.record(app_id, group["id"])
    in_scope = cycle.settings["scope"] == "all" or directory.is_assigned(app_id, group["id"])
    scope = Scope(
        assigned=in_scope,
        sync_all=cycle.settings["scope"] == "all",
        active_in_source=True,
        soft_deleted=False,
    )
    if not cycle.settings["provisionGroups"]:
        return Plan("Group", group, "skip", {}, {}, record, scope, log_skip=False)
    linked = bool(record and record.get("targetId"))
    source = planner.group_source(group)
    desired = evaluate_mappings(cycle.group_maps, source, creating=not linked)
    action = planner.decide_group(
        linked, in_scope, purged=False, out_of_scope_action=cycle.settings["groupOutOfScopeAction"]
    )
    log_skip = action == "skip" and (record is not None or in_scope)
    return Plan("Group", group, action, source, desired, record, scope, log_skip=log_skip)


def plan_purged(cycle: Cycle, tombstone: dict, state: ProvisioningState) -> Plan | None:
    record = state.record(cycle.app["id"], tombstone["id"])
    if record is None or not record.get("targetId"):
        return None
    if tombstone["objectType"] == "User":
        action = planner.decide_user(
            link_of(record),
            False,
            purged=True,
            out_of_scope=False,
            skip_out_of_scope_deletions=False,
            disable_mapped=True,
        )
    else:
        action = "delete"
    scope = Scope(assigned=False, sync_all=False, active_in_source=False, soft_deleted=True)
    return Plan(tombstone["objectType"], tombstone, action, {}, {}, record, scope, log_skip=True)


def link_of(record: dict | None) -> Link | None:
    """The planner's view of a sync record: target id, managed, last exported `active`."""
    if record is None:
        return None
    return Link(record.get("targetId"), record.get("managed", True), record.get("exportedActive"))
