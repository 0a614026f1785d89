"""Runs provisioning cycles when they are due, by the emulator's clock.

With the system clock it sleeps until the next due cycle (waking early when a job starts, stops
or the clock is advanced); with a manual clock it only wakes when poked, so a test advances the
clock and the due cycles run, without sleeping.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from emulator.clock import Clock, parse_instant
from emulator.entra.provisioning.engine import ProvisioningEngine

log = logging.getLogger(__name__)
MAX_NAP = 30.0


class Scheduler:
    """One background task for every job of the tenant."""

    def __init__(self, engine: ProvisioningEngine, clock: Clock) -> None:
        self.engine = engine
        self.clock = clock
        self._wake = asyncio.Event()
        self._idle = asyncio.Event()
        self._idle.set()

    def wake(self) -> None:
        """Re-read the jobs now (a job started or stopped, or the clock moved)."""
        self._wake.set()

    async def settle(self) -> None:
        """Wait until every cycle that is due by the clock has run (for tests and the CLI)."""
        self.wake()
        await asyncio.sleep(0)
        while not self._idle.is_set() or self._due():
            await asyncio.sleep(0.01)

    def _due(self) -> list[str]:
        now = self.clock.now()
        return [app for app, at in self.engine.due_jobs() if parse_instant(at) <= now]

    async def run(self) -> None:
        while True:
            self._wake.clear()
            due = self._due()
            if due:
                self._idle.clear()
                for app_id in due:
                    try:
                        await self.engine.run_cycle(app_id)
                    except Exception:  # one job's failure must not stop the others' schedule
                        log.exception("provisioning cycle for app %s failed", app_id)
                        self.engine.state.update_job(
                            app_id, nextCycleAt=None, lastError="the cycle crashed; see the log"
                        )
                self._idle.set()
                continue
            await self._nap()

    async def _nap(self) -> None:
        timeout: float | None = None
        if not self.clock.manual:
            upcoming = [parse_instant(at) for _, at in self.engine.due_jobs()]
            if upcoming:
                timeout = min(max((min(upcoming) - self.clock.now()).total_seconds(), 0.0), MAX_NAP)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._wake.wait(), timeout)
