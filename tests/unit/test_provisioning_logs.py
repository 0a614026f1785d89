"""Provisioning logs: Graph's provisioningObjectSummary shape, filters, retention and exports."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from emulator.clock import ManualClock
from emulator.entra.provisioning.logs import (
    ACTIONS,
    CSV_COLUMNS,
    STATUSES,
    TABLE,
    ProvisioningLogs,
    build_entry,
    build_step,
    graph_string,
    summarize_cycle,
    to_csv,
    to_csv_modified_properties,
    to_csv_steps,
    to_json,
)
from emulator.store import Store

APP = "6f1c5a2e-0000-4000-8000-000000000001"
OTHER_APP = "6f1c5a2e-0000-4000-8000-000000000002"
TENANT = "0b7d3c1a-0000-4000-8000-00000000000a"
START = datetime(2026, 1, 5, 9, 0, tzinfo=UTC)

ENTRY_KEYS = {
    "id",
    "activityDateTime",
    "tenantId",
    "jobId",
    "cycleId",
    "changeId",
    "provisioningAction",
    "durationInMilliseconds",
    "provisioningStatusInfo",
    "provisioningSteps",
    "modifiedProperties",
    "servicePrincipal",
    "sourceSystem",
    "targetSystem",
    "initiatedBy",
    "sourceIdentity",
    "targetIdentity",
}


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock(START)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    s = Store(tmp_path)
    yield s
    s.close()


@pytest.fixture
def logs(store: Store, clock: ManualClock) -> ProvisioningLogs:
    return ProvisioningLogs(store, clock)


def entry(**overrides: object) -> dict:
    """A user create in cycle c1 of APP, with whatever the test changes."""
    fields: dict = {
        "app_id": APP,
        "tenant_id": TENANT,
        "job_id": "scim.job.1",
        "cycle_id": "c1",
        "action": "create",
        "source_id": "src-alice",
        "source_display_name": "Alice Smith",
        "target_id": "tgt-alice",
        "target_display_name": "alice@contoso.com",
    }
    fields.update(overrides)
    return build_entry(**fields)  # type: ignore[arg-type]


# -- shape -------------------------------------------------------------------------------------


def test_an_entry_has_exactly_graphs_properties(logs: ProvisioningLogs) -> None:
    built = build_entry(
        app_id=APP,
        app_name="Starburst Galaxy",
        application_id="app-registration-id",
        tenant_id=TENANT,
        job_id="scim.job.1",
        cycle_id="c1",
        action="update",
        identity_type="User",
        source_id="src-alice",
        source_display_name="Alice Smith",
        target_id="tgt-alice",
        target_display_name="alice@contoso.com",
        modified_properties=[("displayName", "Alice", "Alice Smith"), ("active", None, True)],
        steps=[
            build_step("import", description="Received User 'Alice Smith' change of type (Update)"),
            build_step("scoping"),
            build_step("matching", details={"userName": "alice@contoso.com"}),
            build_step("export", name="EntryExportUpdate", details={"ReportableIdentifier": "alice"}),
        ],
        duration_ms=125,
    )
    stored = logs.record(built)

    assert set(stored) == ENTRY_KEYS
    assert stored["activityDateTime"] == "2026-01-05T09:00:00.000Z"
    assert stored["provisioningAction"] == "update"
    assert stored["durationInMilliseconds"] == 125
    assert stored["provisioningStatusInfo"] == {"status": "success", "errorInformation": None}
    assert stored["sourceIdentity"] == {
        "id": "src-alice",
        "displayName": "Alice Smith",
        "identityType": "User",
        "details": {},
    }
    assert set(stored["targetIdentity"]) == {"id", "displayName", "identityType", "details"}
    assert stored["sourceSystem"] == {"id": TENANT, "displayName": "Microsoft Entra ID", "details": {}}
    assert stored["targetSystem"]["displayName"] == "Starburst Galaxy"
    assert stored["targetSystem"]["details"] == {
        "ApplicationId": "app-registration-id",
        "ServicePrincipalId": APP,
        "ServicePrincipalDisplayName": "Starburst Galaxy",
    }
    assert stored["servicePrincipal"] == {"id": APP, "displayName": "Starburst Galaxy"}
    assert stored["initiatedBy"]["initiatorType"] == "system"
    assert set(stored["initiatedBy"]) == {"id", "displayName", "initiatorType"}
    assert stored["modifiedProperties"] == [
        {"displayName": "displayName", "oldValue": "Alice", "newValue": "Alice Smith"},
        {"displayName": "active", "oldValue": None, "newValue": "True"},
    ]
    steps = stored["provisioningSteps"]
    assert [s["provisioningStepType"] for s in steps] == ["import", "scoping", "matching", "export"]
    assert all(set(s) == {"name", "provisioningStepType", "status", "description", "details"} for s in steps)
    assert steps[3]["name"] == "EntryExportUpdate"
    assert steps[3]["details"] == {"ReportableIdentifier": "alice"}
    # GUIDs, distinct per entry and per change.
    other = entry()
    assert len(stored["id"]) == 36 and stored["id"] != other["id"]
    assert stored["changeId"] != other["changeId"]


def test_a_failure_carries_graphs_error_information() -> None:
    failed = entry(
        status="failure",
        error_code="EntryConflict",
        reason="Starburst Galaxy returned an error response with the HTTP status code 409.",
    )
    info = failed["provisioningStatusInfo"]
    assert info["status"] == "failure"
    assert set(info["errorInformation"]) == {
        "errorCode",
        "reason",
        "additionalDetails",
        "errorCategory",
        "recommendedAction",
    }
    assert info["errorInformation"]["errorCode"] == "EntryConflict"
    assert info["errorInformation"]["errorCategory"] == "nonServiceFailure"
    assert info["errorInformation"]["additionalDetails"] is None
    assert info["errorInformation"]["recommendedAction"]  # filled from the known codes


def test_on_demand_entries_name_the_user_who_started_them() -> None:
    built = entry(initiator_type="user", initiator_id="admin-id", initiator_name="admin@contoso.com")
    assert built["initiatedBy"] == {
        "id": "admin-id",
        "displayName": "admin@contoso.com",
        "initiatorType": "user",
    }


def test_values_are_strings_and_absent_values_null_or_blank_by_kind() -> None:
    built = entry(
        target_id=None,
        target_display_name=None,
        modified_properties={"emails": (None, ["a@x", "b@x"]), "employeeNumber": (7, None)},
        steps=[build_step("export", details={"Attempt": 2, "Missing": None, "Ok": False})],
    )
    assert built["targetIdentity"]["id"] == "" and built["targetIdentity"]["displayName"] == ""
    assert built["modifiedProperties"] == [
        {"displayName": "emails", "oldValue": None, "newValue": "a@x,b@x"},
        {"displayName": "employeeNumber", "oldValue": "7", "newValue": None},
    ]
    assert built["provisioningSteps"][0]["details"] == {"Attempt": "2", "Missing": "", "Ok": "False"}
    assert graph_string({"b": 1, "a": True}) == '{"a":true,"b":1}'


def test_enum_values_are_accepted_in_any_case_and_stored_canonically() -> None:
    built = entry(action="StagedDelete", status="Skipped")
    assert built["provisioningAction"] == "stagedDelete"
    assert built["provisioningStatusInfo"]["status"] == "skipped"


@pytest.mark.parametrize(
    ("field", "value", "mentions"),
    [
        ("action", "provision", "create, update, delete, disable, stagedDelete, other"),
        ("status", "ok", "success, failure, skipped, warning"),
        ("initiator_type", "robot", "system, user, application"),
        ("error_category", "TransientFailure", "failure, nonServiceFailure, success"),
        ("duration_ms", -1, "non-negative"),
    ],
)
def test_build_entry_rejects_unknown_values(field: str, value: object, mentions: str) -> None:
    with pytest.raises(ValueError, match=mentions):
        entry(**{field: value})


def test_build_entry_rejects_bad_steps_and_properties() -> None:
    with pytest.raises(ValueError, match="import, scoping, matching"):
        entry(steps=[{"provisioningStepType": "thinking"}])
    with pytest.raises(ValueError, match="name, old, new"):
        entry(modified_properties=[("displayName", "only-old")])
    with pytest.raises(ValueError, match=r"give \(old, new\)"):
        entry(modified_properties={"displayName": "ab"})
    with pytest.raises(ValueError, match="app_id"):
        build_entry(app_id="")


# -- record and query --------------------------------------------------------------------------


def test_record_stamps_the_clock_and_keeps_a_given_time_normalized(
    logs: ProvisioningLogs, clock: ManualClock
) -> None:
    clock.advance(timedelta(minutes=5))
    stamped = logs.record(entry())
    assert stamped["activityDateTime"] == "2026-01-05T09:05:00.000Z"
    given = logs.record(entry(activity_date_time="2026-01-05T10:00:00+01:00"))
    assert given["activityDateTime"] == "2026-01-05T09:00:00.000Z"
    assert logs.get(given["id"]) == given
    assert logs.get("no-such-id") is None


def test_record_refuses_entries_without_an_app_or_recorded_twice(logs: ProvisioningLogs) -> None:
    first = logs.record(entry())
    with pytest.raises(ValueError, match="already recorded"):
        logs.record(first)
    orphan = entry()
    orphan["servicePrincipal"] = {"id": "", "displayName": ""}
    with pytest.raises(ValueError, match=r"servicePrincipal\.id"):
        logs.record(orphan)


def test_record_keeps_its_own_copy(logs: ProvisioningLogs) -> None:
    built = entry()
    stored = logs.record(built)
    built["sourceIdentity"]["displayName"] = "changed afterwards"
    assert stored["sourceIdentity"]["displayName"] == "Alice Smith"


def test_entries_survive_a_restart(tmp_path: Path, clock: ManualClock) -> None:
    store = Store(tmp_path / "data")
    recorded = ProvisioningLogs(store, clock).record(entry())
    store.close()
    again = Store(tmp_path / "data")
    try:
        logs = ProvisioningLogs(again, clock)
        assert logs.query() == [recorded]
        assert logs.query(app_id=APP, cycle_id="c1") == [recorded]
        assert TABLE in again.tables
    finally:
        again.close()


def test_query_is_newest_first_with_ties_in_reverse_recording_order(
    logs: ProvisioningLogs, clock: ManualClock
) -> None:
    a = logs.record(entry(source_display_name="a"))
    b = logs.record(entry(source_display_name="b"))  # same instant as a
    clock.advance(timedelta(minutes=1))
    c = logs.record(entry(source_display_name="c"))
    # An entry stamped earlier than the newest, recorded last, still sorts by its time.
    d = logs.record(entry(source_display_name="d", activity_date_time=START + timedelta(seconds=30)))
    assert [e["id"] for e in logs.query()] == [c["id"], d["id"], b["id"], a["id"]]
    assert [e["id"] for e in logs.query(limit=2)] == [c["id"], d["id"]]
    assert len(logs.query(limit=None)) == 4
    assert len(logs) == 4


def test_query_filters_by_app(logs: ProvisioningLogs) -> None:
    mine = logs.record(entry())
    theirs = logs.record(entry(app_id=OTHER_APP, app_name="Other SCIM app"))
    assert logs.query(app_id=APP) == [mine]
    assert logs.query(app_id=OTHER_APP) == [theirs]
    assert logs.query(app_id="unknown") == []


def test_query_filters_by_time_inclusive(logs: ProvisioningLogs, clock: ManualClock) -> None:
    first = logs.record(entry())
    clock.advance(timedelta(hours=1))
    second = logs.record(entry())
    clock.advance(timedelta(days=1))
    third = logs.record(entry())
    assert logs.query(since="2026-01-05T10:00:00Z") == [third, second]
    assert logs.query(until="2026-01-05T10:00:00.000Z") == [second, first]
    assert logs.query(since="2026-01-05T09:30:00Z", until="2026-01-05T11:00:00+01:00") == [second]
    assert logs.query(since="2026-01-06") == [third]  # a date means its midnight, UTC
    assert logs.query(until=START) == [first]  # datetimes are accepted too


def test_query_filters_by_status_and_action(logs: ProvisioningLogs) -> None:
    created = logs.record(entry(action="create"))
    failed = logs.record(entry(action="update", status="failure", error_code="Timeout"))
    skipped = logs.record(entry(action="other", status="skipped"))
    disabled = logs.record(entry(action="disable"))
    assert logs.query(status="failure") == [failed]
    assert logs.query(status="Skipped") == [skipped]
    assert logs.query(status=["success", "skipped"]) == [disabled, skipped, created]
    assert logs.query(action="create") == [created]
    assert logs.query(action={"update", "disable"}) == [disabled, failed]
    assert logs.query(action="update", status="success") == []


def test_query_filters_by_identity_substring_of_ids_and_names(logs: ProvisioningLogs) -> None:
    alice = logs.record(entry())
    bob = logs.record(
        entry(
            source_id="src-bob",
            source_display_name="Bob Jones",
            target_id="",
            target_display_name="",
        )
    )
    group = logs.record(
        entry(
            identity_type="Group",
            source_id="grp-1",
            source_display_name="Engineering",
            target_id="T-42",
            target_display_name="Engineering",
        )
    )
    assert logs.query(identity="SMITH") == [alice]  # source display name, any case
    assert logs.query(identity="contoso.com") == [alice]  # target display name
    assert logs.query(identity="src-b") == [bob]  # source id
    assert logs.query(identity="t-42") == [group]  # target id
    assert logs.query(identity="src-") == [bob, alice]
    assert logs.query(identity="nobody") == []


def test_query_filters_by_cycle_job_and_change(logs: ProvisioningLogs) -> None:
    one = logs.record(entry(cycle_id="c1"))
    two = logs.record(entry(cycle_id="c2", job_id="scim.job.2"))
    assert logs.query(cycle_id="c1") == [one]
    assert logs.query(cycle_id="c2", app_id=APP) == [two]
    assert logs.query(cycle_id="c2", app_id=OTHER_APP) == []
    assert logs.query(job_id="scim.job.2") == [two]
    assert logs.query(change_id=one["changeId"]) == [one]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        ({"status": "succeeded"}, "valid values: success, failure, skipped, warning"),
        ({"status": ["success", "bogus"]}, "valid values: success, failure, skipped, warning"),
        ({"status": []}, "filter is empty"),
        ({"action": "provision"}, "valid values: create, update, delete, disable, stagedDelete, other"),
        ({"since": "yesterday"}, "since: 'yesterday' is not an ISO-8601"),
        ({"until": "2026-13-01"}, "until: '2026-13-01' is not an ISO-8601"),
        ({"since": "2026-01-06", "until": "2026-01-05"}, "is after until"),
        ({"limit": 0}, "limit must be a positive integer"),
        ({"limit": -5}, "limit must be a positive integer"),
    ],
)
def test_invalid_filters_raise_value_error(logs: ProvisioningLogs, filters: dict, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        logs.query(**filters)


# -- retention ---------------------------------------------------------------------------------


def test_entries_older_than_30_clock_days_are_purged(logs: ProvisioningLogs, clock: ManualClock) -> None:
    old = logs.record(entry())
    clock.advance(timedelta(days=1))
    newer = logs.record(entry())
    clock.advance(timedelta(days=29))  # old is exactly 30 days old: still kept
    assert logs.purge_expired() == 0
    clock.advance(timedelta(minutes=1))
    assert logs.purge_expired() == 1
    assert logs.query() == [newer]
    assert logs.get(old["id"]) is None


def test_record_purges_at_most_once_per_clock_hour(logs: ProvisioningLogs, clock: ManualClock) -> None:
    logs.record(entry())
    clock.advance(timedelta(days=30, minutes=1))
    logs.record(entry())  # more than an hour since the last sweep: sweeps, old entry gone
    assert len(logs) == 1
    # Backdated entries are left alone until the next sweep is due, an hour of clock time later.
    logs.record(entry(activity_date_time=START))
    clock.advance(timedelta(minutes=59))
    logs.record(entry())
    assert len(logs) == 3
    clock.advance(timedelta(minutes=1))
    logs.record(entry())
    assert len(logs) == 3  # the backdated one swept, the new one added


def test_retention_is_a_setting(store: Store, clock: ManualClock) -> None:
    logs = ProvisioningLogs(store, clock, retention_days=7)
    logs.record(entry())
    clock.advance(timedelta(days=7, seconds=1))
    assert logs.purge_expired() == 1
    with pytest.raises(ValueError, match="retention_days"):
        ProvisioningLogs(store, clock, retention_days=0)


def test_clear_all_or_one_app(logs: ProvisioningLogs) -> None:
    logs.record(entry())
    logs.record(entry())
    theirs = logs.record(entry(app_id=OTHER_APP))
    assert logs.clear(app_id=APP) == 2
    assert logs.query() == [theirs]
    assert logs.clear() == 1
    assert logs.query() == []
    assert logs.clear() == 0


# -- exports -----------------------------------------------------------------------------------


def test_json_export_is_a_pretty_array_that_round_trips(logs: ProvisioningLogs) -> None:
    logs.record(entry(source_display_name="Zoë Ünal"))
    logs.record(entry(status="failure", error_code="Timeout"))
    entries = logs.query()
    text = to_json(entries)
    assert text.startswith("[\n  {")
    assert "Zoë Ünal" in text
    assert json.loads(text) == entries
    assert json.loads(to_json([])) == []


def test_csv_export_parses_back_with_every_column(logs: ProvisioningLogs) -> None:
    logs.record(
        entry(
            action="update",
            source_display_name='Smith, "Al" Alice',
            modified_properties=[
                ("displayName", "Alice", 'Smith, "Al" Alice'),
                ("title", None, "Engineer\nLead"),
                ("active", True, False),
            ],
            duration_ms=42,
        )
    )
    logs.record(
        entry(
            action="create",
            status="failure",
            error_code="EntryConflict",
            reason="409, conflict; try again",
            cycle_id="c1",
        )
    )
    text = to_csv(logs.query())
    rows = list(csv.DictReader(io.StringIO(text)))
    assert tuple(rows[0]) == CSV_COLUMNS
    failed, updated = rows
    assert updated["Identity"] == 'Smith, "Al" Alice'
    assert updated["Source ID"] == "src-alice"
    assert updated["Target ID"] == "tgt-alice"
    assert updated["Action"] == "update"
    assert updated["Status"] == "success"
    assert updated["Duration (ms)"] == "42"
    assert updated["Date"] == "2026-01-05T09:00:00.000Z"
    assert updated["Modified properties"] == (
        'displayName: Alice -> Smith, "Al" Alice; title:  -> Engineer\nLead; active: True -> False'
    )
    assert failed["Error code"] == "EntryConflict"
    assert failed["Reason"] == "409, conflict; try again"
    assert failed["Error category"] == "nonServiceFailure"
    assert failed["Cycle ID"] == "c1"
    assert failed["Job ID"] == "scim.job.1"
    assert failed["Change ID"]
    assert failed["Modified properties"] == ""
    assert list(csv.DictReader(io.StringIO(to_csv([])))) == []


def test_steps_and_modified_properties_csvs_join_by_change_id(logs: ProvisioningLogs) -> None:
    recorded = logs.record(
        entry(
            modified_properties=[("mail", None, "alice@contoso.com")],
            steps=[build_step("import"), build_step("export", status="failure", details={"Code": 409})],
        )
    )
    steps = list(csv.DictReader(io.StringIO(to_csv_steps([recorded]))))
    assert [(s["Step"], s["Type"], s["Status"]) for s in steps] == [
        ("1", "import", "success"),
        ("2", "export", "failure"),
    ]
    assert steps[1]["Details"] == "Code=409"
    assert {s["Change ID"] for s in steps} == {recorded["changeId"]}
    props = list(csv.DictReader(io.StringIO(to_csv_modified_properties([recorded]))))
    assert props == [
        {
            "Change ID": recorded["changeId"],
            "Property": "mail",
            "Old value": "",
            "New value": "alice@contoso.com",
        }
    ]


# -- summaries ---------------------------------------------------------------------------------


def test_summarize_cycle_counts_by_action_and_status(logs: ProvisioningLogs, clock: ManualClock) -> None:
    logs.record(entry(action="create", duration_ms=10))
    logs.record(entry(action="create", duration_ms=20))
    clock.advance(timedelta(seconds=5))
    logs.record(entry(action="update", status="failure", error_code="Timeout"))
    logs.record(entry(action="create", identity_type="Group", source_display_name="Engineering"))
    logs.record(entry(action="other", status="skipped"))
    logs.record(entry(cycle_id="c2", action="delete"))

    summary = logs.cycle_summary("c1", app_id=APP)
    assert summary["cycleId"] == "c1"
    assert summary["total"] == 5
    assert summary["byAction"] == {
        "create": 3,
        "update": 1,
        "delete": 0,
        "disable": 0,
        "stagedDelete": 0,
        "other": 1,
    }
    assert tuple(summary["byAction"]) == ACTIONS
    assert summary["byStatus"] == {"success": 3, "failure": 1, "skipped": 1, "warning": 0}
    assert tuple(summary["byStatus"]) == STATUSES
    assert summary["byActionAndStatus"]["create"]["success"] == 3
    assert summary["byActionAndStatus"]["update"]["failure"] == 1
    assert summary["byIdentityType"]["User"]["create"] == 2
    assert summary["byIdentityType"]["Group"]["create"] == 1
    assert summary["failures"] == 1
    assert summary["firstActivityDateTime"] == "2026-01-05T09:00:00.000Z"
    assert summary["lastActivityDateTime"] == "2026-01-05T09:00:05.000Z"
    assert summary["durationInMilliseconds"] == 30


def test_summarize_cycle_of_nothing_and_of_mixed_cycles() -> None:
    empty = summarize_cycle([])
    assert empty["cycleId"] is None
    assert empty["total"] == 0
    assert set(empty["byAction"].values()) == {0}
    with pytest.raises(ValueError, match="several cycles"):
        summarize_cycle([entry(cycle_id="c1"), entry(cycle_id="c2")])
