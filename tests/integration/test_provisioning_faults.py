"""Faults and recovery (reference §1.7, §1.8): each case ends with convergence, the receiver
holding exactly what the directory says. Faults are set on the Galaxy receiver through the
control API, never patched into code."""

from __future__ import annotations

import pytest

from emulator.clock import ManualClock
from tests.entra_helpers import APP, Control, writes

BASE = f"/entra/apps/{APP}/provisioning"


@pytest.fixture
async def entra(start_emulator) -> Control:
    return Control(await start_emulator(clock=ManualClock(), cycle_interval=None))


async def seed(entra: Control, n: int = 4) -> list[dict]:
    users = [await entra.user(f"user{i}@contoso.com") for i in range(n)]
    group = await entra.group("Team", [u["id"] for u in users])
    await entra.assign(group["id"])
    await entra.configure()
    return users


async def fault(entra: Control, **spec: object) -> dict:
    return await entra.call("POST", "/galaxy/faults", spec, expect=201)


async def assert_converged(entra: Control, expected_active: dict[str, bool]) -> None:
    users = await entra.galaxy_users()
    assert {name: u["active"] for name, u in users.items()} == expected_active
    status = await entra.status()
    assert status["escrowedObjects"] == 0


async def test_429_honours_retry_after_through_the_clock(entra: Control) -> None:
    await seed(entra, 1)
    await fault(entra, status=429, retryAfter=7, count=2, method="POST", path="/Users")
    before = (await entra.call("GET", "/clock"))["now"]
    summary = await entra.run()
    after = (await entra.call("GET", "/clock"))["now"]
    assert summary["status"] == "success" and summary["byAction"]["create"] == 2, "the user and its group"
    assert after > before and (await entra.galaxy_users())["user0@contoso.com"]["active"] is True
    posts = [e for e in await entra.exchanges(method="POST") if e["path"].endswith("/Users")]
    assert [e["status"] for e in posts] == [429, 429, 201]


async def test_5xx_escrows_and_every_pending_change_arrives_after_recovery(entra: Control) -> None:
    users = await seed(entra, 4)
    await fault(entra, status=503, count=2, method="POST", path="/Users")
    summary = await entra.run()
    assert summary["status"] == "partial" and summary["byStatus"]["failure"] == 2
    failures = await entra.logs(status="failure")
    assert {f["provisioningStatusInfo"]["errorInformation"]["errorCode"] for f in failures} == {
        "InternalServerError"
    }
    assert (await entra.status())["escrowedObjects"] == 2
    await entra.call("PATCH", f"/entra/users/{users[0]['id']}", {"displayName": "Changed meanwhile"})
    await entra.run()  # escrowed objects retry on the next cycle
    await assert_converged(entra, {f"user{i}@contoso.com": True for i in range(4)})
    group = (await entra.galaxy_groups())["Team"]
    assert len(group["members"]) == 4, "memberships of the late users reach the group too"


async def test_timeouts_escrow_then_converge(entra: Control) -> None:
    await seed(entra, 2)
    await entra.configure(requestTimeoutSeconds=0.3)
    await fault(entra, latencyMs=1500, count=1, method="POST", path="/Users")
    summary = await entra.run()
    codes = {
        f["provisioningStatusInfo"]["errorInformation"]["errorCode"]
        for f in await entra.logs(status="failure")
    }
    assert summary["byStatus"]["failure"] == 1 and codes == {"Timeout"}
    await entra.advance(600)
    await entra.run()
    await assert_converged(entra, {"user0@contoso.com": True, "user1@contoso.com": True})


