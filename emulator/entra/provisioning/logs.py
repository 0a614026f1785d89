"""Entra's provisioning logs: one entry per object and action, queryable and exportable.

Why this shape: a person debugging their SCIM server against the emulator should read the same
record Entra would show them in the portal or return from Microsoft Graph
(`GET /auditLogs/provisioning`), so an entry is a Graph `provisioningObjectSummary` (reference
entra-and-galaxy.md §1.10, S12) with Graph's property names, enum spellings and key order. The
engine builds entries with `build_entry` and `ProvisioningLogs.record`s them; the control API, the
CLI and the web pages read them back with `ProvisioningLogs.query`, `to_json`, `to_csv` and
`summarize_cycle`.

Nulls and strings. Graph types every value an entry reports about a directory object as a string
(`modifiedProperties[].oldValue`, `detailsInfo` maps), so values are converted on the way in:
booleans become "True"/"False" (the .NET spelling Graph's own examples and Entra's expressions
use), numbers their decimal text, lists a comma-separated string, other objects compact JSON. The
rule for absent values, applied everywhere:

* a value Graph reports as possibly absent is JSON null: `modifiedProperties[].oldValue` /
  `newValue` (the portal shows a blank cell: "If there's no old value, that column is blank"),
  `provisioningStatusInfo.errorInformation` when there is no error, and the optional members of
  `errorInformation` (`additionalDetails`, `recommendedAction`, ...);
* identifiers, display names and every value of a `details` map are always strings, "" when
  unknown (Graph's examples show `"id": ""` for a target object not yet created).

Storage. Entries are plain documents in the `entra_provisioning_logs` table, exactly as Graph
shapes them; the app they belong to is `servicePrincipal.id`, so several apps share the table.
`record` is O(1) (one journal line and three index updates); expired entries are swept by
`purge_expired`, which `record` runs at most once per hour of clock time, so the sweep's O(n)
cost is paid a few times a day at most, never per entry. Entra keeps the logs 30 days on premium
tenants and 7 on free ones (reference §1.10, S11), hence the `retention_days` setting.

Marked [U] below: details Microsoft does not document (the portal's CSV column names, default
step names, the initiator's display name); they are constants so they can be corrected in one
place.
"""

from __future__ import annotations

import csv
import heapq
import io
import json
import uuid
from collections.abc import Iterable, Iterator, Mapping, Sequence
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

from emulator.clock import Clock, format_instant, parse_instant
from emulator.store import Store

__all__ = [
    "ACTIONS",
    "CSV_COLUMNS",
    "DEFAULT_STEP_NAMES",
    "ERROR_CATEGORIES",
    "IDENTITY_TYPES",
    "INITIATOR_TYPES",
    "KNOWN_ERRORS",
    "SOURCE_SYSTEM_NAME",
    "STATUSES",
    "STEP_TYPES",
    "SYSTEM_INITIATOR_NAME",
    "TABLE",
    "ProvisioningLogs",
    "build_entry",
    "build_step",
    "graph_string",
    "summarize_cycle",
    "to_csv",
    "to_csv_modified_properties",
    "to_csv_steps",
    "to_json",
]

TABLE = "entra_provisioning_logs"

# Graph enums (S12), in the order the portal lists them. `unknownFutureValue` is Graph's
# evolvability marker, never emitted by the service, so it is not accepted here.
ACTIONS: tuple[str, ...] = ("create", "update", "delete", "disable", "stagedDelete", "other")
STATUSES: tuple[str, ...] = ("success", "failure", "skipped", "warning")
STEP_TYPES: tuple[str, ...] = ("import", "scoping", "matching", "processing", "referenceResolution", "export")
INITIATOR_TYPES: tuple[str, ...] = ("system", "user", "application")
# provisioningErrorInfo.errorCategory (Graph v1.0 spells them camelCase; the beta docs' examples
# show "NonServiceFailure", accepted case-insensitively on input).
ERROR_CATEGORIES: tuple[str, ...] = ("failure", "nonServiceFailure", "success")
# The object types a SCIM app's provisioning handles; other strings are allowed (Graph's own
# examples have "RolesCompound", "ServicePrincipal"), these are just the ones summaries count.
IDENTITY_TYPES: tuple[str, ...] = ("User", "Group")

