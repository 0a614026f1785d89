"""What the engine should do with one object, decided from plain data (no I/O).

Reference entra-and-galaxy.md §1.4 and §1.7: in-scope, enabled users are matched then created or
updated; users that fall out of scope, are blocked or soft-deleted are disabled (never created
while disabled); only a hard delete is sent as DELETE; null source values are never sent and
never cleared. Entra's `IsSoftDeleted` is true for a user that is soft-deleted, blocked or out of
scope, which is how the default `active` mapping turns all three into `active: "False"`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from emulator.entra.provisioning.quirks import Change, same_value

ACTIVE = "active"


@dataclass(frozen=True)
class Scope:
    """Why an object is in or out of the job's scope, as on-demand step 3 shows it (§1.9)."""

    assigned: bool
    sync_all: bool
    active_in_source: bool
    soft_deleted: bool

    @property
    def in_scope(self) -> bool:
        return self.assigned or self.sync_all


def user_source(user: Mapping[str, Any], scope: Scope) -> dict[str, Any]:
    """The attributes mappings read for one user, including Entra's computed ones."""
    source = dict(user)
    source["objectId"] = user["id"]
    deprovisioned = scope.soft_deleted or not scope.active_in_source or not scope.in_scope
    source["IsSoftDeleted"] = "True" if deprovisioned else "False"
    return source


def group_source(group: Mapping[str, Any]) -> dict[str, Any]:
    return {**group, "objectId": group["id"]}


def is_active(values: Mapping[str, Any]) -> bool:
    """Whether mapped values describe an active target user; no `active` mapping means active."""
    value = values.get(ACTIVE)
    if value is None:
        return True
    return str(value).lower() == "true"


def changes_between(desired: Mapping[str, Any], exported: Mapping[str, Any]) -> list[Change]:
    """One change per target attribute whose desired value differs from what was exported;
    a null desired value is skipped, never cleared (§1.4, S7)."""
    return [
        Change(path, exported.get(path), value)
        for path, value in desired.items()
        if value is not None and not same_value(path, value, exported.get(path))
    ]


@dataclass(frozen=True)
class Link:
    """What the engine remembers of one provisioned object (its sync state)."""

    target_id: str | None
    managed: bool
    exported_active: bool | None


def decide_user(
    link: Link | None,
    desired_active: bool,
    *,
    purged: bool,
    out_of_scope: bool,
    skip_out_of_scope_deletions: bool,
    disable_mapped: bool,
) -> str:
    """One of create, update, disable, delete, skip (§1.7 table)."""
    linked = link is not None and link.target_id is not None
    if purged:
        return "delete" if linked and link.managed else "skip"
    if not desired_active:
        if not linked or not link.managed or link.exported_active is False:
            return "skip"  # disabled Entra users are never created; disabling twice sends nothing
        if not disable_mapped or (out_of_scope and skip_out_of_scope_deletions):
            return "skip"
        return "disable"
    return "update" if linked else "create"


def decide_group(linked: bool, in_scope: bool, *, purged: bool, out_of_scope_action: str) -> str:
    if purged or not in_scope:
        return "delete" if linked and (purged or out_of_scope_action == "delete") else "skip"
    return "update" if linked else "create"


def member_changes(desired: list[str], exported: list[str]) -> tuple[list[str], list[str]]:
    """Target member ids to add and to remove, in a stable order."""
    have = set(exported)
    want = set(desired)
    return [m for m in desired if m not in have], [m for m in exported if m not in want]