async def test_401_at_the_start_of_a_cycle_quarantines_the_job(entra: Control) -> None:
    await seed(entra, 1)
    await entra.call("POST", BASE + "/start")
    await entra.configure(secretToken="revoked-or-wrong")
    summary = await entra.run()
    assert summary["status"] == "quarantined"
    status = await entra.status()
    assert status["status"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredQuarantineException"
    now = (await entra.call("GET", "/clock"))["now"]
    assert status["nextCycleAt"] > now, "quarantined jobs retry after 6 hours (§1.8)"
    assert status["notifications"][0]["from"] == "azure-noreply@microsoft.com"
    assert await entra.galaxy_users() == {}
    await entra.configure(secretToken="test-fixed-token-0123456789")
    await entra.run()
    assert (await entra.status())["status"] == "Active"
    await assert_converged(entra, {"user0@contoso.com": True})


async def test_escrow_proportion_over_the_threshold_quarantines(entra: Control) -> None:
    await seed(entra, 4)
    await entra.configure(escrowMinimumFailures=2, escrowFailureProportion=0.4)
    await fault(entra, status=500, probability=1.0, method="POST", path="/Users")
    await entra.run()
    status = await entra.status()
    assert status["status"] == "Quarantine"
    assert status["quarantine"]["reason"] == "EncounteredEscrowProportionThreshold"
    await entra.call("DELETE", "/galaxy/faults", expect=(200, 204))
    await entra.call("POST", BASE + "/restart")
    await entra.run()
    await assert_converged(entra, {f"user{i}@contoso.com": True for i in range(4)})


async def test_accidental_deletion_threshold_stages_deletes_until_allowed(entra: Control) -> None:
    users = [await entra.user(f"user{i}@contoso.com") for i in range(4)]
    for u in users:
        await entra.assign(u["id"])
    await entra.configure(accidentalDeletionThreshold=2)
    await entra.run()
    for u in users[:3]:
        await entra.unassign(u["id"])
    await entra.clear_exchanges()
    summary = await entra.run()
    assert summary["status"] == "stopped"
    assert not writes(await entra.exchanges()), "nothing is sent while deletes are staged"
    staged = await entra.logs(action="stagedDelete")
    assert len(staged) == 3
    status = await entra.status()
    assert status["quarantine"]["reason"] == "TooManyDeletes" and len(status["stagedDeletes"]) == 3
    await entra.call("POST", BASE + "/allow-deletes")
    await entra.run()
    await assert_converged(
        entra,
        {
            "user0@contoso.com": False,
            "user1@contoso.com": False,
            "user2@contoso.com": False,
            "user3@contoso.com": True,
        },
    )


async def test_fault_rules_are_validated(entra: Control) -> None:
    error = await entra.call("POST", "/galaxy/faults", {"status": 200, "count": 1}, expect=400)
    assert "status" in error["error"]
    error = await entra.call("POST", "/galaxy/faults", {"status": 503}, expect=400)
    assert "count" in error["error"]
    rule = await fault(entra, status=503, count=1, path="/Groups*")
    assert (await entra.call("GET", "/galaxy/faults"))["faults"][0]["id"] == rule["id"]


async def test_an_unreachable_tenant_url_fails_the_cycle_and_loses_nothing(entra: Control) -> None:
    from tests.helpers import free_port

    await seed(entra, 2)
    good_url = entra.emu.scim_url
    await entra.configure(tenantUrl=f"http://127.0.0.1:{free_port()}/scim")
    summary = await entra.run()
    assert summary["status"] == "failed" and summary["error"]["errorCode"] == "WebExceptionProtocolError"
    assert (await entra.status())["status"] != "Quarantine", "only credential failures quarantine"
    await entra.configure(tenantUrl=good_url)
    await entra.run()
    await assert_converged(entra, {"user0@contoso.com": True, "user1@contoso.com": True})


async def test_test_connection_reports_a_timeout(entra: Control) -> None:
    await entra.configure(requestTimeoutSeconds=0.2)
    await fault(entra, latencyMs=1000, count=1, method="GET", path="/Users")
    result = await entra.call("POST", BASE + "/test")
    assert result["success"] is False and result["errorCode"] == "Timeout"
    assert "did not answer in time" in result["message"]


async def test_quarantine_backs_off_then_disables_the_job_after_four_weeks(start_emulator) -> None:
    from datetime import timedelta

    entra = Control(await start_emulator(clock=ManualClock(), cycle_interval=timedelta(minutes=40)))
    await seed(entra, 1)
    await entra.configure(secretToken="wrong-token")
    await entra.call("POST", BASE + "/start")
    await entra.advance(0)
    first = await entra.status()
    assert first["status"] == "Quarantine" and first["cycleCount"] == 1
    await entra.advance(5 * 3600)
    assert (await entra.status())["cycleCount"] == 1, "nothing runs before +6 h"
    await entra.advance(3600)
    assert (await entra.status())["cycleCount"] == 2
    await entra.advance(12 * 3600)
    assert (await entra.status())["cycleCount"] == 3
    for _ in range(30):
        await entra.advance(24 * 3600)
    status = await entra.status()
    assert status["status"] == "Paused" and "4 weeks" in status["lastError"]
    assert len(status["notifications"]) == 1, "the quarantine email is sent once"
