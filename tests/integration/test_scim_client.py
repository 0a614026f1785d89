"""The provisioning engine's SCIM client over real HTTP on 127.0.0.1: Entra's exact URLs and
headers (reference entra-and-galaxy.md §1.2, §1.3, §1.6), its error codes (§1.8), 429 handling
through the clock, and a full round trip against the emulator's own Galaxy receiver in both
wire modes."""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import aiohttp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestServer

from emulator.clock import ManualClock
from emulator.entra.provisioning.quirks import (
    MANAGER_PATH,
    Change,
    active_patch_body,
    create_group_body,
    create_user_body,
    group_patch_body,
    members_patch_bodies,
    user_patch_body,
    value_at,
)
from emulator.entra.provisioning.scim_client import (
    BAD_REQUEST,
    ENTRY_CONFLICT,
    INSUFFICIENT_RIGHTS,
    INTERNAL_SERVER_ERROR,
    NOT_FOUND,
    SERVICE_INCOMPATIBLE,
    TIMEOUT,
    TOO_MANY_REQUESTS,
    TRANSPORT_ERROR,
    UNAUTHORIZED,
    Exchange,
    ScimClient,
    ScimClientError,
)
from emulator.scim.schema import ENTERPRISE_USER, LIST_RESPONSE
from tests.conftest import TOKEN
from tests.helpers import free_port

SECRET = "s3cr3t-token-that-must-never-leak"
EMPTY_LIST = {
    "schemas": [LIST_RESPONSE],
    "totalResults": 0,
    "Resources": [],
    "startIndex": 1,
    "itemsPerPage": 20,
}
USER = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "id": "u1", "userName": "a@contoso.com"}


@dataclass
class Answer:
    status: int = 200
    body: object = None
    text: str | None = None
    headers: dict = field(default_factory=dict)
    delay: float = 0.0


@dataclass
class Seen:
    method: str
    raw_path: str
    headers: dict
    body: bytes


