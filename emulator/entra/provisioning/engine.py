"""Entra's provisioning engine: cycles that push the directory to any SCIM Tenant URL.

One cycle follows reference entra-and-galaxy.md §1.4: probe the endpoint, import what changed
since the watermark (everything on an initial cycle), decide scope, match unlinked objects by
their matching attributes, create / update / disable / delete, resolve references (managers,
then group members), log one entry per object and action, and save the watermark. Failures of
one object are escrowed and retried in later cycles with back-off; credential failures and
too many failures quarantine the job (§1.8); too many deletions stop the cycle (§1.7).

This module holds the facade the control API, the CLI and the scheduler call, and the cycle's
orchestration and how it ends; `planning` decides each object, `exporter` sends it,
`bookkeeping` records it, `quarantine` says when the job stops and retries, `connection` is
Test Connection, `on_demand` provisions one object now and `reporting` words what people read.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import aiohttp

from emulator.clock import Clock, format_instant
from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning import on_demand, planning
from emulator.entra.provisioning.bookkeeping import Bookkeeper
from emulator.entra.provisioning.connection import CREDENTIAL_CODES, check_connection, connection_message
from emulator.entra.provisioning.cycle import Cycle, Outcome, Plan, open_cycle, target_of
from emulator.entra.provisioning.errors import ProvisioningError
from emulator.entra.provisioning.exporter import Exporter
from emulator.entra.provisioning.logs import ProvisioningLogs
from emulator.entra.provisioning.planner import Scope
from emulator.entra.provisioning.quarantine import deletions_blocked, quarantine_fields, too_many_failures
from emulator.entra.provisioning.quirks import parse_tenant_url
from emulator.entra.provisioning.reporting import SYSTEM, iso_duration
from emulator.entra.provisioning.scim_client import ScimClientError
from emulator.entra.provisioning.settings import default_settings, merge_settings, public_settings
from emulator.entra.provisioning.state import ProvisioningState

__all__ = ["ENTRA_INTERVAL", "ProvisioningEngine", "ProvisioningError", "connection_message"]

ENTRA_INTERVAL = timedelta(minutes=40)  # "every ~40 minutes; not configurable" (§1.8)


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
        self._running: dict[str, Cycle] = {}

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
            "interval": iso_duration(self.cycle_interval),
            "cycleCount": job["cycleCount"],
            "initialCycleCompleted": not job["initialPending"],
            "stagedDeletes": job["stagedDeletes"],
            "escrowedObjects": len(self.state.escrowed(app["id"])),
            "provisionedObjects": sum(1 for r in self.state.records(app["id"]) if r.get("targetId")),
            "lastError": job["lastError"],
            "runningCycle": running.progress() if (running := self._running.get(app["id"])) else None,
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
        return await check_connection(settings, url, token, session=self.session, clock=self.clock)

    # -- cycles --------------------------------------------------------------------------------

    def lock(self, app_id: str) -> asyncio.Lock:
        """The lock that keeps one app's cycles and provisioning on demand from overlapping."""
        return self._locks.setdefault(app_id, asyncio.Lock())

    async def run_cycle(self, app_id: str) -> dict:
        """Run one cycle now (initial or incremental, whichever is due); returns its summary."""
        app = self.directory.app(app_id)
        async with self.lock(app["id"]):
            try:
                return await self._run(app)
            finally:
                self._running.pop(app["id"], None)

    async def _run(self, app: dict) -> dict:
        settings = self.settings(app["id"])
        if settings["mode"] != "Automatic" or not settings["tenantUrl"]:
            raise ProvisioningError(
                "provisioning is not configured: set mode Automatic with a Tenant URL", 409
            )
        job = self.state.job(app["id"])
        self.directory.purge_expired()
        _, mode = parse_tenant_url(settings["tenantUrl"])
        cycle = open_cycle(
            app,
            job,
            settings,
            session=self.session,
            clock=self.clock,
            initial=job["initialPending"],
            mode=mode,
        )
        self._running[app["id"]] = cycle
        try:
            await cycle.client.probe()  # Entra probes at the start of every run too (§4.1)
        except ScimClientError as exc:
            return self._abort(cycle, job, exc)
        high = self.directory.change_seq
        directory, state = self.directory, self.state
        watermark = 0 if cycle.initial else job["watermark"]
        users, groups, purged = planning.candidates(cycle, watermark, directory, state, self.clock)
        user_plans = [planning.plan_user(cycle, u, directory, state) for u in users]
        group_plans = [planning.plan_group(cycle, g, directory, state) for g in groups]
        purge_plans = [p for p in (planning.plan_purged(cycle, d, state) for d in purged) if p]
        deletions = [
            p for p in (*user_plans, *group_plans, *purge_plans) if p.action in ("disable", "delete")
        ]
        if deletions_blocked(cycle, job, len(deletions)):
            return self._stage_deletes(cycle, deletions)
        cycle.planned = sum(
            1 for p in (*user_plans, *group_plans, *purge_plans) if p.action != "skip" or p.log_skip
        )
        exporter = Exporter(cycle, state)
        books = Bookkeeper(cycle, state, directory, self.logs, self.clock)
        await books.export_all(
            [p for p in user_plans if p.action != "skip" or p.log_skip], exporter.export_user
        )
        await books.export_all([p for p in purge_plans if p.kind == "User"], exporter.export_purged)
        planned = {p.obj["id"] for p in group_plans}
        for user_id in sorted(cycle.relinked):
            for group in directory.groups_of(user_id):
                if group["id"] not in planned:
                    planned.add(group["id"])
                    group_plans.append(planning.plan_group(cycle, group, directory, state))
        await books.export_all(
            [p for p in user_plans if p.action in ("create", "update")], exporter.resolve_manager
        )
        await books.export_all(
            [p for p in group_plans if p.action != "skip" or p.log_skip], exporter.export_group
        )
        await books.export_all([p for p in purge_plans if p.kind == "Group"], exporter.export_purged)
        return self._finish(cycle, high)

    # -- provision on demand and planning ------------------------------------------------------

    async def provision_on_demand(self, app_id: str, object_id: str) -> dict:
        """Provision one user, or one group of at most five members, now (§1.9)."""
        return await on_demand.provision_on_demand(self, app_id, object_id)

    def scope_of_user(self, app_id: str, user: dict, settings: dict) -> Scope:
        return planning.scope_of_user(self.directory, app_id, user, settings)

    # -- end of a cycle ------------------------------------------------------------------------

    def _abort(self, cycle: Cycle, job: dict, exc: ScimClientError) -> dict:
        """The start-of-cycle probe failed: quarantine on bad credentials (§1.8), otherwise the
        whole cycle fails and runs again at the next interval; nothing is lost either way."""
        app_id = cycle.app["id"]
        if exc.code in CREDENTIAL_CODES:
            self._quarantine(app_id, job, "EncounteredQuarantineException", exc.reason)
            status = "quarantined"
        else:
            status = "failed"
        summary = cycle.summary(
            status=status,
            ended_at=self.clock.timestamp(),
            error={"errorCode": exc.code, "reason": exc.reason},
        )
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
        books = Bookkeeper(cycle, self.state, self.directory, self.logs, self.clock)
        for plan in deletions:
            outcome = Outcome(
                "stagedDelete", "skipped", target_id=target_of(plan.record), error_code="TooManyDeletes"
            )
            cycle.tally("stagedDelete", "skipped")
            books.log(plan, outcome, 0, initiator=SYSTEM)
        app_id = cycle.app["id"]
        job = self.state.job(app_id)
        self._quarantine(
            app_id,
            job,
            "TooManyDeletes",
            f"{len(deletions)} deletions exceed the accidental-deletion threshold of "
            f"{cycle.settings['accidentalDeletionThreshold']}; review them and choose Allow deletes",
        )
        summary = cycle.summary(status="stopped", ended_at=self.clock.timestamp())
        self.state.update_job(
            app_id,
            lastCycle=summary,
            stagedDeletes=[p.obj["id"] for p in deletions],
            cycleCount=job["cycleCount"] + 1,
        )
        self.on_change()
        return summary

    def _quarantine(self, app_id: str, job: dict, reason: str, detail: str) -> None:
        def app_name() -> str:
            return self.directory.app(app_id)["displayName"]

        self.state.update_job(app_id, **quarantine_fields(job, reason, detail, self.clock.now(), app_name))

    def _finish(self, cycle: Cycle, high: int) -> dict:
        app_id = cycle.app["id"]
        job = self.state.job(app_id)
        summary = cycle.summary(
            status="success" if not cycle.failures else "partial", ended_at=self.clock.timestamp()
        )
        fields: dict[str, Any] = {
            "watermark": high,
            "initialPending": False,
            "lastCycle": summary,
            "cycleCount": job["cycleCount"] + 1,
            "allowDeletes": False,
            "stagedDeletes": [],
            "lastError": None if not cycle.failures else f"{cycle.failures} objects failed and were escrowed",
        }
        if too_many_failures(cycle):
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

    def _next_cycle_at(self) -> str | None:
        return None if self.cycle_interval is None else format_instant(self.clock.now() + self.cycle_interval)