SOURCE_SYSTEM_NAME = "Microsoft Entra ID"
# [U] Graph's 2019 examples say "Azure AD Provisioning Service"; the product has since been renamed.
SYSTEM_INITIATOR_NAME = "Microsoft Entra Provisioning Service"

# [U] Default `provisioningStep.name` per type; Graph's examples show names such as
# "EntryImportAdd" / "EntrySynchronizationAdd" / "EntryExportAdd", so callers that know the
# action pass the exact name, and these are the fallbacks.
DEFAULT_STEP_NAMES: dict[str, str] = {
    "import": "EntryImport",
    "scoping": "EntryScoping",
    "matching": "EntrySynchronization",
    "processing": "EntryProcessing",
    "referenceResolution": "EntryReferenceResolution",
    "export": "EntryExport",
}

# Error codes the engine emits (reference §1.8, from S11), with the category and the
# recommendation `build_entry` fills in when the caller gives none. Wording is ours; the meaning
# follows Microsoft's error-code table. Every target-side error is a `nonServiceFailure` (the
# provisioning service itself did not fail); only the service's own `InternalError` is `failure`.
KNOWN_ERRORS: dict[str, tuple[str, str]] = {
    "Conflict": (
        "nonServiceFailure",
        "Resolve the conflicting attribute value in Entra ID or in the application, or fix the "
        "matching attributes if the existing account should have been matched.",
    ),
    "EntryConflict": (
        "nonServiceFailure",
        "Resolve the conflicting attribute value in Entra ID or in the application, or fix the "
        "matching attributes if the existing account should have been matched.",
    ),
    "TooManyRequests": (
        "nonServiceFailure",
        "No action needed: the application is throttling requests and the change is retried automatically.",
    ),
    "InternalServerError": (
        "nonServiceFailure",
        "The application returned a server error; the change is retried in a later cycle.",
    ),
    "Timeout": (
        "nonServiceFailure",
        "The application did not answer in time; the change is retried in a later cycle.",
    ),
    "WebExceptionProtocolError": (
        "nonServiceFailure",
        "The connection to the application failed; the change is retried in a later cycle.",
    ),
    "Unauthorized": (
        "nonServiceFailure",
        "Check the Secret Token and the permissions it grants in the application.",
    ),
    "InsufficientRights": (
        "nonServiceFailure",
        "Check the Secret Token and the permissions it grants in the application.",
    ),
    "InvalidAnchor": (
        "nonServiceFailure",
        "The object created or matched earlier no longer exists in the application; restart "
        "provisioning to match all objects again.",
    ),
    "DuplicateTargetEntries": (
        "nonServiceFailure",
        "Several objects in the application match this one; remove the duplicates or change "
        "the matching attributes.",
    ),
    "SchemaAttributeNotFound": (
        "nonServiceFailure",
        "A mapped target attribute does not exist in the application; fix the attribute mappings.",
    ),
    "SystemForCrossDomainIdentityManagementServiceIncompatible": (
        "nonServiceFailure",
        "The application's response could not be parsed as SCIM; check the SCIM endpoint's responses.",
    ),
    "InternalError": (
        "failure",
        "No action needed: an internal error of the provisioning service; the change is retried.",
    ),
}

# [U] The portal's CSV download ("ProvisioningLogs" file) is not documented column by column;
# these follow the list view's columns and filters (S10), one row per entry.
CSV_COLUMNS: tuple[str, ...] = (
    "Date",
    "ID",
    "Identity",
    "Identity type",
    "Source ID",
    "Target ID",
    "Display name",
    "Target display name",
    "Action",
    "Status",
    "Error code",
    "Error category",
    "Reason",
    "Recommended action",
    "Source system",
    "Target system",
    "Application",
    "Service principal ID",
    "Initiated by",
    "Initiator type",
    "Tenant ID",
    "Job ID",
    "Cycle ID",
    "Change ID",
    "Duration (ms)",
    "Modified properties",
)

