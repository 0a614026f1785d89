"""What the engine writes for people to read: provisioning-log steps and entries, skip reasons
and their texts, and Graph's ISO durations."""

from __future__ import annotations

import json
from datetime import timedelta

from emulator.entra.provisioning.cycle import Cycle, Outcome, Plan
from emulator.entra.provisioning.logs import build_entry, build_step

SYSTEM = ("system", "Microsoft Entra provisioning service")


def step(kind: str, name: str, status: str, description: str, details: dict) -> dict:
    return build_step(kind, status=status, name=name, description=description, details=details)


def import_step(plan: Plan) -> dict:
    shown = {k: v for k, v in plan.source.items() if k not in ("passwordHash", "changeSeq", "members")}
    return step(
        "import",
        f"Import {plan.kind.lower()}",
        "success",
        f"Retrieved {plan.obj.get('displayName', plan.obj['id'])} from Microsoft Entra ID",
        shown,
    )


def scoping_step(plan: Plan) -> dict:
    s = plan.scope
    details = {
        "Active in source system": s.active_in_source and not s.soft_deleted,
        "Assigned to application": s.assigned,
        "Scope sync all": s.sync_all,
    }
    verdict = "in scope" if s.in_scope else "out of scope"
    return step(
        "scoping", "Determine if in scope", "success", f"The {plan.kind.lower()} is {verdict}", details
    )


def export_step(method: str, body: object) -> dict:
    return step("export", "Perform action", "success", f"{method} sent to the target", {"request": body})


def skip_reason(plan: Plan) -> str:
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


def skip_text(code: str) -> str:
    return SKIP_TEXT.get(code, code)


def value_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, sort_keys=True)


def log_entry(
    cycle: Cycle,
    plan: Plan,
    outcome: Outcome,
    duration_ms: float,
    *,
    tenant_id: str,
    initiator: tuple[str, str],
) -> dict:
    """The provisioning-log entry of one object and action in `cycle`."""
    name = plan.obj.get("displayName") or plan.obj.get("userPrincipalName") or plan.obj["id"]
    failed = outcome.status in ("failure", "skipped") and outcome.error_code
    error = outcome.error
    return build_entry(
        app_id=cycle.app["id"],
        app_name=cycle.app["displayName"],
        application_id=cycle.app["appId"],
        tenant_id=tenant_id,
        job_id=cycle.job_id,
        cycle_id=cycle.cycle_id,
        action=outcome.action,
        status=outcome.status,
        error_code=outcome.error_code if failed else None,
        reason=(error.reason if error else skip_text(outcome.error_code)) if failed else None,
        additional_details=value_text(error.response.body) if error and error.response else None,
        identity_type=plan.kind,
        source_id=plan.obj["id"],
        source_display_name=name,
        target_id=outcome.target_id or "",
        target_display_name=name,
        initiator_type=initiator[0],
        initiator_name=initiator[1],
        modified_properties=outcome.modified,
        steps=outcome.steps or [step("export", "Perform action", outcome.status, outcome.action, {})],
        duration_ms=round(duration_ms),
    )


def iso_duration(interval: timedelta | None) -> str | None:
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
