"""Entra's provisioning engine: cycles that push the directory to any SCIM Tenant URL.

One cycle follows reference entra-and-galaxy.md §1.4: probe the endpoint, import what changed
since the watermark (everything on an initial cycle), decide scope, match unlinked objects by
their matching attributes, create / update / disable / delete, resolve references (managers,
then group members), log one entry per object and action, and save the watermark. Failures of
one object are escrowed and retried in later cycles with back-off; credential failures and
too many failures quarantine the job (§1.8); too many deletions stop the cycle (§1.7).
"""

from __future__ import annotations

import asyncio
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import aiohttp

from emulator.clock import Clock, format_instant, parse_instant
from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning import planner
from emulator.entra.provisioning.logs import ProvisioningLogs, build_entry, build_step
from emulator.entra.provisioning.mappings import AttributeMapping, evaluate_mappings
from emulator.entra.provisioning.planner import Link, Scope
from emulator.entra.provisioning.quirks import (
    Change,
    WireMode,
    active_patch_body,
    create_group_body,
    create_user_body,
    group_patch_body,
    members_patch_bodies,
    parse_tenant_url,
    user_patch_body,
    value_at,
)
from emulator.entra.provisioning.scim_client import ScimClient, ScimClientError
from emulator.entra.provisioning.settings import (
    default_settings,
    merge_settings,
    parse_mappings,
    public_settings,
)
from emulator.entra.provisioning.state import ProvisioningState