_PURGE_EVERY = timedelta(hours=1)


# -- building entries --------------------------------------------------------------------------


def graph_string(value: Any) -> str | None:
    """`value` as Graph reports attribute values: a string, or None for "no value".

    Booleans are "True"/"False" (.NET formatting, as in Graph's examples), lists are joined with
    "," (Graph shows multi-valued values that way), other objects become compact JSON.
    """
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, bool):
        return "True" if value else "False"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, list | tuple):
        return ",".join("" if v is None else (graph_string(v) or "") for v in value)
    return json.dumps(value, separators=(",", ":"), sort_keys=True, default=str)


def build_step(
    step_type: str,
    *,
    status: str = "success",
    name: str | None = None,
    description: str = "",
    details: Mapping[str, Any] | None = None,
) -> dict:
    """One `provisioningStep`: what the Steps tab shows (import, scoping, matching, export...)."""
    step_type = _canonical(step_type, STEP_TYPES, "provisioningStepType")
    return {
        "name": name or DEFAULT_STEP_NAMES[step_type],
        "provisioningStepType": step_type,
        "status": _canonical(status, STATUSES, "step status"),
        "description": description or "",
        "details": _details(details),
    }


def build_entry(
    *,
    app_id: str,
    app_name: str = "Starburst Galaxy",
    application_id: str = "",
    tenant_id: str = "",
    job_id: str = "",
    cycle_id: str = "",
    change_id: str | None = None,
    entry_id: str | None = None,
    activity_date_time: str | datetime | None = None,
    action: str = "other",
    status: str = "success",
    error_code: str | None = None,
    reason: str | None = None,
    additional_details: str | None = None,
    error_category: str | None = None,
    recommended_action: str | None = None,
    identity_type: str = "User",
    source_id: str | None = "",
    source_display_name: str | None = "",
    source_details: Mapping[str, Any] | None = None,
    target_id: str | None = "",
    target_display_name: str | None = "",
    target_identity_type: str | None = None,
    target_details: Mapping[str, Any] | None = None,
    source_system_id: str | None = None,
    target_system_id: str | None = None,
    initiator_type: str = "system",
    initiator_id: str = "",
    initiator_name: str | None = None,
    modified_properties: Iterable[Any] | Mapping[str, Any] | None = None,
    steps: Iterable[Mapping[str, Any]] | None = None,
    duration_ms: int = 0,
) -> dict:
    """One provisioning log entry, shaped as Graph's `provisioningObjectSummary`.

    `app_id` is the enterprise app's service principal object id (what `query(app_id=...)`
    selects on); `app_name` its display name, which is also the target system's name.
    `activity_date_time` None means "when recorded": `ProvisioningLogs.record` stamps it with its
    clock, so the engine need not carry a clock around. `change_id` and `entry_id` default to new
    GUIDs (each change is unique). `initiator_type` is "system" for scheduled cycles and "user"
    for provision on demand (then pass the admin as `initiator_id` / `initiator_name`).

    `errorInformation` is present when any error field is given or the status is failure or
    warning; its category and recommended action default from `KNOWN_ERRORS`.

    `modified_properties` is either a mapping `{name: (old, new)}` or an iterable of
    `(name, old, new)` tuples or of Graph-shaped dicts; `steps` are `build_step` results (or
    Graph-shaped dicts, validated the same way). Values are converted with `graph_string`.
    Raises ValueError on an unknown action, status, step type, category or initiator type.
    """
    if not app_id:
        raise ValueError("app_id (the enterprise app's service principal id) is required")
    action = _canonical(action, ACTIONS, "provisioningAction")
    status = _canonical(status, STATUSES, "status")
    initiator_type = _canonical(initiator_type, INITIATOR_TYPES, "initiatorType")
    if isinstance(duration_ms, bool) or not isinstance(duration_ms, int) or duration_ms < 0:
        raise ValueError(f"duration_ms must be a non-negative integer, not {duration_ms!r}")
    if initiator_name is None:
        initiator_name = SYSTEM_INITIATOR_NAME if initiator_type == "system" else ""

    return {
        "id": entry_id or str(uuid.uuid4()),
        "activityDateTime": None if activity_date_time is None else _normalize_instant(activity_date_time),
        "tenantId": tenant_id,
        "jobId": job_id,
        "cycleId": cycle_id,
        "changeId": change_id or str(uuid.uuid4()),
        "provisioningAction": action,
        "durationInMilliseconds": duration_ms,
        "provisioningStatusInfo": {
            "status": status,
            "errorInformation": _error_information(
                status, error_code, reason, additional_details, error_category, recommended_action
            ),
        },
        "provisioningSteps": [_step(s) for s in steps or ()],
        "modifiedProperties": _modified_properties(modified_properties),
        "servicePrincipal": {"id": app_id, "displayName": app_name},
        "sourceSystem": {
            "id": source_system_id if source_system_id is not None else tenant_id,
            "displayName": SOURCE_SYSTEM_NAME,
            "details": {},
        },
        "targetSystem": {
            "id": target_system_id if target_system_id is not None else app_id,
            "displayName": app_name,
            "details": {
                "ApplicationId": application_id,
                "ServicePrincipalId": app_id,
                "ServicePrincipalDisplayName": app_name,
            },
        },
        "initiatedBy": {"id": initiator_id, "displayName": initiator_name, "initiatorType": initiator_type},
        "sourceIdentity": _identity(source_id, source_display_name, identity_type, source_details),
        "targetIdentity": _identity(
            target_id, target_display_name, target_identity_type or identity_type, target_details
        ),
    }


