"""When a job stops and retries (reference §1.7, §1.8): the quarantine back-off and the
thresholds that stop a cycle, as plain functions of the job, the cycle and the time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta

from emulator.clock import format_instant, parse_instant
from emulator.entra.provisioning.cycle import Cycle

# Quarantine back-off (§1.8): retries at +6 h, +12 h, +24 h, then every 24 h for 28 days.
QUARANTINE_STEPS = (timedelta(hours=6), timedelta(hours=12), timedelta(hours=24))
QUARANTINE_LIMIT = timedelta(days=28)


def quarantine_fields(
    job: dict, reason: str, detail: str, now: datetime, app_name: Callable[[], str]
) -> dict:
    """The job fields that put it in quarantine for `reason`, or disable it after four weeks;
    `app_name` is read only for the notification that starts a quarantine."""
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
                "subject": f"Provisioning for {app_name()} is in quarantine",
                "reason": reason,
            }
        )
    return {
        "status": status,
        "quarantine": {
            "reason": reason,
            "detail": detail,
            "since": since,
            "attempt": attempt,
            "nextAttemptAt": next_at,
        },
        "nextCycleAt": next_at,
        "lastError": detail,
        "notifications": notifications,
    }


def too_many_failures(cycle: Cycle) -> bool:
    """The escrow threshold (§1.8): enough failures, and too large a share of the objects."""
    s = cycle.settings
    return cycle.failures >= s["escrowMinimumFailures"] and (
        cycle.failures / max(cycle.processed, 1) > s["escrowFailureProportion"]
    )


def deletions_blocked(cycle: Cycle, job: dict, deletions: int) -> bool:
    """The accidental-deletion threshold (§1.7): too many deletions, not yet allowed."""
    s = cycle.settings
    if not s["preventAccidentalDeletion"] or deletions <= s["accidentalDeletionThreshold"]:
        return False
    return not job["allowDeletes"]