ENTRA_INTERVAL = timedelta(minutes=40)  # "every ~40 minutes; not configurable" (§1.8)
MANAGER = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager"
# Quarantine back-off (§1.8): retries at +6 h, +12 h, +24 h, then every 24 h for 28 days.
QUARANTINE_STEPS = (timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
QUARANTINE_LIMIT = timedelta(days=28)
CREDENTIAL_CODES = ("Unauthorized", "InsufficientRights")
SYSTEM = ("system", "Microsoft Entra provisioning service")
ON_DEMAND_MAX_MEMBERS = 5  # "one group with <=5 members" (§1.9)


class ProvisioningError(ValueError):
    """A request the engine refuses (not configured, unknown object...); `status` for APIs."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.status = status


@dataclass
class Cycle:
    """One running cycle's identity and tallies."""

    app: dict
    job_id: str
    cycle_id: str
    initial: bool
    mode: WireMode
    client: ScimClient
    user_maps: list[AttributeMapping]
    group_maps: list[AttributeMapping]
    settings: dict
    started: float = field(default_factory=time.perf_counter)
    started_at: str = ""
    counts: dict[str, int] = field(default_factory=dict)
    failures: int = 0
    processed: int = 0
    # Users that became (or stopped being) linked and managed in this cycle: their groups'
    # member lists must be reconsidered even if the groups themselves did not change.
    relinked: set[str] = field(default_factory=set)

    def tally(self, action: str, status: str) -> None:
        key = f"{action}:{status}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.processed += 1
        if status == "failure":
            self.failures += 1


@dataclass
class Outcome:
    """What exporting one object did, for its log entry."""

    action: str
    status: str = "success"
    target_id: str | None = None
    modified: list[tuple[str, Any, Any]] = field(default_factory=list)
    steps: list[dict] = field(default_factory=list)
    error: ScimClientError | None = None
    error_code: str | None = None


class ProvisioningEngine:
    """Provisioning of every enterprise app of one tenant; the control API and CLI call this."""

    def __init__(
        self,
        state: ProvisioningState,
        directory: EntraDirectory,
        logs: ProvisioningLogs,
        clock: Clock,
        session: Callable[[], aiohttp.ClientSession],
        *,
        cycle_interval: timedelta | None = ENTRA_INTERVAL,
        on_change: Callable[[], None] | None = None,
    ) -> None:
        self.state = state
        self.directory = directory
        self.logs = logs
        self.clock = clock
        self.session = session
        self.cycle_interval = cycle_interval
        self.on_change = on_change or (lambda: None)
        self._locks: dict[str, asyncio.Lock] = {}

    # -- settings ------------------------------------------------------------------------------

    def settings(self, app_id: str) -> dict:
        return self.state.get_settings(self.directory.app(app_id)["id"]) or default_settings()

    def configure(self, app_id: str, changes: dict) -> dict:
        """Save provisioning settings (the portal's Save); mapping or scope changes force a new
        initial cycle, as in Entra (§1.4)."""
        app = self.directory.app(app_id)
        merged, reinitialise = merge_settings(self.settings(app["id"]), changes)
        self.state.put_settings(app["id"], merged)
        job = self.state.job(app["id"])
        status = job["status"]
        if merged["mode"] != "Automatic":
            status = "NotConfigured"
        elif status == "NotConfigured":
            status = "NotRun"
        fields: dict[str, Any] = {"status": status}
        if reinitialise:
            fields.update(initialPending=True, watermark=0)
        self.state.update_job(app["id"], **fields)
        self.on_change()
        return public_settings(merged)

    def public_settings(self, app_id: str) -> dict:
        return public_settings(self.settings(app_id))

    # -- status --------------------------------------------------------------------------------

    def status(self, app_id: str) -> dict:
        """The Provisioning blade's status bar and "View provisioning details"."""
        app = self.directory.app(app_id)
        settings = self.settings(app["id"])
        job = self.state.job(app["id"])
        status = job["status"] if settings["mode"] == "Automatic" else "NotConfigured"
        return {
            "appId": app["id"],
            "jobId": job["jobId"],
            "status": status,
            "quarantine": job["quarantine"],
            "lastCycle": job["lastCycle"],
            "nextCycleAt": job["nextCycleAt"],
            "interval": _iso_duration(self.cycle_interval),
            "cycleCount": job["cycleCount"],
            "initialCycleCompleted": not job["initialPending"],
            "stagedDeletes": job["stagedDeletes"],
            "escrowedObjects": len(self.state.escrowed(app["id"])),
            "provisionedObjects": sum(1 for r in self.state.records(app["id"]) if r.get("targetId")),
            "lastError": job["lastError"],
            "notifications": job["notifications"],
        }

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self, app_id: str) -> dict:
        """Start provisioning: the initial cycle runs now, then one every interval."""
        app = self.directory.app(app_id)
        if self.settings(app["id"])["mode"] != "Automatic":
            raise ProvisioningError("set Provisioning Mode to Automatic and save a Tenant URL first", 409)
        job = self.state.job(app["id"])
        next_at = None if self.cycle_interval is None else self.clock.timestamp()
        if job["status"] == "Quarantine":
            next_at = job["nextCycleAt"]
        status = "Quarantine" if job["status"] == "Quarantine" else "Active"
        self.state.update_job(app["id"], status=status, nextCycleAt=next_at)
        self.on_change()
        return self.status(app["id"])

    def stop(self, app_id: str) -> dict:
        """Stop provisioning; a cycle already running finishes (§1.4)."""
        app = self.directory.app(app_id)
        self.state.update_job(app["id"], status="Paused", nextCycleAt=None)
        self.on_change()
        return self.status(app["id"])

    def restart(self, app_id: str) -> dict:
        """Clear the watermark, escrows and quarantine; keep the links (§1.4, §1.8)."""
        app = self.directory.app(app_id)
        self.state.clear_escrows(app["id"])
        self.state.update_job(
            app["id"], watermark=0, initialPending=True, quarantine=None, stagedDeletes=[], lastError=None
        )
        return self.start(app["id"])

    def allow_deletes(self, app_id: str) -> dict:
        """The "Allow deletes" action after the accidental-deletion threshold stopped a cycle."""
        app = self.directory.app(app_id)
        job = self.state.job(app["id"])
        if not job["stagedDeletes"]:
            raise ProvisioningError("no deletions are waiting for approval", 409)
        status = "Active" if job["status"] == "Quarantine" else job["status"]
        self.state.update_job(
            app["id"], allowDeletes=True, status=status, quarantine=None, nextCycleAt=self.clock.timestamp()
        )
        self.on_change()
        return self.status(app["id"])

    def due_jobs(self) -> list[tuple[str, str]]:
        """(app id, due instant) of jobs that have a next cycle scheduled."""
        return [
            (job["appId"], job["nextCycleAt"])
            for job in self.state.jobs.values()
            if job["status"] in ("Active", "Quarantine") and job["nextCycleAt"]
        ]

    # -- test connection -----------------------------------------------------------------------

    async def test_connection(
        self, app_id: str, tenant_url: str | None = None, secret_token: str | None = None
    ) -> dict:
        """The portal's Test Connection: Entra's probe exactly (§1.2), with the message a person
        reads; the values typed in the form are tested before they are saved."""
        settings = self.settings(app_id)
        url = tenant_url if tenant_url is not None else settings["tenantUrl"]
        token = secret_token if secret_token is not None else settings["secretToken"]
        if not url:
            return {
                "success": False,
                "message": "Enter a Tenant URL before testing the connection.",
                "errorCode": "MissingTenantUrl",
            }
        try:
            client = ScimClient(
                self.session(),
                url,
                token or None,
                clock=self.clock,
                timeout=settings["requestTimeoutSeconds"],
            )
        except ValueError as exc:
            return {
                "success": False,
                "message": f"The Tenant URL is not valid: {exc}",
                "errorCode": "InvalidTenantUrl",
            }
        try:
            await client.probe()
        except ScimClientError as exc:
            return {"success": False, "errorCode": exc.code, "message": connection_message(exc, url)}
        return {
            "success": True,
            "message": "The supplied credentials are authorized to enable provisioning.",
            "errorCode": None,
        }

    # -- cycles --------------------------------------------------------------------------------

    async def run_cycle(self, app_id: str) -> dict:
        """Run one cycle now (initial or incremental, whichever is due); returns its summary."""
        app = self.directory.app(app_id)
        lock = self._locks.setdefault(app["id"], asyncio.Lock())
        async with lock:
            return await self._run(app)

    async def _run(self, app: dict) -> dict:
        settings = self.settings(app["id"])
        if settings["mode"] != "Automatic" or not settings["tenantUrl"]:
            raise ProvisioningError(
                "provisioning is not configured: set mode Automatic with a Tenant URL", 409
            )
        job = self.state.job(app["id"])
        self.directory.purge_expired()
        _, mode = parse_tenant_url(settings["tenantUrl"])
        cycle = Cycle(
            app=app,
            job_id=job["jobId"],
            cycle_id=str(uuid.uuid4()),
            initial=job["initialPending"],
            mode=mode,
            client=ScimClient(
                self.session(),
                settings["tenantUrl"],
                settings["secretToken"],
                clock=self.clock,
                timeout=settings["requestTimeoutSeconds"],
            ),
            user_maps=parse_mappings(settings["userMappings"], "userMappings"),
            group_maps=parse_mappings(settings["groupMappings"], "groupMappings"),
            settings=settings,
            started_at=self.clock.timestamp(),
        )
        try:
            await cycle.client.probe()  # Entra probes at the start of every run too (§4.1)
        except ScimClientError as exc:
            return self._abort(cycle, job, exc)
        high = self.directory.change_seq
        users, groups, purged = self._candidates(cycle, 0 if cycle.initial else job["watermark"])
        user_plans = [self._plan_user(cycle, u) for u in users]
        group_plans = [self._plan_group(cycle, g) for g in groups]
        purge_plans = [p for p in (self._plan_purged(cycle, d) for d in purged) if p]
        deletions = [
            p for p in (*user_plans, *group_plans, *purge_plans) if p.action in ("disable", "delete")
        ]
        if self._deletions_blocked(cycle, job, deletions):
            return self._stage_deletes(cycle, deletions)
        await self._each(
            cycle, [p for p in user_plans if p.action != "skip" or p.log_skip], self._export_user
        )
        await self._each(cycle, [p for p in purge_plans if p.kind == "User"], self._export_purged)
        planned = {p.obj["id"] for p in group_plans}
        for user_id in sorted(cycle.relinked):
            for group in self.directory.groups_of(user_id):
                if group["id"] not in planned:
                    planned.add(group["id"])
                    group_plans.append(self._plan_group(cycle, group))
        await self._each(
            cycle, [p for p in user_plans if p.action in ("create", "update")], self._resolve_manager
        )
        await self._each(
            cycle, [p for p in group_plans if p.action != "skip" or p.log_skip], self._export_group
        )
        await self._each(cycle, [p for p in purge_plans if p.kind == "Group"], self._export_purged)
        return self._finish(cycle, high)

    def _candidates(self, cycle: Cycle, watermark: int) -> tuple[list[dict], list[dict], list[dict]]:
        """Objects to evaluate: all on an initial cycle, else those changed since the watermark
        (an assignment change brings its principal and a group's direct members), plus the
        escrowed ones whose retry is due."""
        directory = self.directory
        app_id = cycle.app["id"]
        if watermark == 0:
            users = directory.list_users(include_deleted=True)
            groups = directory.list_groups()
            purged = [d for d in directory.deleted.values() if self.state.record(app_id, d["id"])]
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
        now = self.clock.now()
        for record in self.state.escrowed(app_id):
            if parse_instant(record["escrow"]["nextRetryAt"]) <= now:
                (user_ids if record["objectType"] == "User" else group_ids).add(record["objectId"])
        users = [found for uid in sorted(user_ids) if (found := directory.find_user(uid))]
        groups = [found for gid in sorted(group_ids) if (found := directory.find_group(gid))]
        purged = [
            d
            for d in directory.changed_since(directory.deleted, watermark)
            if self.state.record(app_id, d["id"])
        ]
        return users, groups, purged

    # -- provision on demand ------------------------------------------------------------------

    async def provision_on_demand(self, app_id: str, object_id: str) -> dict:
        """Provision one user, or one group of at most five members, now (§1.9): test
        connection (shown only when it fails), import, scope, match, perform the action. The
        `aadOptscim062020` flag does not apply here (§1.1), so the default wire format is used."""
        app = self.directory.app(app_id)
        settings = self.settings(app["id"])
        if not settings["tenantUrl"]:
            raise ProvisioningError("save a Tenant URL and Secret Token before provisioning on demand", 409)
        user = self.directory.users.find_one("id", object_id)
        group = None if user else self.directory.groups.find_one("id", object_id)
        if user is None and group is None:
            raise ProvisioningError(f"no user or group with objectId {object_id!r}", 404)
        members: list[dict] = []
        if group is not None:
            members = [u for m in group[1]["members"] if (u := self.directory.find_user(m))]
            if len(group[1]["members"]) > ON_DEMAND_MAX_MEMBERS:
                raise ProvisioningError(
                    f"provision on demand takes a group of at most {ON_DEMAND_MAX_MEMBERS} members; "
                    f"{group[1]['displayName']} has {len(group[1]['members'])}"
                )
        job = self.state.job(app["id"])
        cycle = Cycle(
            app=app,
            job_id=job["jobId"],
            cycle_id=str(uuid.uuid4()),
            initial=False,
            mode=WireMode(rfc_patch=False),
            client=ScimClient(
                self.session(),
                settings["tenantUrl"],
                settings["secretToken"],
                clock=self.clock,
                timeout=settings["requestTimeoutSeconds"],
            ),
            user_maps=parse_mappings(settings["userMappings"], "userMappings"),
            group_maps=parse_mappings(settings["groupMappings"], "groupMappings"),
            settings={**settings, "provisionUsers": True, "provisionGroups": True},
            started_at=self.clock.timestamp(),
        )
        initiator = ("user", "Administrator (provision on demand)")
        lock = self._locks.setdefault(app["id"], asyncio.Lock())
        async with lock:
            try:
                await cycle.client.probe()
            except ScimClientError as exc:
                step = _step(
                    "processing",
                    "Test connection",
                    "failure",
                    connection_message(exc, settings["tenantUrl"]),
                    {"errorCode": exc.code},
                )
                return {
                    "objectId": object_id,
                    "status": "failure",
                    "steps": [step],
                    "errorCode": exc.code,
                    "reason": exc.reason,
                    "results": [],
                }
            results = []
            for member in members:
                results.append(
                    await self._on_demand_one(
                        cycle, self._plan_user(cycle, member), self._export_user, initiator
                    )
                )
            if user is not None:
                result = await self._on_demand_one(
                    cycle, self._plan_user(cycle, user[1]), self._export_user, initiator
                )
                await self._resolve_and_log(cycle, user[1], initiator)
            else:
                result = await self._on_demand_one(
                    cycle, self._plan_group(cycle, group[1]), self._export_group, initiator
                )
        return {**result, "members": results}

    async def _on_demand_one(
        self, cycle: Cycle, plan: Plan, export: Callable, initiator: tuple[str, str]
    ) -> dict:
        started = time.perf_counter()
        try:
            outcome = await export(cycle, plan)
        except ScimClientError as exc:
            outcome = Outcome(plan.action, "failure", error=exc, error_code=exc.code)
        if outcome.action == "other" and outcome.status == "skipped" and plan.action == "skip":
            outcome.steps.append(
                _step("export", "Perform action", "skipped", _skip_text(outcome.error_code or ""), {})
            )
        entry = self._after(cycle, plan, outcome, (time.perf_counter() - started) * 1000, initiator)
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

    async def _resolve_and_log(self, cycle: Cycle, user: dict, initiator: tuple[str, str]) -> None:
        plan = self._plan_user(cycle, user)
        try:
            outcome = await self._resolve_manager(cycle, plan)
        except ScimClientError as exc:
            outcome = Outcome("update", "failure", error=exc, error_code=exc.code)
        if outcome is not None:
            self._after(cycle, plan, outcome, 0, initiator)

    # -- planning (no I/O) ---------------------------------------------------------------------

    def scope_of_user(self, app_id: str, user: dict, settings: dict) -> Scope:
        assigned = self.directory.is_assigned(app_id, user["id"]) or any(
            self.directory.is_assigned(app_id, g["id"]) for g in self.directory.groups_of(user["id"])
        )
        return Scope(
            assigned=assigned,
            sync_all=settings["scope"] == "all",
            active_in_source=bool(user.get("accountEnabled", True)),
            soft_deleted=bool(user.get("deletedDateTime")),
        )

    def _plan_user(self, cycle: Cycle, user: dict) -> Plan:
        app_id = cycle.app["id"]
        scope = self.scope_of_user(app_id, user, cycle.settings)
        record = self.state.record(app_id, user["id"])
        link = _link(record)
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

    def _plan_group(self, cycle: Cycle, group: dict) -> Plan:
        app_id = cycle.app["id"]
        record = self.state.record(app_id, group["id"])
        in_scope = cycle.settings["scope"] == "all" or self.directory.is_assigned(app_id, group["id"])
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

    def _plan_purged(self, cycle: Cycle, tombstone: dict) -> Plan | None:
        record = self.state.record(cycle.app["id"], tombstone["id"])
        if record is None or not record.get("targetId"):
            return None
        if tombstone["objectType"] == "User":
            action = planner.decide_user(
                _link(record),
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

    def _deletions_blocked(self, cycle: Cycle, job: dict, deletions: list[Plan]) -> bool:
        s = cycle.settings
        if not s["preventAccidentalDeletion"] or len(deletions) <= s["accidentalDeletionThreshold"]:
            return False
        return not job["allowDeletes"]

    # -- export --------------------------------------------------------------------------------

    async def _each(self, cycle: Cycle, plans: list[Plan], export: Callable) -> None:
        gate = asyncio.Semaphore(cycle.settings["concurrency"])

        async def one(plan: Plan) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    outcome = await export(cycle, plan)
                except ScimClientError as exc:
                    outcome = Outcome(plan.action, "failure", error=exc, error_code=exc.code)
                if outcome is None:
                    return
                self._after(cycle, plan, outcome, (time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one(p) for p in plans))

    async def _export_user(self, cycle: Cycle, plan: Plan) -> Outcome:
        client, app_id, user = cycle.client, cycle.app["id"], plan.obj
        steps = [_import_step(plan), _scoping_step(plan)]
        if plan.action == "skip":
            return Outcome(
                "other", "skipped", steps=steps, target_id=_target(plan.record), error_code=_skip_reason(plan)
            )
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
                steps=[*steps, _export_step("PATCH", body)],
                modified=[(planner.ACTIVE, old, plan.desired.get(planner.ACTIVE))],
            )
        values = {k: v for k, v in plan.desired.items() if k != MANAGER}
        if plan.action == "create":
            target, match_step = await self._match_user(cycle, plan)
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
                    steps=[*steps, _export_step("POST", values)],
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
            steps=[*steps, _export_step("PATCH", body)],
            modified=[(c.path, c.old, c.new) for c in changes],
        )

    async def _match_user(self, cycle: Cycle, plan: Plan) -> tuple[dict | None, dict]:
        """Query the target by each matching attribute in precedence order (§1.4)."""
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
                return found[0], _step(
                    "matching",
                    "Match user",
                    "success",
                    f"Matched a user in the target by {mapping.target}",
                    {mapping.target: str(value), "targetId": found[0].get("id", "")},
                )
        return None, _step(
            "matching",
            "Match user",
            "success",
            "No matching user found in the target",
            {m.target: str(plan.desired.get(m.target)) for m in cycle.user_maps if m.matching_precedence},
        )

    async def _resolve_manager(self, cycle: Cycle, plan: Plan) -> Outcome | None:
        """Reference resolution (§1.4): the manager points at the manager's target id."""
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
        step = _step(
            "referenceResolution",
            "Resolve references",
            "success",
            "Set the manager reference",
            {"manager": manager["targetId"]},
        )
        return Outcome(
            "update",
            target_id=record["targetId"],
            steps=[step, _export_step("PATCH", body)],
            modified=[("manager", old, change.new)],
        )

    async def _export_purged(self, cycle: Cycle, plan: Plan) -> Outcome:
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
        return Outcome("delete", target_id=target_id, steps=[_export_step("DELETE", None)])

    async def _export_group(self, cycle: Cycle, plan: Plan) -> Outcome:
        client, app_id, group = cycle.client, cycle.app["id"], plan.obj
        steps = [_import_step(plan), _scoping_step(plan)]
        if plan.action == "skip":
            return Outcome(
                "other", "skipped", steps=steps, target_id=_target(plan.record), error_code=_skip_reason(plan)
            )
        if plan.action == "delete":
            await self._export_purged(cycle, plan)
            return Outcome(
                "delete", target_id=plan.record["targetId"], steps=[*steps, _export_step("DELETE", None)]
            )
        values = {k: v for k, v in plan.desired.items() if k != "members"}
        desired_members = self._member_targets(app_id, plan.desired.get("members") or [])
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
            steps=[*steps, _export_step("PATCH" if action == "update" else "POST", values)],
            modified=modified,
        )

    def _member_targets(self, app_id: str, member_ids: list[str]) -> list[str]:
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

    # -- bookkeeping ---------------------------------------------------------------------------

    def _after(
        self,
        cycle: Cycle,
        plan: Plan,
        outcome: Outcome,
        duration_ms: float,
        initiator: tuple[str, str] = SYSTEM,
    ) -> dict:
        app_id = cycle.app["id"]
        if outcome.status == "failure":
            self._escrow(app_id, plan, outcome)
        cycle.tally(outcome.action, outcome.status)
        return self._log(cycle, plan, outcome, duration_ms, initiator=initiator)

    def _escrow(self, app_id: str, plan: Plan, outcome: Outcome) -> None:
        """Remember the failure; retry after 0, 10, 20, 40... minutes, at most 24 h (§1.8)."""
        record = self.state.record(app_id, plan.obj["id"]) or {}
        attempts = ((record.get("escrow") or {}).get("attempts") or 0) + 1
        delay = min(
            timedelta(minutes=10) * (2 ** (attempts - 2)) if attempts > 1 else timedelta(),
            timedelta(hours=24),
        )
        self.state.save_record(
            app_id,
            plan.obj["id"],
            objectType=plan.kind,
            escrow={
                "attempts": attempts,
                "errorCode": outcome.error_code,
                "reason": str(outcome.error.reason if outcome.error else outcome.error_code),
                "since": (record.get("escrow") or {}).get("since") or self.clock.timestamp(),
                "nextRetryAt": format_instant(self.clock.now() + delay),
            },
            **({} if record else {"targetId": None, "exported": {}, "managed": True}),
        )

    def _log(
        self, cycle: Cycle, plan: Plan, outcome: Outcome, duration_ms: float, *, initiator: tuple[str, str]
    ) -> dict:
        name = plan.obj.get("displayName") or plan.obj.get("userPrincipalName") or plan.obj["id"]
        failed = outcome.status in ("failure", "skipped") and outcome.error_code
        error = outcome.error
        entry = build_entry(
            app_id=cycle.app["id"],
            app_name=cycle.app["displayName"],
            application_id=cycle.app["appId"],
            tenant_id=self.directory.tenant["id"],
            job_id=cycle.job_id,
            cycle_id=cycle.cycle_id,
            action=outcome.action,
            status=outcome.status,
            error_code=outcome.error_code if failed else None,
            reason=(error.reason if error else _skip_text(outcome.error_code)) if failed else None,
            additional_details=_text(error.response.body) if error and error.response else None,
            identity_type=plan.kind,
            source_id=plan.obj["id"],
            source_display_name=name,
            target_id=outcome.target_id or "",
            target_display_name=name,
            initiator_type=initiator[0],
            initiator_name=initiator[1],
            modified_properties=outcome.modified,
            steps=outcome.steps or [_step("export", "Perform action", outcome.status, outcome.action, {})],
            duration_ms=round(duration_ms),
        )
        return self.logs.record(entry)

    def _abort(self, cycle: Cycle, job: dict, exc: ScimClientError) -> dict:
        """The start-of-cycle probe failed: quarantine on bad credentials (§1.8), otherwise the
        whole cycle fails and runs again at the next interval; nothing is lost either way."""
        app_id = cycle.app["id"]
        if exc.code in CREDENTIAL_CODES:
            self._quarantine(app_id, job, "EncounteredQuarantineException", exc.reason)
            status = "quarantined"
        else:
            status = "failed"
        summary = self._summary(cycle, status=status, error={"errorCode": exc.code, "reason": exc.reason})
        fields: dict[str, Any] = {
            "lastCycle": summary,
            "cycleCount": job["cycleCount"] + 1,
        }
        if status == "failed":  # a quarantine keeps its own next attempt and message
            fields.update(nextCycleAt=self._next_cycle_at(), lastError=exc.reason)
        self.state.update_job(app_id, **fields)
        self.on_change()
        return summary

    def _stage_deletes(self, cycle: Cycle, deletions: list[Plan]) -> dict:
        """Too many deletions (§1.7, S8): log them as stagedDelete, quarantine with
        TooManyDeletes and wait for "Allow deletes"; nothing is sent."""
        for plan in deletions:
            outcome = Outcome(
                "stagedDelete", "skipped", target_id=_target(plan.record), error_code="TooManyDeletes"
            )
            cycle.tally("stagedDelete", "skipped")
            self._log(cycle, plan, outcome, 0, initiator=SYSTEM)
        app_id = cycle.app["id"]
        job = self.state.job(app_id)
        self._quarantine(
            app_id,
            job,
            "TooManyDeletes",
            f"{len(deletions)} deletions exceed the accidental-deletion threshold of "
            f"{cycle.settings['accidentalDeletionThreshold']}; review them and choose Allow deletes",
        )
        summary = self._summary(cycle, status="stopped")
        self.state.update_job(
            app_id,
            lastCycle=summary,
            stagedDeletes=[p.obj["id"] for p in deletions],
            cycleCount=job["cycleCount"] + 1,
        )
        self.on_change()
        return summary

    def _quarantine(self, app_id: str, job: dict, reason: str, detail: str) -> None:
        now = self.clock.now()
        current = job.get("quarantine") or {}
        since = current.get("since") or format_instant(now)
        attempt = current.get("attempt", 0) + 1 if current.get("reason") == reason else 1
        step = QUARANTINE_STEPS[min(attempt, len(QUARANTINE_STEPS)) - 1]
        next_at = format_instant(now + step)
        status = "Quarantine"
        if now - parse_instant(since) > QUARANTINE_LIMIT:
            status, next_at = "Paused", None
            detail = "quarantined for more than 4 weeks: provisioning was disabled (§1.8)"
        notifications = list(job.get("notifications", []))
        if not current:  # Entra emails once per quarantine (§1.8)
            notifications.append(
                {
                    "sent": format_instant(now),
                    "from": "azure-noreply@microsoft.com",
                    "subject": f"Provisioning for {self.directory.app(app_id)['displayName']} "
                    "is in quarantine",
                    "reason": reason,
                }
            )
        self.state.update_job(
            app_id,
            status=status,
            quarantine={
                "reason": reason,
                "detail": detail,
                "since": since,
                "attempt": attempt,
                "nextAttemptAt": next_at,
            },
            nextCycleAt=next_at,
            lastError=detail,
            notifications=notifications,
        )

    def _finish(self, cycle: Cycle, high: int) -> dict:
        app_id = cycle.app["id"]
        job = self.state.job(app_id)
        s = cycle.settings
        summary = self._summary(cycle, status="success" if not cycle.failures else "partial")
        fields: dict[str, Any] = {
            "watermark": high,
            "initialPending": False,
            "lastCycle": summary,
            "cycleCount": job["cycleCount"] + 1,
            "allowDeletes": False,
            "stagedDeletes": [],
            "lastError": None if not cycle.failures else f"{cycle.failures} objects failed and were escrowed",
        }
        escrow_quarantine = cycle.failures >= s["escrowMinimumFailures"] and (
            cycle.failures / max(cycle.processed, 1) > s["escrowFailureProportion"]
        )
        if escrow_quarantine:
            self.state.update_job(app_id, **fields)
            self._quarantine(
                app_id,
                self.state.job(app_id),
                "EncounteredEscrowProportionThreshold",
                f"{cycle.failures} of {cycle.processed} objects failed",
            )
        else:
            if job["status"] == "Quarantine":
                fields.update(status="Active", quarantine=None)  # a good cycle lifts it (§1.8)
            if job["status"] in ("Active", "Quarantine"):
                fields["nextCycleAt"] = self._next_cycle_at()
            self.state.update_job(app_id, **fields)
        self.on_change()
        return summary

    def _summary(self, cycle: Cycle, *, status: str, error: dict | None = None) -> dict:
        by_action: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for key, n in cycle.counts.items():
            action, result = key.split(":")
            by_action[action] = by_action.get(action, 0) + n
            by_status[result] = by_status.get(result, 0) + n
        return {
            "cycleId": cycle.cycle_id,
            "initial": cycle.initial,
            "status": status,
            "startedAt": cycle.started_at,
            "endedAt": self.clock.timestamp(),
            "durationMs": round((time.perf_counter() - cycle.started) * 1000),
            "objectsProcessed": cycle.processed,
            "requests": cycle.client.request_count,
            "byAction": by_action,
            "byStatus": by_status,
            "error": error,
        }

    def _next_cycle_at(self) -> str | None:
        return None if self.cycle_interval is None else format_instant(self.clock.now() + self.cycle_interval)


