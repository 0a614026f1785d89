"""`GalaxySso`: Galaxy's sign-in service behind the login pages, the ACS and the control API.

It owns the direct users, the SSO configuration, the AuthnRequests Galaxy has sent and not yet
seen answered (each ID is good for one response), and the IDs of assertions already used (kept
until they expire, so a response posted twice signs in once: pysaml2 accepts it twice, reference
saml.md §3). A verified assertion then admits its user only if SCIM provisioned them and they are
active: that is the "login after provisioning" moment of the demo.

Everything here runs on the event loop: the in-process signature check takes a few milliseconds,
and keeping it on the loop means the request and replay bookkeeping never races.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

import aiohttp

from emulator.clock import Clock
from emulator.galaxy.directory import GalaxyDirectory
from emulator.galaxy.sso.direct_users import DirectUsers
from emulator.galaxy.sso.metadata import (
    IdpTrust,
    SpValues,
    SsoConfigError,
    check_url,
    manual_trust,
    sp_metadata_xml,
    trust_from_metadata,
)
from emulator.galaxy.sso.refusals import LoginRefused, RefusalCode
from emulator.galaxy.sso.settings import (
    SOURCE_MANUAL,
    SOURCE_METADATA_URL,
    SsoConfiguration,
    SsoSettings,
    configuration_view,
)
from emulator.store import Store

if TYPE_CHECKING:
    from emulator.galaxy.sso.acs import AcsValidator, VerifiedAssertion

#: How long an AuthnRequest stays answerable: a person may linger on the account picker.
REQUEST_LIFETIME = timedelta(minutes=30)
MAX_OUTSTANDING = 10_000
METADATA_TIMEOUT = aiohttp.ClientTimeout(total=10)
MAX_METADATA_BYTES = 1024 * 1024


@dataclass(frozen=True)
class SignedIn:
    """Who signed in and how: what the session keeps and the landing page shows."""

    email: str
    display_name: str
    method: str  # "sso" or "password"
    roles: tuple[str, ...] = ()
    user_id: str | None = None  # the SCIM id, for SSO users
    issuer: str | None = None
    session_index: str | None = None
    signed: str | None = None  # which part of the response was signed
    solicited: bool | None = None  # SP-initiated (True) or IdP-initiated (False)
    target: str = "/galaxy/"  # where the browser goes next

    def to_session(self) -> dict:
        return {
            "email": self.email,
            "displayName": self.display_name,
            "method": self.method,
            "roles": list(self.roles),
            "userId": self.user_id,
            "issuer": self.issuer,
            "sessionIndex": self.session_index,
            "signed": self.signed,
            "solicited": self.solicited,
        }


@dataclass
class _Outstanding:
    created: datetime
    target: str


class GalaxySso:
    """Direct users, the SSO configuration and the SAML service provider of one Galaxy account."""

    def __init__(
        self,
        store: Store,
        clock: Clock,
        directory: GalaxyDirectory,
        galaxy_base: str,
        mount: str = "/galaxy",
    ) -> None:
        """`galaxy_base` is Galaxy's public URL including its mount (`{base}/galaxy`)."""
        self.clock = clock
        self.directory = directory
        self.commit = store.commit
        self.mount = mount.rstrip("/")
        self.sp = SpValues.for_base(galaxy_base)
        self.direct_users = DirectUsers(store, clock)
        self.settings = SsoSettings(store, clock)
        self._validator: AcsValidator | None = None
        self._outstanding: OrderedDict[str, _Outstanding] = OrderedDict()
        self._used_assertions: dict[str, datetime] = {}

    # -- direct users --------------------------------------------------------------------------

    def ensure_accountadmin(self) -> str | None:
        """See `DirectUsers.ensure_accountadmin`: the generated password, once."""
        return self.direct_users.ensure_accountadmin()

    def sign_in_directly(self, email: str, password: str, target: str | None = None) -> SignedIn | None:
        user = self.direct_users.authenticate(email, password)
        if user is None:
            return None
        return SignedIn(
            email=user["email"],
            display_name=user["displayName"],
            method="password",
            roles=tuple(user["roles"]),
            target=self.safe_target(target),
        )

    # -- configuration -------------------------------------------------------------------------

    @property
    def configuration(self) -> SsoConfiguration | None:
        return self.settings.get()

    def view(self) -> dict:
        return configuration_view(self.configuration, self.sp)

    async def configure(self, body: Mapping) -> SsoConfiguration:
        """Save a configuration from the control API's JSON or the SSO page's form:
        `{"metadataUrl": ...}` (fetched now) or `{"certificate", "loginUrl", "entraIdentifier"}`,
        plus optional `allowSha1` and `allowUnsolicited`. Raises `SsoConfigError`."""
        current = self.configuration
        allow_sha1 = _flag(body, "allowSha1", current.allow_sha1 if current else False)
        allow_unsolicited = _flag(body, "allowUnsolicited", current.allow_unsolicited if current else True)
        metadata_url = _text(body, "metadataUrl")
        manual = {name: _text(body, name) for name in ("certificate", "loginUrl", "entraIdentifier")}
        if metadata_url and any(manual.values()):
            raise SsoConfigError(
                "give either metadataUrl or the manual values "
                "(certificate, loginUrl, entraIdentifier), not both"
            )
        if metadata_url:
            trust = await self.fetch_metadata(metadata_url)
            source = SOURCE_METADATA_URL
        elif any(manual.values()):
            trust = manual_trust(
                manual["certificate"], manual["loginUrl"], manual["entraIdentifier"], _text(body, "logoutUrl")
            )
            source, metadata_url = SOURCE_MANUAL, None
        elif current is not None and ("allowSha1" in body or "allowUnsolicited" in body):
            trust, source, metadata_url = current.trust, current.source, current.metadata_url
        else:
            raise SsoConfigError(
                "give metadataUrl (Entra's App Federation Metadata Url) "
                "or certificate, loginUrl and entraIdentifier"
            )
        saved = self.settings.save(
            SsoConfiguration(
                source=source,
                trust=trust,
                metadata_url=metadata_url,
                allow_sha1=allow_sha1,
                allow_unsolicited=allow_unsolicited,
            )
        )
        await self.commit()
        return saved

    async def delete_configuration(self) -> bool:
        """Remove the SSO configuration; direct logins keep working. (Real Galaxy also deletes
        SSO users without a password and all groups, reference §2; the emulator keeps SCIM's data.)"""
        existed = self.settings.delete()
        self._outstanding.clear()
        await self.commit()
        return existed

    async def fetch_metadata(self, url: str) -> IdpTrust:
        """Fetch and read the App Federation Metadata; every failure is an `SsoConfigError`."""
        url = check_url(url, "App Federation Metadata Url")
        try:
            async with (
                aiohttp.ClientSession(timeout=METADATA_TIMEOUT) as session,
                session.get(url, headers={"Accept": "application/samlmetadata+xml, application/xml"}) as resp,
            ):
                if resp.status != 200:
                    raise SsoConfigError(f"fetching the metadata from {url} answered HTTP {resp.status}")
                document = await resp.content.read(MAX_METADATA_BYTES + 1)
        except (TimeoutError, aiohttp.ClientError, OSError) as exc:
            raise SsoConfigError(
                f"the metadata could not be fetched from {url}: {exc or type(exc).__name__}"
            ) from None
        if len(document) > MAX_METADATA_BYTES:
            raise SsoConfigError(f"the metadata at {url} is larger than 1 MiB")
        try:
            return trust_from_metadata(document)
        except SsoConfigError as exc:
            raise SsoConfigError(f"the document at {url} is not usable: {exc}") from None

    def metadata_document(self) -> bytes:
        """Galaxy's SP metadata (`GET /galaxy/saml/metadata`)."""
        return sp_metadata_xml(self.sp)

    # -- SP-initiated sign-in ------------------------------------------------------------------

    def start_sign_in(self, target: str | None = None) -> str:
        """Remember a new AuthnRequest and return the Login URL to redirect the browser to (the
        request rides in the query: HTTP-Redirect binding)."""
        validator = self._current_validator()
        target = self.safe_target(target)
        # RelayState is limited to 80 bytes (SAML bindings §3.4.3); the target is also kept with
        # the request, so a long one is simply not echoed.
        relay = target if len(target.encode()) <= 80 else None
        request_id, location = validator.authn_request(relay)
        self._expire_requests()
        self._outstanding[request_id] = _Outstanding(self.clock.now(), target)
        while len(self._outstanding) > MAX_OUTSTANDING:
            self._outstanding.popitem(last=False)
        return location

    # -- the ACS ---------------------------------------------------------------------------------

    def accept(self, saml_response: str | None, relay_state: str | None = None) -> SignedIn:
        """Check a posted response and admit its user, or raise `LoginRefused`.

        Order: decode and verify (nothing consumed on failure); then the one-use rules (an
        answered request ID and the assertion ID are used up even if the user is then refused,
        so the same document never gets a second chance); then admission."""
        from emulator.galaxy.sso.acs import decode_saml_response

        validator = self._current_validator()
        document = decode_saml_response(saml_response or "")
        self._expire_requests()
        verified = validator.validate(document, self._outstanding.keys())
        solicited, target = self._consume(verified, validator.configuration, relay_state)
        return self._admit(verified, solicited, target)

    def _consume(
        self, verified: VerifiedAssertion, configuration: SsoConfiguration, relay_state: str | None
    ) -> tuple[bool, str]:
        now = self.clock.now()
        for assertion_id in [a for a, until in self._used_assertions.items() if until <= now]:
            del self._used_assertions[assertion_id]
        if verified.assertion_id in self._used_assertions:
            raise LoginRefused(
                RefusalCode.REPLAYED,
                f"the assertion {verified.assertion_id!r} has already been used to sign in: "
                "a replayed response",
            )
        if verified.in_response_to:
            request = self._outstanding.pop(verified.in_response_to, None)
            if request is None:
                raise LoginRefused(
                    RefusalCode.UNKNOWN_REQUEST,
                    f"the response answers the request {verified.in_response_to!r}, "
                    "which Galaxy did not send or has already used",
                )
            self._used_assertions[verified.assertion_id] = verified.expires
            return True, request.target
        if not configuration.allow_unsolicited:
            raise LoginRefused(
                RefusalCode.UNSOLICITED,
                "the response answers no request of Galaxy's (IdP-initiated), and unsolicited responses are "
                "turned off in Galaxy's SSO settings",
            )
        self._used_assertions[verified.assertion_id] = verified.expires
        return False, self.safe_target(relay_state)

    def _admit(self, verified: VerifiedAssertion, solicited: bool, target: str) -> SignedIn:
        email = verified.name_id
        found = self.directory.users.table.find_one("userName", email.lower())
        if found is None:
            raise LoginRefused(
                RefusalCode.NOT_PROVISIONED,
                f"{email} is not provisioned yet: Starburst Galaxy has no user with this email. "
                "Assign the user to the Starburst Galaxy app in Microsoft Entra ID, then wait for "
                "the next provisioning cycle (or use Provision on demand).",
            )
        _, user = found
        if not _is_active(user.get("active", True)):
            raise LoginRefused(
                RefusalCode.DEACTIVATED,
                f"{email} is deactivated in Starburst Galaxy: provisioning turned the account off "
                "(the user was unassigned or disabled in Microsoft Entra ID).",
            )
        return SignedIn(
            email=user.get("userName", email),
            display_name=user.get("displayName") or email,
            method="sso",
            user_id=user.get("id"),
            issuer=verified.issuer,
            session_index=verified.session_index,
            signed=verified.signed,
            solicited=solicited,
            target=target,
        )

    def forget_sign_ins(self) -> None:
        """Forget the outstanding AuthnRequests, the used assertion IDs and the cached validator
        (the control API's reset, after which the SSO configuration starts over)."""
        self._outstanding.clear()
        self._used_assertions.clear()
        self._validator = None

    # -- helpers ---------------------------------------------------------------------------------

    def safe_target(self, target: str | None) -> str:
        """Where to send the browser after sign-in: a path inside Galaxy, never another site
        (RelayState and `next` come from the browser, so an open redirect must be impossible)."""
        home = self.mount + "/"
        if not target:
            return home
        parts = urlsplit(target)
        if parts.scheme or parts.netloc:
            own = urlsplit(self.sp.relay_state)
            if (parts.scheme, parts.netloc) != (own.scheme, own.netloc):
                return home
        path = parts.path or "/"
        if (
            "\\" in target
            or path.startswith("//")
            or ".." in path.split("/")
            or not (path == self.mount or path.startswith(home))
        ):
            return home
        return path + (f"?{parts.query}" if parts.query else "")

    def _current_validator(self) -> AcsValidator:
        configuration = self.configuration
        if configuration is None:
            self._validator = None
            raise LoginRefused(
                RefusalCode.NOT_CONFIGURED,
                "single sign-on is not configured in Galaxy: an account admin must add it under "
                "Access → Single sign-on",
            )
        if self._validator is None or self._validator.configuration.revision != configuration.revision:
            from emulator.galaxy.sso.acs import AcsValidator

            self._validator = AcsValidator(self.sp, configuration, self.clock)
        return self._validator

    def _expire_requests(self) -> None:
        horizon = self.clock.now() - REQUEST_LIFETIME
        while self._outstanding:
            request_id, request = next(iter(self._outstanding.items()))
            if request.created > horizon:
                break
            del self._outstanding[request_id]


def _is_active(value: object) -> bool:
    # Entra sends "False" as a string unless the Tenant URL carries aadOptscim062020 (§4 quirk 2).
    if isinstance(value, str):
        return value.strip().lower() != "false"
    return value is not False


def _text(body: Mapping, name: str) -> str:
    value = body.get(name)
    if value is None:
        return ""
    if not isinstance(value, str):
        raise SsoConfigError(f"{name} must be a string")
    return value.strip()


def _flag(body: Mapping, name: str, default: bool) -> bool:
    value = body.get(name, default)
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.lower() in ("true", "on", "1", "false", "off", "0", ""):
        return value.lower() in ("true", "on", "1")
    raise SsoConfigError(f"{name} must be true or false")
