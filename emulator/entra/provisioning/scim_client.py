"""The provisioning engine's SCIM client: Entra's requests on the wire, and its error codes back.

The engine builds bodies with `quirks` and sends them through this client, which owns the rest
of what Entra does on the wire (reference ../shared/reference/entra-and-galaxy.md §1): the
bearer token on every request, the Test Connection probe with its exact URL encoding, the
queries by matching attribute, `excludedAttributes=members` on group reads, and the translation
of every failure into one of the error codes Entra writes into its provisioning logs (§1.8,
S11) with a sentence a person can act on.

What it does not do: decide what to send (the planner), retry 5xx or timeouts (the engine
escrows the object and retries in a later cycle, §1.8), or log anything itself. It reports each
request/response pair through `on_exchange` and `last_exchange`, summarised for provisioning-log
step details with the Authorization header left out and the token masked wherever it might
echo, so a token can never reach a log.
"""

from __future__ import annotations

import asyncio
import errno
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from email.utils import parsedate_to_datetime
from http import HTTPStatus
from typing import Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from emulator.clock import Clock
from emulator.entra.provisioning.quirks import WireMode, on_demand_mode, parse_tenant_url

__all__ = [
    "BAD_REQUEST",
    "ENTRY_CONFLICT",
    "INSUFFICIENT_RIGHTS",
    "INTERNAL_SERVER_ERROR",
    "NOT_FOUND",
    "SCIM_MEDIA_TYPE",
    "SERVICE_INCOMPATIBLE",
    "TIMEOUT",
    "TOO_MANY_REQUESTS",
    "TRANSPORT_ERROR",
    "UNAUTHORIZED",
    "Exchange",
    "RequestSummary",
    "ResponseSummary",
    "ScimClient",
    "ScimClientError",
]

# Error codes of Entra's provisioning logs (reference §1.8, S11). NOT_FOUND and BAD_REQUEST are
# the client's own: the engine maps a 404 on a cached id to `InvalidAnchor` and a 404 from the
# probe to a "SCIM compliance issue" (§1.2, S4), which only it can tell apart.
UNAUTHORIZED = "Unauthorized"
INSUFFICIENT_RIGHTS = "InsufficientRights"
NOT_FOUND = "NotFound"
ENTRY_CONFLICT = "EntryConflict"
TOO_MANY_REQUESTS = "TooManyRequests"
INTERNAL_SERVER_ERROR = "InternalServerError"
TIMEOUT = "Timeout"
# Every transport failure (connection refused, reset, DNS, TLS, malformed HTTP) gets the one
# transport code S11 lists, `WebExceptionProtocolError` ("retry in 40 min"); the reason says
# which failure it was. `ConnectionRefused` is not an Entra code we could find.
TRANSPORT_ERROR = "WebExceptionProtocolError"
SERVICE_INCOMPATIBLE = "SystemForCrossDomainIdentityManagementServiceIncompatible"
BAD_REQUEST = "BadRequest"

# Reference §1.1 (S1): SCIM's media type both ways.
SCIM_MEDIA_TYPE = "application/scim+json"

BODY_LIMIT = 4096  # bytes of a body kept in a summary
MASK = "***"


@dataclass(frozen=True)
class RequestSummary:
    """A request as a provisioning-log step may show it: never the Authorization header."""

    method: str
    url: str
    headers: dict[str, str]
    body: str | None


@dataclass(frozen=True)
class ResponseSummary:
    """A response as a provisioning-log step may show it (body cut at 4 KiB)."""

    status: int
    reason: str
    headers: dict[str, str]
    body: str | None


@dataclass(frozen=True)
class Exchange:
    """One HTTP attempt: what was sent, what came back (or the transport error), and when.

    `at` is the engine clock's time; `duration_ms` is real elapsed time, a measurement rather
    than a schedule, so it is read from the event loop's monotonic clock."""

    at: str
    attempt: int
    request: RequestSummary
    response: ResponseSummary | None = None
    error: str | None = None
    duration_ms: float = 0.0

    def to_json(self) -> dict:
        return asdict(self)