@dataclass
class Plan:
    """One object's decision for this cycle."""

    kind: str
    obj: dict
    action: str
    source: dict
    desired: dict
    record: dict | None
    scope: Scope
    log_skip: bool = True


def _link(record: dict | None) -> Link | None:
    if record is None:
        return None
    return Link(record.get("targetId"), record.get("managed", True), record.get("exportedActive"))


def _target(record: dict | None) -> str | None:
    return record.get("targetId") if record else None


def _step(kind: str, name: str, status: str, description: str, details: dict) -> dict:
    return build_step(kind, status=status, name=name, description=description, details=details)


def _import_step(plan: Plan) -> dict:
    shown = {k: v for k, v in plan.source.items() if k not in ("passwordHash", "changeSeq", "members")}
    return _step(
        "import",
        f"Import {plan.kind.lower()}",
        "success",
        f"Retrieved {plan.obj.get('displayName', plan.obj['id'])} from Microsoft Entra ID",
        shown,
    )


def _scoping_step(plan: Plan) -> dict:
    s = plan.scope
    details = {
        "Active in source system": s.active_in_source and not s.soft_deleted,
        "Assigned to application": s.assigned,
        "Scope sync all": s.sync_all,
    }
    verdict = "in scope" if s.in_scope else "out of scope"
    return _step(
        "scoping", "Determine if in scope", "success", f"The {plan.kind.lower()} is {verdict}", details
    )