def _canonical(value: Any, valid: Sequence[str], what: str) -> str:
    """The canonical spelling of an enum value given in any case ("Create", "stageddelete")."""
    if isinstance(value, str):
        folded = value.strip().casefold()
        for candidate in valid:
            if candidate.casefold() == folded:
                return candidate
    raise ValueError(f"unknown {what} {value!r}; valid values: {', '.join(valid)}")


def _details(details: Mapping[str, Any] | None) -> dict[str, str]:
    if details is None:
        return {}
    if not isinstance(details, Mapping):
        raise ValueError(f"details must be a mapping of strings, not {type(details).__name__}")
    return {str(k): graph_string(v) or "" for k, v in details.items()}


def _identity(id_: str | None, name: str | None, identity_type: str, details: Mapping | None) -> dict:
    return {
        "id": id_ or "",
        "displayName": name or "",
        "identityType": identity_type,
        "details": _details(details),
    }


def _error_information(
    status: str,
    code: str | None,
    reason: str | None,
    additional: str | None,
    category: str | None,
    recommended: str | None,
) -> dict | None:
    if not any((code, reason, additional, category, recommended)) and status not in ("failure", "warning"):
        return None
    known = KNOWN_ERRORS.get(code or "")
    if category is None:
        if known is not None:
            category = known[0]
        else:
            category = "nonServiceFailure" if status in ("failure", "warning") else "success"
    if recommended is None and known is not None:
        recommended = known[1]
    return {
        "errorCode": code or None,
        "reason": reason or None,
        "additionalDetails": additional or None,
        "errorCategory": _canonical(category, ERROR_CATEGORIES, "errorCategory"),
        "recommendedAction": recommended or None,
    }


def _step(step: Mapping[str, Any]) -> dict:
    if not isinstance(step, Mapping):
        raise ValueError(f"a provisioning step must be a mapping (see build_step), not {step!r}")
    return build_step(
        step.get("provisioningStepType", ""),
        status=step.get("status", "success"),
        name=step.get("name"),
        description=step.get("description") or "",
        details=step.get("details"),
    )