class Recorder:
    """A SCIM server stand-in: records every request as it arrives and plays back answers."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.answers: list[Answer] = []
        self.default = Answer(200, EMPTY_LIST)

    def then(self, *answers: Answer) -> None:
        self.answers.extend(answers)

    async def handle(self, request: web.Request) -> web.StreamResponse:
        self.seen.append(Seen(request.method, request.raw_path, dict(request.headers), await request.read()))
        answer = self.answers.pop(0) if self.answers else self.default
        if answer.delay:
            await asyncio.sleep(answer.delay)
        if answer.text is not None:
            return web.Response(status=answer.status, text=answer.text, headers=answer.headers)
        if answer.body is None:
            return web.Response(status=answer.status, headers=answer.headers)
        return web.Response(
            status=answer.status,
            body=json.dumps(answer.body).encode(),
            content_type="application/scim+json",
            headers=answer.headers,
        )


@dataclass
class Stub:
    recorder: Recorder
    url: str
    session: aiohttp.ClientSession
    clock: ManualClock
    exchanges: list[Exchange]

    def client(self, *, path: str = "/scim/", token: str | None = SECRET, **kw) -> ScimClient:
        return ScimClient(
            self.session, self.url + path, token, clock=self.clock, on_exchange=self.exchanges.append, **kw
        )


@pytest.fixture
async def stub() -> AsyncIterator[Stub]:
    recorder = Recorder()
    app = web.Application()
    app.router.add_route("*", "/{tail:.*}", recorder.handle)
    server = TestServer(app, host="127.0.0.1")
    await server.start_server()
    async with aiohttp.ClientSession() as session:
        yield Stub(recorder, str(server.make_url("")).rstrip("/"), session, ManualClock(), [])
    await server.close()


# --- Entra's requests as they arrive ---------------------------------------------------------------


async def test_probe_sends_entras_exact_url_and_bearer_token(stub: Stub) -> None:
    guid = await stub.client().probe()
    (seen,) = stub.recorder.seen
    assert seen.method == "GET"
    assert re.fullmatch(r"/scim/Users\?filter=userName\+eq\+%22[0-9a-f-]{36}%22", seen.raw_path), (
        seen.raw_path
    )
    assert seen.raw_path == f"/scim/Users?filter=userName+eq+%22{guid}%22"
    assert seen.headers["Authorization"] == f"Bearer {SECRET}"
    assert seen.headers["Accept"] == "application/scim+json"
    assert "User-Agent" not in seen.headers  # reference §5: no invented headers
    assert "Content-Type" not in seen.headers


async def test_flag_is_stripped_from_request_urls_and_sets_the_mode(stub: Stub) -> None:
    client = stub.client(path="/scim/v2/?aadOptscim062020")
    assert client.mode.rfc_patch and client.base_url == stub.url + "/scim/v2"
    await client.probe()
    assert stub.recorder.seen[0].raw_path.startswith("/scim/v2/Users?filter=userName+eq+%22")
    assert not stub.client(path="/scim/v2/?aadOptscim062020", on_demand=True).mode.rfc_patch


async def test_queries_are_encoded_like_entras_and_escape_quotes(stub: Stub) -> None:
    client = stub.client()
    await client.query_users("userName", 'a b"c@d\\e')
    await client.query_users('emails[type eq "work"].value', "x@y")
    await client.query_groups_by_name("Sales & Marketing")
    stub.recorder.then(Answer(200, {"id": "g1", "displayName": "G"}))
    await client.get_group("g 1/x")
    paths = [s.raw_path for s in stub.recorder.seen]
    assert paths == [
        "/scim/Users?filter=userName+eq+%22a+b%5C%22c%40d%5C%5Ce%22",
        "/scim/Users?filter=emails%5Btype+eq+%22work%22%5D.value+eq+%22x%40y%22",
        "/scim/Groups?excludedAttributes=members&filter=displayName+eq+%22Sales+%26+Marketing%22",
        "/scim/Groups/g%201%2Fx?excludedAttributes=members",
    ]


async def test_bodies_are_scim_json_in_the_order_built(stub: Stub) -> None:
    client = stub.client()
    body = create_user_body({"userName": "a@contoso.com", "active": "True", "externalId": "a"})
    stub.recorder.then(Answer(201, {**USER}), Answer(204), Answer(200, {**USER, "active": False}))
    created = await client.create_user(body)
    assert created["id"] == "u1"
    assert await client.patch_user("u1", active_patch_body(False, client.mode)) is None
    assert (await client.patch_user("u1", active_patch_body(False, client.mode)))["active"] is False
    post = stub.recorder.seen[0]
    assert post.headers["Content-Type"] == "application/scim+json"
    assert post.body == json.dumps(body, separators=(",", ":")).encode()
    assert stub.recorder.seen[1].raw_path == "/scim/Users/u1"
    assert json.loads(stub.recorder.seen[1].body)["Operations"][0]["value"] == "False"


async def test_no_authorization_header_without_a_token(stub: Stub) -> None:
    await stub.client(token=None).probe()
    assert "Authorization" not in stub.recorder.seen[0].headers


async def test_every_attempt_is_reported_and_counted(stub: Stub) -> None:
    client = stub.client()
    stub.recorder.then(Answer(429, {"detail": "slow down"}, headers={"Retry-After": "1"}))
    await client.probe()
    assert client.request_count == 2
    assert [e.response.status for e in stub.exchanges if e.response] == [429, 200]
    assert client.last_exchange is stub.exchanges[-1]
    assert "Authorization" not in client.last_exchange.request.headers


# --- 429 and Retry-After ---------------------------------------------------------------------------


async def test_retry_after_seconds_are_slept_through_the_clock(stub: Stub) -> None:
    before = stub.clock.now()
    stub.recorder.then(Answer(429, headers={"Retry-After": "7"}))
    await stub.client().probe()
    assert stub.clock.now() - before == timedelta(seconds=7)
    assert len(stub.recorder.seen) == 2


async def test_retry_after_http_date_is_measured_against_the_servers_date(stub: Stub) -> None:
    server_now = datetime(2030, 6, 1, 12, 0, 0, tzinfo=UTC)  # far from the clock: skew must not matter
    headers = {
        "Date": format_datetime(server_now, usegmt=True),
        "Retry-After": format_datetime(server_now + timedelta(seconds=30), usegmt=True),
    }
    stub.recorder.then(Answer(429, headers=headers))
    before = stub.clock.now()
    await stub.client().probe()
    assert stub.clock.now() - before == timedelta(seconds=30)


async def test_without_retry_after_the_back_off_doubles(stub: Stub) -> None:
    before = stub.clock.now()
    stub.recorder.then(Answer(429), Answer(429))
    await stub.client().probe()
    assert stub.clock.now() - before == timedelta(seconds=1 + 2)


async def test_429_after_the_last_retry_is_too_many_requests_and_retryable(stub: Stub) -> None:
    before = stub.clock.now()
    stub.recorder.then(*[Answer(429, {"detail": "throttled"}, headers={"Retry-After": "2"})] * 4)
    with pytest.raises(ScimClientError) as caught:
        await stub.client(max_retries=3).probe()
    assert caught.value.code == TOO_MANY_REQUESTS and caught.value.retryable
    assert caught.value.status == 429 and "throttled" in caught.value.reason
    assert len(stub.recorder.seen) == 4
    assert stub.clock.now() - before == timedelta(seconds=6)


async def test_a_retry_after_beyond_the_limit_is_left_to_the_engine(stub: Stub) -> None:
    before = stub.clock.now()
    stub.recorder.then(Answer(429, headers={"Retry-After": "3600"}))
    with pytest.raises(ScimClientError) as caught:
        await stub.client(max_retry_after=300).probe()
    assert caught.value.code == TOO_MANY_REQUESTS and caught.value.retry_after == 3600
    assert stub.clock.now() == before and len(stub.recorder.seen) == 1


# --- Error classification ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "retryable"),
    [
        (401, UNAUTHORIZED, False),
        (403, INSUFFICIENT_RIGHTS, False),
        (404, NOT_FOUND, False),
        (409, ENTRY_CONFLICT, False),
        (400, BAD_REQUEST, False),
        (500, INTERNAL_SERVER_ERROR, True),
        (503, INTERNAL_SERVER_ERROR, True),
    ],
)
async def test_http_errors_get_entras_codes(stub: Stub, status: int, code: str, retryable: bool) -> None:
    error = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:Error"],
        "status": str(status),
        "detail": "nope",
    }
    if status == 400:
        error["scimType"] = "invalidValue"
    stub.recorder.then(Answer(status, error))
    with pytest.raises(ScimClientError) as caught:
        await stub.client().get_user("u1")
    exc = caught.value
    assert (exc.code, exc.status, exc.retryable) == (code, status, retryable)
    assert f"HTTP {status}" in exc.reason and '"nope"' in exc.reason and exc.detail == "nope"
    assert exc.request.method == "GET" and exc.request.url.endswith("/scim/Users/u1")
    assert exc.response.status == status and "nope" in exc.response.body
    assert len(stub.recorder.seen) == 1  # 5xx are not retried inside the client (§1.8: escrow)
    if status == 400:
        assert exc.scim_type == "invalidValue"


async def test_probe_404_is_explained_as_a_compliance_issue(stub: Stub) -> None:
    stub.recorder.then(Answer(404, text="Not Found"))
    with pytest.raises(ScimClientError) as caught:
        await stub.client().probe()
    assert caught.value.code == NOT_FOUND
    assert "compliance" in caught.value.reason and "compliance" in str(caught.value)


async def test_timeout_is_retryable(stub: Stub) -> None:
    stub.recorder.then(Answer(200, EMPTY_LIST, delay=1.0))
    with pytest.raises(ScimClientError) as caught:
        await stub.client(timeout=0.2).probe()
    assert caught.value.code == TIMEOUT and caught.value.retryable and caught.value.status is None
    assert "timed out" in caught.value.reason
    assert stub.exchanges[-1].error and stub.exchanges[-1].response is None


async def test_connection_refused_is_a_retryable_transport_error() -> None:
    port = free_port()  # bound then closed: nothing listens there
    async with aiohttp.ClientSession() as session:
        client = ScimClient(session, f"http://127.0.0.1:{port}/scim", SECRET, clock=ManualClock())
        with pytest.raises(ScimClientError) as caught:
            await client.probe()
    assert caught.value.code == TRANSPORT_ERROR and caught.value.retryable
    assert "refused" in caught.value.reason and f"127.0.0.1:{port}" in caught.value.reason


@pytest.mark.parametrize(
    "answer",
    [
        Answer(200, text="<html>hello</html>", headers={"Content-Type": "text/html"}),
        Answer(200, {"schemas": [LIST_RESPONSE], "items": []}),
        Answer(200, {"totalResults": 2}),
        Answer(200, {"totalResults": 1, "Resources": [{"userName": "no id"}]}),
        Answer(200, [1, 2]),
        Answer(200),
    ],
)
async def test_unusable_2xx_bodies_are_service_incompatible(stub: Stub, answer: Answer) -> None:
    stub.recorder.then(answer)
    with pytest.raises(ScimClientError) as caught:
        await stub.client().query_users("userName", "x")
    assert caught.value.code == SERVICE_INCOMPATIBLE and not caught.value.retryable
    assert "HTTP 200" in caught.value.reason


async def test_a_probe_that_finds_someone_is_service_incompatible(stub: Stub) -> None:
    stub.recorder.then(Answer(200, {"schemas": [LIST_RESPONSE], "totalResults": 1, "Resources": [USER]}))
    with pytest.raises(ScimClientError) as caught:
        await stub.client().probe()
    assert caught.value.code == SERVICE_INCOMPATIBLE and "filter" in caught.value.reason


async def test_a_redirect_is_reported_not_followed(stub: Stub) -> None:
    stub.recorder.then(Answer(302, headers={"Location": "https://elsewhere.example/scim/Users"}))
    with pytest.raises(ScimClientError) as caught:
        await stub.client().probe()
    assert caught.value.code == SERVICE_INCOMPATIBLE and "elsewhere.example" in caught.value.reason
    assert len(stub.recorder.seen) == 1


async def test_the_token_never_appears_in_errors_or_summaries(stub: Stub) -> None:
    echo = {"detail": f"token {SECRET} is not valid", "status": "401"}
    stub.recorder.then(Answer(401, echo, headers={"X-Echo": f"Bearer {SECRET}"}))
    client = stub.client()
    with pytest.raises(ScimClientError) as caught:
        await client.create_user(create_user_body({"userName": "a@contoso.com"}))
    exc = caught.value
    texts = [
        str(exc),
        repr(exc),
        exc.reason,
        json.dumps(exc.to_json()),
        repr(client),
        *(json.dumps(e.to_json()) for e in stub.exchanges),
    ]
    for text in texts:
        assert SECRET not in text, text
    assert "token *** is not valid" in exc.reason
    assert stub.recorder.seen[0].headers["Authorization"] == f"Bearer {SECRET}"  # it was sent, though


# --- Against the emulator's own receiver -------------------------------------------------------------


@pytest.mark.parametrize("profile", ["galaxy", "full"])
async def test_full_round_trip_against_the_galaxy_receiver(start_emulator, profile: str) -> None:
    emu = await start_emulator(scim_profile=profile)
    clock = ManualClock()
    plain = ScimClient(emu.session, emu.scim_url + "/", TOKEN, clock=clock)
    flagged = ScimClient(emu.session, emu.scim_url + "/?aadOptscim062020", TOKEN, clock=clock)
    peek = emu.scim()  # the test's own reader, to see members the client never asks for
    assert not plain.mode.rfc_patch and flagged.mode.rfc_patch

    await plain.probe()
    await flagged.probe()

    # Create two users the way Entra does, then match them by userName.
    adele = await plain.create_user(
        create_user_body(
            {
                "userName": "adele@contoso.com",
                "active": "True",
                "displayName": "Adele Vance",
                'emails[type eq "work"].value': "adele@contoso.com",
                "name.givenName": "Adele",
                "name.familyName": "Vance",
                "externalId": "AdeleV",
                f"{ENTERPRISE_USER}:department": "Retail",
            }
        )
    )
    alex = await plain.create_user(
        create_user_body({"userName": "alex@contoso.com", "active": "True", "displayName": "Alex Wilber"})
    )
    found = await plain.query_users("userName", "adele@contoso.com")
    assert [u["id"] for u in found] == [adele["id"]]
    assert await plain.query_users("userName", "nobody@contoso.com") == []

    # Default-mode update: one op per attribute, capitalised.
    body = user_patch_body(
        [
            Change("displayName", "Adele Vance", "Adele V."),
            Change("name.familyName", "Vance", "Vance-Smith"),
            Change('emails[type eq "work"].value', "adele@contoso.com", "adele.v@contoso.com"),
        ],
        plain.mode,
    )
    await plain.patch_user(adele["id"], body)
    got = await plain.get_user(adele["id"])
    assert value_at(got, "displayName") == "Adele V." and value_at(got, "name.familyName") == "Vance-Smith"

    # Flag-mode update: merged path-less replace with dotted and URN-qualified keys.
    body = user_patch_body(
        [
            Change("name.givenName", "Adele", "Adèle"),
            Change("displayName", "Adele V.", "Adèle Vance-Smith"),
            Change(f"{ENTERPRISE_USER}:employeeNumber", None, "1001"),
        ],
        flagged.mode,
    )
    assert body is not None and any("path" not in op for op in body["Operations"])
    await flagged.patch_user(adele["id"], body)
    got = await flagged.get_user(adele["id"])
    assert value_at(got, "name.givenName") == "Adèle" and got["displayName"] == "Adèle Vance-Smith"
    if profile == "full":
        assert value_at(got, 'emails[type eq "work"].value') == "adele.v@contoso.com"
        assert value_at(got, f"{ENTERPRISE_USER}:employeeNumber") == "1001"
        # The manager reference, resolved by PATCH after both users exist (§1.6 "Manager").
        body = user_patch_body([Change(MANAGER_PATH, None, alex["id"])], plain.mode, base_url=plain.base_url)
        await plain.patch_user(adele["id"], body)
        assert value_at(await plain.get_user(adele["id"]), "manager") == alex["id"]

    # Disable and re-enable, in both modes.
    await plain.patch_user(adele["id"], active_patch_body(False, plain.mode))
    assert (await plain.get_user(adele["id"]))["active"] is False
    await flagged.patch_user(adele["id"], active_patch_body(True, flagged.mode))
    assert (await plain.get_user(adele["id"]))["active"] is True
    await flagged.patch_user(adele["id"], active_patch_body(False, flagged.mode))
    # Soft-deleted users are still found by filter (§1.3).
    assert [u["id"] for u in await plain.query_users("userName", "adele@contoso.com")] == [adele["id"]]

    # Groups: created without members, then members patched in by target id.
    group = await plain.create_group(create_group_body({"displayName": "Retail", "externalId": "g-obj-1"}))
    listed = await plain.query_groups_by_name("Retail")
    assert [g["id"] for g in listed] == [group["id"]] and "members" not in listed[0]
    assert "members" not in await plain.get_group(group["id"])

    async def members() -> list[str]:
        reply = await peek.get(f"/Groups/{group['id']}")
        return sorted(m["value"] for m in reply.json.get("members", []))

    for body in members_patch_bodies([adele["id"], alex["id"]], [], plain.mode):
        await plain.patch_group(group["id"], body)
    assert await members() == sorted([adele["id"], alex["id"]])
    for body in members_patch_bodies([], [alex["id"]], plain.mode):  # value array: only alex goes
        await plain.patch_group(group["id"], body)
    assert await members() == [adele["id"]]
    for body in members_patch_bodies([alex["id"]], [adele["id"]], flagged.mode, batch_size=1):
        await flagged.patch_group(group["id"], body)
    assert await members() == [alex["id"]]

    # Rename in both modes.
    await plain.patch_group(
        group["id"], group_patch_body([Change("displayName", "Retail", "Retail EU")], plain.mode)
    )
    await flagged.patch_group(
        group["id"], group_patch_body([Change("displayName", "Retail EU", "Retail Europe")], flagged.mode)
    )
    assert (await plain.get_group(group["id"]))["displayName"] == "Retail Europe"

    # Delete the group and a user; afterwards they are gone (404 → NotFound for the engine).
    await plain.delete_group(group["id"])
    await plain.delete_user(alex["id"])
    assert await plain.query_groups_by_name("Retail Europe") == []
    with pytest.raises(ScimClientError) as caught:
        await plain.get_user(alex["id"])
    assert caught.value.code == NOT_FOUND
