"""One provisioning cycle as plain data: its identity and tallies, each object's plan and what
exporting it did."""

from __future__ import annotations

import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import aiohttp

from emulator.clock import Clock
from emulator.entra.provisioning.mappings import AttributeMapping
from emulator.entra.provisioning.planner import Scope
from emulator.entra.provisioning.quirks import WireMode
from emulator.entra.provisioning.scim_client import ScimClient, ScimClientError
from emulator.entra.provisioning.settings import parse_mappings


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
    planned: int = 0  # objects this cycle will export, known once it has planned
    # Users that became (or stopped being) linked and managed in this cycle: their groups'
    # member lists must be reconsidered even if the groups themselves did not change.
    relinked: set[str] = field(default_factory=set)

    def tally(self, action: str, status: str) -> None:
        key = f"{action}:{status}"
        self.counts[key] = self.counts.get(key, 0) + 1
        self.processed += 1
        if status == "failure":
            self.failures += 1

    def progress(self) -> dict:
        """How far a running cycle is, for the CLI's progress bar and the portal's status."""
        return {
            "cycleId": self.cycle_id,
            "initial": self.initial,
            "startedAt": self.started_at,
            "planned": self.planned,
            "processed": self.processed,
            "elapsedMs": round((time.perf_counter() - self.started) * 1000),
        }

    def summary(self, *, status: str, ended_at: str, error: dict | None = None) -> dict:
        """The cycle's summary, as the job's `lastCycle` and the run-cycle API answer show it."""
        by_action: dict[str, int] = {}
        by_status: dict[str, int] = {}
        for key, n in self.counts.items():
            action, result = key.split(":")
            by_action[action] = by_action.get(action, 0) + n
            by_status[result] = by_status.get(result, 0) + n
        return {
            "cycleId": self.cycle_id,
            "initial": self.initial,
            "status": status,
            "startedAt": self.started_at,
            "endedAt": ended_at,
            "durationMs": round((time.perf_counter() - self.started) * 1000),
            "objectsProcessed": self.processed,
            "requests": self.client.request_count,
            "byAction": by_action,
            "byStatus": by_status,
            "error": error,
        }


def open_cycle(
    app: dict,
    job: dict,
    settings: dict,
    *,
    session: Callable[[], aiohttp.ClientSession],
    clock: Clock,
    initial: bool,
    mode: WireMode,
) -> Cycle:
    """A new cycle of `app`'s job, with a SCIM client for the saved Tenant URL and the parsed
    attribute mappings of `settings`."""
    return Cycle(
        app=app,
        job_id=job["jobId"],
        cycle_id=str(uuid.uuid4()),
        initial=initial,
        mode=mode,
        client=ScimClient(
            session(),
            settings["tenantUrl"],
            settings["secretToken"],
            clock=clock,
            timeout=settings["requestTimeoutSeconds"],
        ),
        user_maps=parse_mappings(settings["userMappings"], "userMappings"),
        group_maps=parse_mappings(settings["groupMappings"], "groupMappings"),
        settings=settings,
        started_at=clock.timestamp(),
    )


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


def target_of(record: dict | None) -> str | None:
    """The target id a sync record links to, if any."""
    return record.get("targetId") if record else None