def _modified_properties(props: Iterable[Any] | Mapping[str, Any] | None) -> list[dict]:
    if props is None:
        return []
    if isinstance(props, Mapping):
        items: list[Any] = []
        for name, pair in props.items():
            if not isinstance(pair, tuple | list) or len(pair) != 2:
                raise ValueError(f"modified property {name!r}: give (old, new), not {pair!r}")
            items.append((name, *pair))
    else:
        items = list(props)
    out = []
    for item in items:
        if isinstance(item, Mapping):
            name, old, new = item.get("displayName"), item.get("oldValue"), item.get("newValue")
        else:
            try:
                name, old, new = item
            except (TypeError, ValueError):
                raise ValueError(
                    f"a modified property is (name, old, new) or a dict with displayName, oldValue, "
                    f"newValue; got {item!r}"
                ) from None
        if not name:
            raise ValueError(f"a modified property needs a name; got {item!r}")
        out.append({"displayName": str(name), "oldValue": graph_string(old), "newValue": graph_string(new)})
    return out


def _normalize_instant(value: str | datetime, what: str = "activityDateTime") -> str:
    """`value` in the store's one format (UTC, milliseconds, "Z"), which sorts as text."""
    return format_instant(_parse_moment(value, what))


def _parse_moment(value: str | datetime, what: str) -> datetime:
    if isinstance(value, datetime):
        moment = value
    elif isinstance(value, str):
        try:
            moment = parse_instant(value.strip())
        except ValueError:
            raise ValueError(
                f"{what}: {value!r} is not an ISO-8601 date or instant "
                "(e.g. 2026-01-05 or 2026-01-05T09:00:00Z)"
            ) from None
    else:
        raise ValueError(f"{what} must be an ISO-8601 string or a datetime, not {type(value).__name__}")
    # A date or instant without a zone is taken as UTC, the zone every entry is stamped in.
    return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment


# -- the table ---------------------------------------------------------------------------------


