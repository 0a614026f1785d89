"""Sending one object's plan to the target over SCIM and saving its sync record (reference §1.4)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from emulator.entra.provisioning import planner
from emulator.entra.provisioning.cycle import Cycle, Outcome, Plan, target_of
from emulator.entra.provisioning.quirks import (
    Change,
    active_patch_body,
    create_group_body,
    create_user_body,
    group_patch_body,
    members_patch_bodies,
    user_patch_body,
    value_at,
)
from emulator.entra.provisioning.reporting import (
    export_step,
    import_step,
    scoping_step,
    skip_reason,
    step,
)
from emulator.entra.provisioning.scim_client import ScimClientError
from emulator.entra.provisioning.state import ProvisioningState

MANAGER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"


@dataclass
class Exporter:
    """Exports the plans of one cycle through its SCIM client; each export returns its Outcome."""

    cycle: Cycle
    state: ProvisioningState

    # -- users ---------------------------------------------------------------------------------

    async def export_user(self, plan: Plan) -> Outcome:
        cycle = self.cycle
        client, app_id, user = cycle.client, cycle.app["id"], plan.obj
        steps = [import_step(plan), scoping_step(plan)]
        if plan.action == "skip":
            return skipped(plan, steps)
        if plan.action == "disable":
            body = active_patch_body(False, cycle.mode)
            await client.patch_user(plan.record["targetId"], body)
            self.state.save_record(
                app_id,
                user["id"],
                exportedActive=False,
                exported={**plan.record["exported"], planner.ACTIVE: plan.desired.get(planner.ACTIVE)},
                managed=plan.scope.in_scope,
                escrow=None,
            )
            if not plan.scope.in_scope:
                cycle.relinked.add(user["id"])
            old = plan.record["exported"].get(planner.ACTIVE)
            return Outcome(
                "disable",
                target_id=plan.record["targetId"],
                steps=[*steps, export_step("PATCH", body)],
                modified=[(planner.ACTIVE, old, plan.desired.get(planner.ACTIVE))],
            )
        values = {k: v for k, v in plan.desired.items() if k != MANAGER}
        if plan.action == "create":
            target, match_step = await self.match_user(plan)
            steps.append(match_step)
            if target is None:
                created = await client.create_user(create_user_body(values))
                self.state.save_record(
                    app_id,
                    user["id"],
                    objectType="User",
                    targetId=created["id"],
                    exported=values,
                    exportedActive=True,
                    managed=True,
                    escrow=None,
                )
                cycle.relinked.add(user["id"])
                return Outcome(
                    "create",
                    target_id=created["id"],
                    steps=[*steps, export_step("POST", values)],
                    modified=[(k, None, v) for k, v in values.items()],
                )
            current = {path: value_at(target, path) for path in values}
            changes = planner.changes_between(values, current)
            target_id = target["id"]
        else:
            target_id = plan.record["targetId"]
            changes = planner.changes_between(values, plan.record["exported"])
        body = user_patch_body(changes, cycle.mode)
        if body is not None:
            try:
                await client.patch_user(target_id, body)
            except ScimClientError as exc:
                if exc.code == "NotFound":  # the cached id is gone on the target (§1.8)
                    self.state.save_record(app_id, user["id"], targetId=None, exported={})
                    return Outcome(
                        "update",
                        "failure",
                        target_id=target_id,
                        steps=steps,
                        error=exc,
                        error_code="InvalidAnchor",
                    )
                raise
        exported = {**(plan.record or {}).get("exported", {}), **values}
        if plan.action == "create" or not (plan.record or {}).get("managed", True):
            cycle.relinked.add(user["id"])
        self.state.save_record(
            app_id,
            user["id"],
            objectType="User",
            targetId=target_id,
            exported=exported,
            exportedActive=planner.is_active(values),
            managed=True,
            escrow=None,
        )
        if body is None:
            return Outcome("other", "skipped", target_id=target_id, steps=steps, error_code="NoChange")
        action = "update"
        return Outcome(
            action,
            target_id=target_id,
            steps=[*steps, export_step("PATCH", body)],
            modified=[(c.path, c.old, c.new) for c in changes],
        )

    async def match_user(self, plan: Plan) -> tuple[dict | None, dict]:
        """Query the target by each matching attribute in precedence order (§1.4)."""
        cycle = self.cycle
        for mapping in sorted(
            (m for m in cycle.user_maps if m.matching_precedence), key=lambda m: m.matching_precedence
        ):
            value = plan.desired.get(mapping.target)
            if value is None:
                continue
            found = await cycle.client.query_users(mapping.target, str(value))
            if len(found) > 1:
                raise ScimClientError(
                    "DuplicateTargetEntries",
                    f"{len(found)} users in the target have {mapping.target} {value!r}; one was expected",
                    status=200,
                    retryable=False,
                )
            if found:
                return found[0], step(
                    "matching",
                    "Match user",
                    "success",
                    f"Matched a user in the target by {mapping.target}",
                    {mapping.target: str(value), "targetId": found[0].get("id", "")},
                )
        return None, step(
            "matching",
            "Match user",
            "success",
            "No matching user found in the target",
            {m.target: str(plan.desired.get(m.target)) for m in cycle.user_maps if m.matching_precedence},
        )

    async def resolve_manager(self, plan: Plan) -> Outcome | None:
        """Reference resolution (§1.4): the manager points at the manager's target id."""
        cycle = self.cycle
        manager_id = plan.desired.get(MANAGER)
        record = self.state.record(cycle.app["id"], plan.obj["id"])
        if not manager_id or record is None or not record.get("targetId"):
            return None
        manager = self.state.record(cycle.app["id"], manager_id)
        if manager is None or not manager.get("targetId"):
            return None
        old = record["exported"].get(MANAGER)
        if old == manager["targetId"]:
            return None
        change = Change(MANAGER, old, manager["targetId"])
        body = user_patch_body([change], cycle.mode, base_url=cycle.client.base_url)
        await cycle.client.patch_user(record["targetId"], body)
        self.state.save_record(
            cycle.app["id"], plan.obj["id"], exported={**record["exported"], MANAGER: change.new}
        )
        resolve_step = step(
            "referenceResolution",
            "Resolve references",
            "success",
            "Set the manager reference",
            {"manager": manager["targetId"]},
        )
        return Outcome(
            "update",
            target_id=record["targetId"],
            steps=[resolve_step, export_step("PATCH", body)],
            modified=[("manager", old, change.new)],
        )

    # -- hard deletes and groups ---------------------------------------------------------------

    async def export_purged(self, plan: Plan) -> Outcome:
        cycle = self.cycle
        app_id = cycle.app["id"]
        target_id = plan.record["targetId"]
        if plan.action == "skip":
            self.state.drop_record(app_id, plan.obj["id"])
            return Outcome("other", "skipped", target_id=target_id, error_code="NotManaged")
        try:
            if plan.kind == "User":
                await cycle.client.delete_user(target_id)
            else:
                await cycle.client.delete_group(target_id)
        except ScimClientError as exc:
            if exc.code != "NotFound":
                raise
        self.state.drop_record(app_id, plan.obj["id"])
        return Outcome("delete", target_id=target_id, steps=[export_step("DELETE", None)])

    async def export_group(self, plan: Plan) -> Outcome:
        cycle = self.cycle
        client, app_id, group = cycle.client, cycle.app["id"], plan.obj
        steps = [import_step(plan), scoping_step(plan)]
        if plan.action == "skip":
            return skipped(plan, steps)
        if plan.action == "delete":
            await self.export_purged(plan)
            return Outcome(
                "delete", target_id=plan.record["targetId"], steps=[*steps, export_step("DELETE", None)]
            )
        values = {k: v for k, v in plan.desired.items() if k != "members"}
        desired_members = self.member_targets(app_id, plan.desired.get("members") or [])
        modified: list[tuple[str, Any, Any]] = []
        if plan.action == "create":
            found = await client.query_groups_by_name(str(values.get("displayName", group["displayName"])))
            if len(found) > 1:
                raise ScimClientError(
                    "DuplicateTargetEntries",
                    f"{len(found)} groups in the target are named {group['displayName']!r}",
                    status=200,
                    retryable=False,
                )
            if found:
                target_id = found[0]["id"]
                changes = planner.changes_between(values, {p: value_at(found[0], p) for p in values})
                exported_members: list[str] = []
                action = "update"
            else:
                created = await client.create_group(create_group_body(values))
                target_id, changes, exported_members, action = created["id"], [], [], "create"
                modified = [(k, None, v) for k, v in values.items()]
                self.state.save_record(
                    app_id,
                    group["id"],
                    objectType="Group",
                    targetId=target_id,
                    exported=values,
                    members=[],
                    managed=True,
                    escrow=None,
                )
        else:
            target_id = plan.record["targetId"]
            changes = planner.changes_between(values, plan.record["exported"])
            exported_members = plan.record.get("members", [])
            action = "update"
        body = group_patch_body(changes, cycle.mode)
        if body is not None:
            await client.patch_group(target_id, body)
            modified.extend((c.path, c.old, c.new) for c in changes)
        add, remove = planner.member_changes(desired_members, exported_members)
        for members_body in members_patch_bodies(
            add, remove, cycle.mode, batch_size=cycle.settings["memberBatchSize"]
        ):
            await client.patch_group(target_id, members_body)
        if add or remove:
            modified.append(
                (
                    "members",
                    f"{len(exported_members)} members",
                    f"{len(desired_members)} members (+{len(add)} -{len(remove)})",
                )
            )
        self.state.save_record(
            app_id,
            group["id"],
            objectType="Group",
            targetId=target_id,
            exported={**(plan.record or {}).get("exported", {}), **values},
            members=desired_members,
            managed=True,
            escrow=None,
        )
        if not modified:
            return Outcome("other", "skipped", target_id=target_id, steps=steps, error_code="NoChange")
        return Outcome(
            action,
            target_id=target_id,
            steps=[*steps, export_step("PATCH" if action == "update" else "POST", values)],
            modified=modified,
        )

    def member_targets(self, app_id: str, member_ids: list[str]) -> list[str]:
        """Target ids of the direct user members the job manages; nested groups are not
        expanded (reference §2, S7)."""
        targets = []
        for member_id in member_ids:
            record = self.state.record(app_id, member_id)
            if (
                record
                and record.get("objectType") == "User"
                and record.get("targetId")
                and record.get("managed")
            ):
                targets.append(record["targetId"])
        return targets


def skipped(plan: Plan, steps: list[dict]) -> Outcome:
    """The outcome of a planned skip, with the reason the log shows for it."""
    return Outcome(
        "other", "skipped", steps=steps, target_id=target_of(plan.record), error_code=skip_reason(plan)
    )
