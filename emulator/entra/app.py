"""Microsoft Entra's state for one data folder: the tenant directory and its provisioning."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta

import aiohttp
from aiohttp import web

from emulator.clock import Clock
from emulator.entra.directory import EntraDirectory
from emulator.entra.provisioning.engine import ProvisioningEngine
from emulator.entra.provisioning.logs import ProvisioningLogs
from emulator.entra.provisioning.scheduler import Scheduler
from emulator.entra.provisioning.state import ProvisioningState
from emulator.store import Store


@dataclass
class Entra:
    """What Entra's handlers share; hung on the app under `ENTRA`."""

    directory: EntraDirectory
    engine: ProvisioningEngine
    logs: ProvisioningLogs
    scheduler: Scheduler


ENTRA = web.AppKey("entra", Entra)


def build_entra(
    store: Store,
    clock: Clock,
    session: Callable[[], aiohttp.ClientSession],
    *,
    cycle_interval: timedelta | None,
) -> Entra:
    directory = EntraDirectory(store, clock)
    logs = ProvisioningLogs(store, clock)
    engine = ProvisioningEngine(
        ProvisioningState(store), directory, logs, clock, session, cycle_interval=cycle_interval
    )
    scheduler = Scheduler(engine, clock)
    engine.on_change = scheduler.wake
    return Entra(directory, engine, logs, scheduler)