class ScimClientError(Exception):
    """A failed SCIM call, classified as Entra's provisioning logs classify it (reference §1.8).

    `code` is the log's error code, `reason` a sentence for a person (HTTP status and the
    server's SCIM `detail` included when there is one), `retryable` says whether the engine
    should escrow and try again in a later cycle (429, 5xx, timeouts, transport failures).
    The secret token never appears in any of it."""

    def __init__(
        self,
        code: str,
        reason: str,
        *,
        status: int | None = None,
        retryable: bool = False,
        request: RequestSummary | None = None,
        response: ResponseSummary | None = None,
        detail: str | None = None,
        scim_type: str | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(f"{code}: {reason}")
        self.code = code
        self.reason = reason
        self.status = status
        self.retryable = retryable
        self.request = request
        self.response = response
        self.detail = detail
        self.scim_type = scim_type
        self.retry_after = retry_after

    def to_json(self) -> dict:
        return {
            "code": self.code,
            "reason": self.reason,
            "status": self.status,
            "retryable": self.retryable,
            "detail": self.detail,
            "scimType": self.scim_type,
            "retryAfter": self.retry_after,
            "request": asdict(self.request) if self.request else None,
            "response": asdict(self.response) if self.response else None,
        }


@dataclass
class _Reply:
    status: int
    raw: bytes
    summary: ResponseSummary
    request: RequestSummary
    content_type: str = ""


class ScimClient:
    """Entra's SCIM client for one Tenant URL and Secret Token (reference §1.1–§1.3, §1.6).

    `tenant_url` is parsed by `quirks.parse_tenant_url` (flag stripped, `mode` set); pass
    `on_demand=True` for a provision-on-demand run, which ignores the flag (§1.1, §1.9).
    Requests time out after `timeout` seconds; a 429 is retried up to `max_retries` times after
    the server's Retry-After (or a default back-off), slept through `clock`, unless it asks for
    more than `max_retry_after` seconds, in which case the object is left to the engine's escrow.
    """

    def __init__(
        self,
        session: aiohttp.ClientSession,
        tenant_url: str,
        secret_token: str | None,
        *,
        clock: Clock,
        timeout: float = 30.0,
        max_retries: int = 3,
        max_retry_after: float = 300.0,
        on_demand: bool = False,
        on_exchange: Callable[[Exchange], None] | None = None,
    ) -> None:
        base, mode = parse_tenant_url(tenant_url)
        # The base as yarl encodes it (IDNA host, percent-encoded path), so that every URL built
        # from it can be handed over pre-encoded and reach the wire byte for byte.
        self.base_url = str(URL(base))
        self.mode: WireMode = on_demand_mode() if on_demand else mode
        self._session = session
        self._token = secret_token or None
        self._clock = clock
        self.timeout = timeout
        self.max_retries = max_retries
        self.max_retry_after = max_retry_after
        self.on_exchange = on_exchange
        self.last_exchange: Exchange | None = None
        self.request_count = 0  # HTTP attempts sent, retries included (for cycle statistics)

    def __repr__(self) -> str:
        return f"ScimClient({self.base_url!r}, rfc_patch={self.mode.rfc_patch})"

    # --- Users --------------------------------------------------------------------------------

    async def probe(self, attribute: str = "userName", value: str | None = None) -> str:
        """Test Connection (reference §1.2, S1): query Users for a random GUID as the value of
        the matching attribute and expect HTTP 200 with an empty ListResponse. Also run at the
        start of each provisioning cycle (S14). Returns the GUID it asked for.

        Entra also fetches a random group (S1); the shape of that request is [U], so it is not
        sent. A 404 keeps code NotFound but says it is a SCIM compliance issue (S4)."""
        value = value or str(uuid.uuid4())
        try:
            found = await self.query_users(attribute, value)
        except ScimClientError as exc:
            if exc.code == NOT_FOUND:
                exc.reason = (
                    f"{exc.reason} A SCIM endpoint must answer a query with HTTP 200 and a ListResponse "
                    "even when nothing matches (reference §1.2); a 404 here is a SCIM compliance issue, "
                    "or the Tenant URL does not point at the SCIM base."
                )
                exc.args = (f"{exc.code}: {exc.reason}",)
            raise
        if found:
            reply = self.last_exchange
            raise ScimClientError(
                SERVICE_INCOMPATIBLE,
                f'The SCIM endpoint returned {len(found)} user(s) for {attribute} eq "{value}", a random '
                "value no user has: it should answer with an empty ListResponse. Does it ignore the filter "
                "parameter?",
                status=200,
                request=reply.request if reply else None,
                response=reply.response if reply else None,
            )
        return value

    async def query_users(self, attribute: str, value: str) -> list[dict]:
        """`GET /Users?filter=<attribute> eq "<value>"` (reference §1.3: users are queried by
        their matching attribute, only `eq` is used). Every resource must carry an `id`."""
        reply = await self._send("GET", "/Users?filter=" + _filter_query(attribute, value))
        return _list_resources(reply)

    async def get_user(self, user_id: str) -> dict:
        """`GET /Users/{id}` (reference §1.6 "Get user")."""
        reply = await self._send("GET", f"/Users/{_segment(user_id)}")
        return _resource(reply)

    async def create_user(self, body: Mapping[str, Any]) -> dict:
        """`POST /Users`; the answer must be the created resource with its `id` (§1.6)."""
        reply = await self._send("POST", "/Users", body)
        return _resource(reply)

    async def patch_user(self, user_id: str, body: Mapping[str, Any]) -> dict | None:
        """`PATCH /Users/{id}`: the resource when the server returns one, None for 204 or an
        empty 200 ("PATCH responses need not contain the resource", §1.3)."""
        return _optional_resource(await self._send("PATCH", f"/Users/{_segment(user_id)}", body))

    async def delete_user(self, user_id: str) -> None:
        """`DELETE /Users/{id}` (§1.6, expected 204)."""
        await self._send("DELETE", f"/Users/{_segment(user_id)}")

    # --- Groups -------------------------------------------------------------------------------

    async def query_groups_by_name(self, display_name: str) -> list[dict]:
        """`GET /Groups?excludedAttributes=members&filter=displayName eq "<name>"` — parameter
        order as in §1.6 "Get Group by displayName" (S1); groups are matched by displayName
        and read without members (§1.3)."""
        query = "excludedAttributes=members&filter=" + _filter_query("displayName", display_name)
        return _list_resources(await self._send("GET", "/Groups?" + query))

    async def get_group(self, group_id: str) -> dict:
        """`GET /Groups/{id}?excludedAttributes=members` (§1.6 "Get group", S1)."""
        reply = await self._send("GET", f"/Groups/{_segment(group_id)}?excludedAttributes=members")
        return _resource(reply)

    async def create_group(self, body: Mapping[str, Any]) -> dict:
        """`POST /Groups` (created without members, §1.6 "Create group")."""
        return _resource(await self._send("POST", "/Groups", body))

    async def patch_group(self, group_id: str, body: Mapping[str, Any]) -> dict | None:
        """`PATCH /Groups/{id}`; Entra expects 204 (§1.6) but takes a 200 with a body."""
        return _optional_resource(await self._send("PATCH", f"/Groups/{_segment(group_id)}", body))

    async def delete_group(self, group_id: str) -> None:
        """`DELETE /Groups/{id}` (§1.6, expected 204)."""
        await self._send("DELETE", f"/Groups/{_segment(group_id)}")

    # --- The wire -----------------------------------------------------------------------------

    async def _send(self, method: str, path: str, body: Mapping[str, Any] | None = None) -> _Reply:
        """One call: send, retry 429s after Retry-After, and turn any failure into a
        ScimClientError; returns only 2xx replies."""
        url_text = self.base_url + path
        # `encoded=True`: the query is already encoded Entra's way (`+` for spaces, `%22` for
        # quotes, reference §1.2); yarl must not re-encode it.
        url = URL(url_text, encoded=True)
        data = orjson.dumps(body) if body is not None else None
        headers = {"Accept": SCIM_MEDIA_TYPE}
        if data is not None:
            headers["Content-Type"] = SCIM_MEDIA_TYPE
        shown = dict(headers)  # what summaries may show: never Authorization
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        request = RequestSummary(method, url_text, shown, self._cut(data) if data is not None else None)
        attempt = 0
        while True:
            attempt += 1
            reply = await self._attempt(method, url, data, headers, request, attempt)
            if reply.status != 429:
                break
            delay = self._retry_delay(reply, attempt)
            if attempt > self.max_retries or delay > self.max_retry_after:
                raise self._failure(reply, retry_after=delay)
            await self._clock.sleep(delay)
        if 200 <= reply.status < 300:
            return reply
        raise self._failure(reply)

    async def _attempt(
        self,
        method: str,
        url: URL,
        data: bytes | None,
        headers: dict[str, str],
        request: RequestSummary,
        attempt: int,
    ) -> _Reply:
        loop = asyncio.get_running_loop()
        at = self._clock.timestamp()
        started = loop.time()
        self.request_count += 1
        try:
            async with self._session.request(
                method,
                url,
                data=data,
                headers=headers,
                timeout=aiohttp.ClientTimeout(total=self.timeout),
                # Reference §5: Entra's headers other than Authorization and Content-Type are
                # unverified, so aiohttp's own User-Agent is not sent either.
                skip_auto_headers=("User-Agent",),
                # Whether Entra follows redirects is [U]; a redirect is reported, not followed
                # (following one could carry the token to another host).
                allow_redirects=False,
            ) as resp:
                raw = await resp.read()
                response = ResponseSummary(
                    resp.status,
                    resp.reason or _phrase(resp.status),
                    {k: self._mask(v) for k, v in resp.headers.items() if k.lower() != "set-cookie"},
                    self._cut(raw) if raw else None,
                )
                reply = _Reply(resp.status, raw, response, request, resp.headers.get("Content-Type", ""))
        except TimeoutError:
            message = f"no complete answer within {self.timeout:g} s"
            self._record(Exchange(at, attempt, request, None, message, _ms(loop.time() - started)))
            raise ScimClientError(
                TIMEOUT,
                f"{request.method} {request.url} timed out: {message}. Entra retries the object in a later "
                "cycle.",
                retryable=True,
                request=request,
            ) from None
        except aiohttp.ClientError as exc:
            message = self._mask(_transport_reason(exc, url))
            self._record(Exchange(at, attempt, request, None, message, _ms(loop.time() - started)))
            raise ScimClientError(
                TRANSPORT_ERROR,
                f"{request.method} {request.url} failed: {message}. Entra retries the object in a later "
                "cycle.",
                retryable=True,
                request=request,
            ) from None
        self._record(Exchange(at, attempt, request, response, None, _ms(loop.time() - started)))
        return reply

    def _record(self, exchange: Exchange) -> None:
        self.last_exchange = exchange
        if self.on_exchange is not None:
            self.on_exchange(exchange)

    def _retry_delay(self, reply: _Reply, attempt: int) -> float:
        """Seconds to wait before retrying a 429: Retry-After as delay-seconds or an HTTP-date
        (RFC 9110 §10.2.3), a date measured against the response's own Date header when it has
        one (so clock skew does not matter), else against the engine clock. Without the header,
        1 s, 2 s, 4 s, ... ([U]: Entra's own back-off is not documented)."""
        headers = reply.summary.headers
        value = _header(headers, "Retry-After")
        if value is not None:
            value = value.strip()
            try:
                return max(float(value), 0.0)
            except ValueError:
                pass
            when = _http_date(value)
            if when is not None:
                now = _http_date(_header(headers, "Date") or "") or self._clock.now()
                return max((when - now).total_seconds(), 0.0)
        return float(2 ** (attempt - 1))

    def _failure(self, reply: _Reply, *, retry_after: float | None = None) -> ScimClientError:
        """The ScimClientError for a non-2xx answer (reference §1.8, S11 codes)."""
        status = reply.status
        detail, scim_type = _error_detail(reply.raw)
        detail = self._mask(detail) if detail else None
        said = f"{reply.request.method} {reply.request.url} answered HTTP {status} {reply.summary.reason}"
        if detail:
            said += f': "{detail}"'
        if scim_type:
            said += f" (scimType {scim_type})"
        said += "."
        retryable = False
        if status == 401:
            code, advice = UNAUTHORIZED, "The Secret Token was rejected: check it, or generate a new one."
        elif status == 403:
            code, advice = INSUFFICIENT_RIGHTS, "The Secret Token is not allowed to do this."
        elif status == 404:
            code, advice = NOT_FOUND, "The resource or endpoint does not exist."
        elif status == 409:
            code, advice = ENTRY_CONFLICT, "The target already holds a conflicting object (duplicate value)."
        elif status == 429:
            code, retryable = TOO_MANY_REQUESTS, True
            if retry_after is not None and retry_after > self.max_retry_after:
                advice = f"It asked to wait {retry_after:g} s; Entra retries the object in a later cycle."
            else:
                advice = (
                    f"Still throttled after {self.max_retries} retries; Entra retries the object in a later "
                    "cycle."
                )
        elif status >= 500:
            code, retryable = INTERNAL_SERVER_ERROR, True
            advice = "Entra retries the object in a later cycle."
        elif 400 <= status < 500:
            code, advice = BAD_REQUEST, "The SCIM endpoint refused the request."
        else:
            code = SERVICE_INCOMPATIBLE
            location = _header(reply.summary.headers, "Location")
            advice = "A SCIM endpoint must answer directly" + (
                f" (it points to {location})." if location else "."
            )
        return ScimClientError(
            code,
            f"{said} {advice}",
            status=status,
            retryable=retryable,
            request=reply.request,
            response=reply.summary,
            detail=detail,
            scim_type=scim_type,
            retry_after=retry_after,
        )

    def _mask(self, text: str) -> str:
        """`text` with the token blanked out, in case a server echoes it back."""
        if self._token and self._token in text:
            return text.replace(self._token, MASK)
        return text

    def _cut(self, raw: bytes) -> str:
        text = raw[:BODY_LIMIT].decode("utf-8", errors="replace")
        if len(raw) > BODY_LIMIT:
            text += f"… ({len(raw)} bytes in all)"
        return self._mask(text)


# --- Response shapes ---------------------------------------------------------------------------


def _incompatible(reply: _Reply, why: str) -> ScimClientError:
    # Reference §1.8 (S11): an answer Entra cannot use is "ServiceIncompatible".
    return ScimClientError(
        SERVICE_INCOMPATIBLE,
        f"{reply.request.method} {reply.request.url} answered HTTP {reply.status} but {why}.",
        status=reply.status,
        request=reply.request,
        response=reply.summary,
    )


def _json(reply: _Reply) -> Any:
    if not reply.raw.strip():
        raise _incompatible(reply, "with an empty body where a SCIM resource was expected")
    try:
        return orjson.loads(reply.raw)
    except orjson.JSONDecodeError:
        kind = reply.content_type or "no Content-Type"
        raise _incompatible(reply, f"the body is not JSON ({kind})") from None


def _list_resources(reply: _Reply) -> list[dict]:
    """The resources of a ListResponse (reference §1.3: "any query/filter answer is a
    ListResponse"; RFC 7644 §3.4.2: `Resources` may be left out only when totalResults is 0)."""
    body = _json(reply)
    if not isinstance(body, dict):
        raise _incompatible(reply, "the body is not a SCIM ListResponse object")
    total = _get_ci(body, "totalResults")
    resources = _get_ci(body, "Resources")
    if total is None and resources is None:
        raise _incompatible(reply, "the body is not a SCIM ListResponse (no totalResults, no Resources)")
    if total is not None and (not isinstance(total, int) or isinstance(total, bool)):
        raise _incompatible(reply, f"totalResults is {total!r}, not a number")
    if resources is None:
        if total:
            raise _incompatible(reply, f"totalResults is {total} but there is no Resources list")
        return []
    if not isinstance(resources, list):
        raise _incompatible(reply, "Resources is not a list")
    for item in resources:
        _check_resource(reply, item)
    return resources


def _resource(reply: _Reply) -> dict:
    body = _json(reply)
    _check_resource(reply, body)
    return body


def _optional_resource(reply: _Reply) -> dict | None:
    """A PATCH answer: its resource when it sent a JSON object, else None (§1.3: a PATCH
    response need not contain the resource, so an odd body is not worth failing the change)."""
    if reply.status == 204 or not reply.raw.strip():
        return None
    try:
        body = orjson.loads(reply.raw)
    except orjson.JSONDecodeError:
        return None
    return body if isinstance(body, dict) else None


def _check_resource(reply: _Reply, item: Any) -> None:
    # Reference §1.3 (S1): "every returned resource has `id`".
    if not isinstance(item, dict):
        raise _incompatible(reply, "a returned resource is not a JSON object")
    resource_id = item.get("id")
    if not isinstance(resource_id, str) or not resource_id:
        raise _incompatible(reply, "a returned resource has no 'id'")


def _error_detail(raw: bytes) -> tuple[str | None, str | None]:
    """`detail` and `scimType` of a SCIM Error message (RFC 7644 §3.12), if the body is one."""
    try:
        body = orjson.loads(raw) if raw.strip() else None
    except orjson.JSONDecodeError:
        return None, None
    if not isinstance(body, dict):
        return None, None
    detail = _get_ci(body, "detail")
    scim_type = _get_ci(body, "scimType")
    return (
        str(detail)[:500] if detail not in (None, "") else None,
        str(scim_type) if scim_type not in (None, "") else None,
    )


# --- Encoding ------------------------------------------------------------------------------------

_UNRESERVED = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.!*()")


def _form_encode(text: str) -> str:
    """Query-string encoding in the style Entra's probe shows (reference §1.2, S14:
    `filter=userName+eq+%22<guid>%22`): spaces as `+`, everything but letters, digits and
    `-_.!*()` percent-encoded from UTF-8 with upper-case hex. That is .NET's
    WebUtility.UrlEncode, the likely encoder of a .NET service; beyond the probe it is [U]."""
    out: list[str] = []
    for char in text:
        if char in _UNRESERVED:
            out.append(char)
        elif char == " ":
            out.append("+")
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
    return "".join(out)


def _filter_query(attribute: str, value: str) -> str:
    """`<attribute> eq "<value>"`, encoded. The value is a JSON string in filter grammar
    (RFC 7644 §3.4.2.2), so `"` and `\\` are escaped. Entra is documented to fail on "special
    characters" in filter values (§1.3, S7) without saying which; the emulator does not invent
    that failure here: the engine may refuse such values itself if it wants to reproduce it."""
    escaped = value.replace("\\", "\\\\").replace('"', '\\"')
    return _form_encode(f'{attribute} eq "{escaped}"')


def _segment(resource_id: str) -> str:
    """A resource id as one path segment (a `/` in an id must not open another segment)."""
    if not resource_id:
        raise ValueError("a resource id must not be empty")
    return quote(resource_id, safe="")


# --- Small helpers ---------------------------------------------------------------------------------


def _transport_reason(exc: aiohttp.ClientError, url: URL) -> str:
    where = f"{url.host}:{url.port}" if url.port else str(url.host)
    dns_error = getattr(aiohttp, "ClientConnectorDNSError", ())
    if isinstance(exc, aiohttp.ClientConnectorCertificateError | aiohttp.ClientSSLError):
        return f"the TLS handshake with {where} failed ({exc})"
    if isinstance(exc, dns_error):
        return f"the host name {url.host} could not be resolved"
    if isinstance(exc, aiohttp.ClientConnectorError):
        os_error = exc.os_error
        if isinstance(os_error, ConnectionRefusedError) or os_error.errno == errno.ECONNREFUSED:
            return f"the connection to {where} was refused (is the SCIM server running?)"
        return f"could not connect to {where} ({os_error.strerror or os_error})"
    if isinstance(exc, aiohttp.ServerDisconnectedError):
        return f"{where} closed the connection without answering"
    if isinstance(exc, aiohttp.ClientPayloadError):
        return f"the answer from {where} was cut short ({exc})"
    if isinstance(exc, aiohttp.ClientResponseError):
        return f"{where} did not answer with valid HTTP ({exc.message})"
    return f"{type(exc).__name__}: {exc}"


def _header(headers: Mapping[str, str], name: str) -> str | None:
    return _get_ci(headers, name)


def _get_ci(mapping: Mapping[str, Any], key: str) -> Any:
    if key in mapping:
        return mapping[key]
    lowered = key.lower()
    return next((v for k, v in mapping.items() if isinstance(k, str) and k.lower() == lowered), None)


def _http_date(text: str) -> datetime | None:
    try:
        when = parsedate_to_datetime(text)
    except (TypeError, ValueError, IndexError):
        return None
    return when if when.tzinfo else when.replace(tzinfo=UTC)


def _phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return ""


def _ms(seconds: float) -> float:
    return round(seconds * 1000, 3)