class ProvisioningLogs:
    """The provisioning log table: record entries, query them newest first, expire old ones.

    Documents handed out are the stored objects themselves (as everywhere on the store): treat
    them as read-only.
    """

    def __init__(self, store: Store, clock: Clock, *, retention_days: int = 30) -> None:
        if isinstance(retention_days, bool) or not isinstance(retention_days, int) or retention_days < 1:
            raise ValueError(f"retention_days must be a positive number of days, not {retention_days!r}")
        self.clock = clock
        self.retention = timedelta(days=retention_days)
        self.table = store.table(TABLE)
        self.table.add_index("id", lambda d: d.get("id"))
        self.table.add_index("app", lambda d: (d.get("servicePrincipal") or {}).get("id"))
        self.table.add_index("cycle", lambda d: d.get("cycleId"))
        self._next_purge: datetime | None = None

    def __len__(self) -> int:
        return len(self.table)

    def record(self, entry: Mapping[str, Any]) -> dict:
        """Store one entry (from `build_entry`); returns the stored document.

        Stamps `activityDateTime` with the clock when the entry has none. O(1), plus at most
        one retention sweep per clock-hour.
        """
        app_id = (entry.get("servicePrincipal") or {}).get("id")
        if not app_id:
            raise ValueError("a provisioning log entry needs servicePrincipal.id (the app it belongs to)")
        if not entry.get("id"):
            raise ValueError("a provisioning log entry needs an id")
        _canonical(entry.get("provisioningAction"), ACTIONS, "provisioningAction")
        _canonical((entry.get("provisioningStatusInfo") or {}).get("status"), STATUSES, "status")
        if self.table.lookup("id", entry["id"]):
            raise ValueError(f"a provisioning log entry with id {entry['id']} is already recorded")
        when = entry.get("activityDateTime")
        # A private deep copy (the caller may reuse its dict), which also proves the entry is
        # JSON before the journal is asked to write it.
        stored = orjson.loads(orjson.dumps(entry))
        stored["activityDateTime"] = self.clock.timestamp() if when is None else _normalize_instant(when)
        now = self.clock.now()
        if self._next_purge is None or now >= self._next_purge:
            self.purge_expired()
        self.table.insert(stored)
        return stored

    def get(self, entry_id: str) -> dict | None:
        """The entry with this Graph `id` (for a details view), or None."""
        found = self.table.find_one("id", entry_id)
        return found[1] if found else None

    def query(
        self,
        *,
        app_id: str | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        status: str | Iterable[str] | None = None,
        action: str | Iterable[str] | None = None,
        identity: str | None = None,
        cycle_id: str | None = None,
        job_id: str | None = None,
        change_id: str | None = None,
        limit: int | None = 1000,
    ) -> list[dict]:
        """Entries matching every given filter, newest first (ties: last recorded first).

        `since` and `until` are ISO-8601 dates or instants (a date means its midnight, a value
        without a zone is UTC), both inclusive. `status` and `action` take one value or several
        (any case: "Create" and "create" are the same). `identity` is a case-insensitive substring
        of the source or target object's id or display name, as the portal's Identity filter.
        `limit` None returns every match. Raises ValueError naming the valid values on a bad
        filter.
        """
        lo = None if since is None else _normalize_instant(since, "since")
        hi = None if until is None else _normalize_instant(until, "until")
        if lo is not None and hi is not None and lo > hi:
            raise ValueError(f"since ({lo}) is after until ({hi})")
        statuses = _canonical_set(status, STATUSES, "status")
        actions = _canonical_set(action, ACTIONS, "provisioningAction")
        if identity is not None and not isinstance(identity, str):
            raise ValueError(f"identity must be a string, not {type(identity).__name__}")
        needle = identity.strip().casefold() if identity else ""
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int) or limit < 1):
            raise ValueError(f"limit must be a positive integer or None, not {limit!r}")

        def matches(doc: dict) -> bool:
            when = doc.get("activityDateTime") or ""
            if (lo is not None and when < lo) or (hi is not None and when > hi):
                return False
            if app_id is not None and (doc.get("servicePrincipal") or {}).get("id") != app_id:
                return False
            if cycle_id is not None and doc.get("cycleId") != cycle_id:
                return False
            if job_id is not None and doc.get("jobId") != job_id:
                return False
            if change_id is not None and doc.get("changeId") != change_id:
                return False
            if (
                statuses is not None
                and (doc.get("provisioningStatusInfo") or {}).get("status") not in statuses
            ):
                return False
            if actions is not None and doc.get("provisioningAction") not in actions:
                return False
            return not needle or _identity_matches(doc, needle)

        found = ((doc_id, doc) for doc_id, doc in self._candidates(app_id, cycle_id) if matches(doc))

        def key(item: tuple[int, dict]) -> tuple[str, int]:
            return (item[1].get("activityDateTime") or "", item[0])

        ranked = sorted(found, key=key, reverse=True) if limit is None else heapq.nlargest(limit, found, key)
        return [doc for _, doc in ranked]

    def _candidates(self, app_id: str | None, cycle_id: str | None) -> Iterator[tuple[int, dict]]:
        """The smallest index slice that can hold the matches (a cycle, an app), else all."""
        if cycle_id is not None:
            ids = self.table.lookup("cycle", cycle_id)
        elif app_id is not None:
            ids = self.table.lookup("app", app_id)
        else:
            return self.table.all()
        return ((i, self.table.docs[i]) for i in ids)

    def cycle_summary(self, cycle_id: str, *, app_id: str | None = None) -> dict:
        """`summarize_cycle` over every entry of one cycle."""
        return summarize_cycle(self.query(cycle_id=cycle_id, app_id=app_id, limit=None))

    def purge_expired(self) -> int:
        """Delete entries older than the retention period by clock time; returns how many.

        An O(n) sweep; `record` calls it at most once per clock-hour, so expiry is at most an
        hour late, which no reader of 30-day logs can tell.
        """
        now = self.clock.now()
        self._next_purge = now + _PURGE_EVERY
        cutoff = format_instant(now - self.retention)
        expired = [doc_id for doc_id, doc in self.table.all() if (doc.get("activityDateTime") or "") < cutoff]
        for doc_id in expired:
            self.table.remove(doc_id)
        return len(expired)

    def clear(self, app_id: str | None = None) -> int:
        """Delete every entry, or every entry of one app; returns how many."""
        if app_id is None:
            count = len(self.table)
            if count:
                self.table.clear()
            return count
        ids = self.table.lookup("app", app_id)
        for doc_id in ids:
            self.table.remove(doc_id)
        return len(ids)


