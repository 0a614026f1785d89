"""An enterprise app's provisioning settings, as the portal's Provisioning blade edits them.

The Secret Token is kept (the engine must send it) but never shown back whole. Saving changed
mappings or scope forces a new initial cycle, as in Entra (reference entra-and-galaxy.md §1.4).
Facts the reference marks [U] are settings here, with the emulator's choice as the default.
"""

from __future__ import annotations

import copy
from typing import Any

from emulator.entra.provisioning.mappings import (
    AttributeMapping,
    MappingError,
    default_group_mappings,
    default_user_mappings,
    mappings_from_json,
)
from emulator.entra.provisioning.quirks import parse_tenant_url

MODES = ("Manual", "Automatic")
SCOPES = ("assigned", "all")
GROUP_OUT_OF_SCOPE = ("delete", "none")

# Everything but the mappings, with defaults; the keys are the JSON names.
DEFAULTS: dict[str, Any] = {
    "mode": "Manual",
    "tenantUrl": None,
    "secretToken": None,
    "scope": "assigned",  # "Sync only assigned users and groups" is the portal's default
    "provisionUsers": True,
    "provisionGroups": True,
    "preventAccidentalDeletion": True,
    "accidentalDeletionThreshold": 500,  # the portal's default threshold (S8)
    "skipOutOfScopeDeletions": False,
    # [U] When Entra deletes a group is only shown in a diagram (reference §1.6 "Delete group").
    "groupOutOfScopeAction": "delete",
    # Escrow quarantine rule (§1.8): evaluated after this many failures, at this proportion.
    "escrowMinimumFailures": 5000,
    "escrowFailureProportion": 0.4,
    # [U] How many members Entra puts in one PATCH: the checklist only says "several" (§1.6).
    "memberBatchSize": 50,
    "requestTimeoutSeconds": 30.0,
    # Objects exported at the same time; Entra's own parallelism is not documented [U].
    "concurrency": 4,
}
SCOPE_KEYS = ("scope", "provisionUsers", "provisionGroups", "userMappings", "groupMappings")


class SettingsError(ValueError):
    """A setting the portal would refuse to save; the message names the field."""


def default_settings() -> dict:
    return {
        **copy.deepcopy(DEFAULTS),
        "userMappings": [m.to_json() for m in default_user_mappings()],
        "groupMappings": [m.to_json() for m in default_group_mappings()],
    }


def merge_settings(current: dict, changes: dict) -> tuple[dict, bool]:
    """Validate `changes` on top of `current`; returns the new settings and whether the change
    forces a new initial cycle (mappings or scope changed)."""
    if not isinstance(changes, dict):
        raise SettingsError("provisioning settings must be a JSON object")
    unknown = sorted(set(changes) - set(DEFAULTS) - {"userMappings", "groupMappings"})
    if unknown:
        known = ", ".join([*DEFAULTS, "userMappings", "groupMappings"])
        raise SettingsError(f"unknown setting(s): {', '.join(unknown)}; known: {known}")
    merged = {**current, **changes}
    _check(merged)
    for key in ("userMappings", "groupMappings"):
        if key in changes:
            merged[key] = [m.to_json() for m in parse_mappings(changes[key], key)]
    reinitialise = any(key in changes and changes[key] != current.get(key) for key in SCOPE_KEYS)
    return merged, reinitialise


def parse_mappings(raw: object, field: str) -> list[AttributeMapping]:
    """Parse a mapping list; a bad expression is an error now, not during a cycle."""
    try:
        return mappings_from_json(raw, kind="user" if field == "userMappings" else "group", field_name=field)
    except MappingError as exc:
        raise SettingsError(str(exc)) from None


def _check(s: dict) -> None:
    _one_of(s, "mode", MODES)
    _one_of(s, "scope", SCOPES)
    _one_of(s, "groupOutOfScopeAction", GROUP_OUT_OF_SCOPE)
    for key in ("provisionUsers", "provisionGroups", "preventAccidentalDeletion", "skipOutOfScopeDeletions"):
        if not isinstance(s[key], bool):
            raise SettingsError(f"{key} must be true or false")
    for key, low in (
        ("accidentalDeletionThreshold", 1),
        ("escrowMinimumFailures", 1),
        ("memberBatchSize", 1),
        ("concurrency", 1),
    ):
        if isinstance(s[key], bool) or not isinstance(s[key], int) or s[key] < low:
            raise SettingsError(f"{key} must be a whole number of at least {low}")
    proportion = s["escrowFailureProportion"]
    if isinstance(proportion, bool) or not isinstance(proportion, int | float) or not 0 < proportion <= 1:
        raise SettingsError("escrowFailureProportion must be a number above 0 and at most 1")
    timeout = s["requestTimeoutSeconds"]
    if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not 0 < timeout <= 300:
        raise SettingsError("requestTimeoutSeconds must be a number of seconds above 0 and at most 300")
    if s["tenantUrl"] is not None:
        if not isinstance(s["tenantUrl"], str):
            raise SettingsError("tenantUrl must be a URL string")
        try:
            parse_tenant_url(s["tenantUrl"])
        except ValueError as exc:
            raise SettingsError(f"tenantUrl: {exc}") from None
    if s["secretToken"] is not None and not isinstance(s["secretToken"], str):
        raise SettingsError("secretToken must be a string")
    if s["mode"] == "Automatic" and not s["tenantUrl"]:
        raise SettingsError("Automatic provisioning needs a Tenant URL (tenantUrl)")


def _one_of(s: dict, key: str, allowed: tuple[str, ...]) -> None:
    if s[key] not in allowed:
        raise SettingsError(f"{key} must be one of {', '.join(allowed)}, not {s[key]!r}")


def public_settings(s: dict) -> dict:
    """The settings as the portal shows them: the Secret Token masked."""
    out = dict(s)
    token = s.get("secretToken")
    out["secretToken"] = None if not token else "•" * 8 + token[-4:] if len(token) > 12 else "•" * 8
    return out