def _export_step(method: str, body: object) -> dict:
    return _step("export", "Perform action", "success", f"{method} sent to the target", {"request": body})


def _skip_reason(plan: Plan) -> str:
    if not plan.scope.in_scope:
        return "NotEffectivelyEntitled"
    if plan.scope.soft_deleted or not plan.scope.active_in_source:
        return "NotActive"
    return "NoChange"


SKIP_TEXT = {
    "NotEffectivelyEntitled": "The object is not assigned to the application and the scope is assigned only.",
    "NotActive": "The user is disabled or deleted in Microsoft Entra ID and was never provisioned, so it "
    "is not created.",
    "NoChange": "The target already has these values; no change was needed.",
    "NotManaged": "The user was disabled when it left the scope and is no longer managed, so nothing "
    "is deleted.",
    "TooManyDeletes": "Staged: the deletions of this cycle exceed the accidental-deletion threshold.",
}


def _skip_text(code: str) -> str:
    return SKIP_TEXT.get(code, code)


def _text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    import json

    return json.dumps(value, sort_keys=True)


def _iso_duration(interval: timedelta | None) -> str | None:
    """Graph's `schedule.interval` form (§1.8): PT40M for Entra's default."""
    if interval is None:
        return None
    seconds = int(interval.total_seconds())
    hours, rest = divmod(seconds, 3600)
    minutes, secs = divmod(rest, 60)
    return (
        "PT"
        + (f"{hours}H" if hours else "")
        + (f"{minutes}M" if minutes else "")
        + (f"{secs}S" if secs or not seconds else "")
    )


def connection_message(exc: ScimClientError, url: str) -> str:
    """What the portal says when Test Connection fails (§1.2, §4.1)."""
    if exc.code in CREDENTIAL_CODES:
        return (
            "You appear to have entered invalid credentials. The Tenant URL answered "
            f"HTTP {exc.status} to Entra's probe; check the Secret Token. ({exc.reason})"
        )
    if exc.code == "NotFound":
        return (
            "SCIM compliance issue: the Users endpoint answered 404 to a query for a user that does not "
            "exist; it must answer 200 with an empty ListResponse. Check that the Tenant URL is the SCIM "
            f"base URL. ({exc.reason})"
        )
    if exc.code == "SystemForCrossDomainIdentityManagementServiceIncompatible":
        return f"The Tenant URL did not answer like a SCIM service: {exc.reason}"
    if exc.code == "Timeout":
        return f"The Tenant URL {url} did not answer in time: {exc.reason}"
    return f"Unable to connect to {url}: {exc.reason}"