def _canonical_set(
    value: str | Iterable[str] | None, valid: Sequence[str], what: str
) -> frozenset[str] | None:
    if value is None:
        return None
    values = [value] if isinstance(value, str) else list(value)
    if not values:
        raise ValueError(f"{what} filter is empty; give one or more of: {', '.join(valid)}")
    return frozenset(_canonical(v, valid, what) for v in values)


def _identity_matches(doc: dict, needle: str) -> bool:
    for side in ("sourceIdentity", "targetIdentity"):
        ident = doc.get(side) or {}
        for field in ("id", "displayName"):
            if needle in (ident.get(field) or "").casefold():
                return True
    return False


# -- exports -----------------------------------------------------------------------------------


def to_json(entries: Iterable[Mapping[str, Any]]) -> str:
    """The entries as a pretty-printed JSON array, the portal's JSON download (prettified)."""
    return json.dumps(list(entries), indent=2, ensure_ascii=False)


def _flatten_modified(props: Iterable[Mapping[str, Any]]) -> str:
    """`name: old -> new; ...`, blanks for absent values, as the Modified Properties tab reads."""
    return "; ".join(
        f"{p.get('displayName', '')}: {p.get('oldValue') or ''} -> {p.get('newValue') or ''}" for p in props
    )


def _csv_row(entry: Mapping[str, Any]) -> dict[str, Any]:
    source = entry.get("sourceIdentity") or {}
    target = entry.get("targetIdentity") or {}
    info = entry.get("provisioningStatusInfo") or {}
    error = info.get("errorInformation") or {}
    sp = entry.get("servicePrincipal") or {}
    initiator = entry.get("initiatedBy") or {}
    return {
        "Date": entry.get("activityDateTime") or "",
        "ID": entry.get("id") or "",
        # The portal's Identity column: the name when known, else the id ("There will always be
        # one ID", S10).
        "Identity": source.get("displayName") or target.get("displayName") or source.get("id") or "",
        "Identity type": source.get("identityType") or target.get("identityType") or "",
        "Source ID": source.get("id") or "",
        "Target ID": target.get("id") or "",
        "Display name": source.get("displayName") or "",
        "Target display name": target.get("displayName") or "",
        "Action": entry.get("provisioningAction") or "",
        "Status": info.get("status") or "",
        "Error code": error.get("errorCode") or "",
        "Error category": error.get("errorCategory") or "",
        "Reason": error.get("reason") or "",
        "Recommended action": error.get("recommendedAction") or "",
        "Source system": (entry.get("sourceSystem") or {}).get("displayName") or "",
        "Target system": (entry.get("targetSystem") or {}).get("displayName") or "",
        "Application": sp.get("displayName") or "",
        "Service principal ID": sp.get("id") or "",
        "Initiated by": initiator.get("displayName") or "",
        "Initiator type": initiator.get("initiatorType") or "",
        "Tenant ID": entry.get("tenantId") or "",
        "Job ID": entry.get("jobId") or "",
        "Cycle ID": entry.get("cycleId") or "",
        "Change ID": entry.get("changeId") or "",
        "Duration (ms)": entry.get("durationInMilliseconds", 0),
        "Modified properties": _flatten_modified(entry.get("modifiedProperties") or ()),
    }


