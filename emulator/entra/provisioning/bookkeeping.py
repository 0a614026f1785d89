"""The bookkeeping of each exported object: its outcome tallied, its escrow when it failed and
its provisioning-log entry (reference §1.4, §1.8)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import timedelta

from emulator.clock import Clock, format_instant
from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning.cycle import Cycle, Outcome, Plan
from emulator.entra.provisioning.logs import ProvisioningLogs
from emulator.entra.provisioning.reporting import SYSTEM, log_entry
from emulator.entra.provisioning.scim_client import ScimClientError
from emulator.entra.provisioning.state import ProvisioningState

Export = Callable[[Plan], Awaitable[Outcome | None]]


@dataclass
class Bookkeeper:
    """Runs the exports of one cycle and books what each did."""

    cycle: Cycle
    state: ProvisioningState
    directory: EntraDirectory
    logs: ProvisioningLogs
    clock: Clock

    async def export_all(self, plans: list[Plan], export: Export) -> None:
        """Export `plans`, at most the `concurrency` setting at a time."""
        gate = asyncio.Semaphore(self.cycle.settings["concurrency"])

        async def one(plan: Plan) -> None:
            async with gate:
                started = time.perf_counter()
                try:
                    outcome = await export(plan)
                except ScimClientError as exc:
                    outcome = Outcome(plan.action, "failure", error=exc, error_code=exc.code)
                if outcome is None:
                    return
                self.book(plan, outcome, (time.perf_counter() - started) * 1000)

        await asyncio.gather(*(one(p) for p in plans))

    def book(
        self, plan: Plan, outcome: Outcome, duration_ms: float, initiator: tuple[str, str] = SYSTEM
    ) -> dict:
        """Escrow a failure, tally the outcome and log it; returns the log entry."""
        if outcome.status == "failure":
            self.escrow(self.cycle.app["id"], plan, outcome)
        self.cycle.tally(outcome.action, outcome.status)
        return self.log(plan, outcome, duration_ms, initiator=initiator)

    def escrow(self, app_id: str, plan: Plan, outcome: Outcome) -> None:
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

    def log(self, plan: Plan, outcome: Outcome, duration_ms: float, *, initiator: tuple[str, str]) -> dict:
        """Record the provisioning-log entry of one object and action."""
        entry = log_entry(
            self.cycle,
            plan,
            outcome,
            duration_ms,
            tenant_id=self.directory.tenant["id"],
            initiator=initiator,
        )
        return self.logs.record(entry)