def _write_csv(columns: Sequence[str], rows: Iterable[Mapping[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=list(columns), quoting=csv.QUOTE_MINIMAL, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


def to_csv(entries: Iterable[Mapping[str, Any]]) -> str:
    """The entries as CSV, one row per entry with `CSV_COLUMNS` (the portal's "ProvisioningLogs"
    file, plus the modified properties flattened into one column so a single file suffices)."""
    return _write_csv(CSV_COLUMNS, (_csv_row(e) for e in entries))


def to_csv_steps(entries: Iterable[Mapping[str, Any]]) -> str:
    """The portal's "ProvisioningLogs_ProvisioningSteps" file: one row per step, joined to the
    entries by Change ID. Details are flattened as `key=value; ...`."""
    columns = ("Change ID", "Step", "Name", "Type", "Status", "Description", "Details")
    rows = (
        {
            "Change ID": entry.get("changeId") or "",
            "Step": number,
            "Name": step.get("name") or "",
            "Type": step.get("provisioningStepType") or "",
            "Status": step.get("status") or "",
            "Description": step.get("description") or "",
            "Details": "; ".join(f"{k}={v}" for k, v in (step.get("details") or {}).items()),
        }
        for entry in entries
        for number, step in enumerate(entry.get("provisioningSteps") or (), start=1)
    )
    return _write_csv(columns, rows)


def to_csv_modified_properties(entries: Iterable[Mapping[str, Any]]) -> str:
    """The portal's "ProvisioningLogs_ModifiedProperties" file: one row per property, joined to
    the entries by Change ID; an absent value is a blank cell."""
    columns = ("Change ID", "Property", "Old value", "New value")
    rows = (
        {
            "Change ID": entry.get("changeId") or "",
            "Property": prop.get("displayName") or "",
            "Old value": prop.get("oldValue") or "",
            "New value": prop.get("newValue") or "",
        }
        for entry in entries
        for prop in entry.get("modifiedProperties") or ()
    )
    return _write_csv(columns, rows)


# -- summaries ---------------------------------------------------------------------------------


def summarize_cycle(entries: Iterable[Mapping[str, Any]]) -> dict:
    """Counts for one cycle's entries: what "View provisioning details" shows.

    Returns `cycleId` (None for no entries), `total`, `byAction` and `byStatus` (every known
    value present, zeros included, so a page can lay out a fixed table), `byActionAndStatus`,
    `byIdentityType` (per type, counts by action), `failures` (entries whose status is failure),
    `firstActivityDateTime` / `lastActivityDateTime` and the summed `durationInMilliseconds`.
    Raises ValueError if the entries come from several cycles, since the figures would then
    describe no cycle at all.
    """
    cycle_ids: set[str] = set()
    by_action = dict.fromkeys(ACTIONS, 0)
    by_status = dict.fromkeys(STATUSES, 0)
    by_both: dict[str, dict[str, int]] = {a: dict.fromkeys(STATUSES, 0) for a in ACTIONS}
    by_type: dict[str, dict[str, int]] = {t: dict.fromkeys(ACTIONS, 0) for t in IDENTITY_TYPES}
    total = duration = 0
    first = last = None
    for entry in entries:
        cycle_ids.add(entry.get("cycleId") or "")
        if len(cycle_ids) > 1:
            raise ValueError(f"entries span several cycles ({', '.join(sorted(cycle_ids))}); summarize one")
        act = entry.get("provisioningAction") or "other"
        st = (entry.get("provisioningStatusInfo") or {}).get("status") or "success"
        kind = (entry.get("sourceIdentity") or {}).get("identityType") or ""
        total += 1
        duration += int(entry.get("durationInMilliseconds") or 0)
        by_action[act] = by_action.get(act, 0) + 1
        by_status[st] = by_status.get(st, 0) + 1
        by_both.setdefault(act, dict.fromkeys(STATUSES, 0))
        by_both[act][st] = by_both[act].get(st, 0) + 1
        if kind:
            counts = by_type.setdefault(kind, dict.fromkeys(ACTIONS, 0))
            counts[act] = counts.get(act, 0) + 1
        when = entry.get("activityDateTime")
        if when:
            first = when if first is None or when < first else first
            last = when if last is None or when > last else last
    return {
        "cycleId": next(iter(cycle_ids)) if cycle_ids else None,
        "total": total,
        "byAction": by_action,
        "byStatus": by_status,
        "byActionAndStatus": by_both,
        "byIdentityType": by_type,
        "failures": by_status.get("failure", 0),
        "firstActivityDateTime": first,
        "lastActivityDateTime": last,
        "durationInMilliseconds": duration,
    }
