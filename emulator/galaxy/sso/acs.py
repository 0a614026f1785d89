"""Galaxy's Assertion Consumer Service checks: a posted SAMLResponse in, a verified sign-in out.

pysaml2's `Saml2Client`, with the in-process xmlsec backend of `emulator.saml.backend`, checks
the signature profile, the signatures (assertion or response: `want_assertions_or_response_signed`,
so each of Entra's three signing options passes and an unsigned response does not), the
algorithm allowlist (RSA-SHA1 only when the SSO setting allows it), the audience, one assertion
per response, and the bearer subject confirmation. Around it this module adds what pysaml2 leaves
out (reference saml.md §3 and §4):

- before pysaml2 sees anything: strict Base64 (and raw DEFLATE, which pysaml2 also accepts on the
  POST binding), the hardened parser (no DTD or entity: no XXE, no billion laughs), and precise
  reasons for a wrong Issuer, a wrong Destination or an unknown InResponseTo;
- after it, on the objects of the verified document: Issuer, Destination, Recipient, Audience,
  InResponseTo consistency, and every time rule.

**Time.** pysaml2 reads the process's wall clock (`saml2.time_util.utc_now` and `time.gmtime`)
while the emulator's `Clock` can be moved forward (tests, demos that skip to the next provisioning
cycle), and Entra's mock IdP stamps its assertions with that clock. So pysaml2's own time checks
are given a window of a century (`accepted_time_diff`) and every time rule is checked here
against the emulator `Clock` with 180 seconds of skew: Conditions NotBefore/NotOnOrAfter,
SubjectConfirmationData NotBefore/NotOnOrAfter, SessionNotOnOrAfter and IssueInstant. Nothing
global is patched, so two emulators with different clocks can share a process.

pysaml2 is imported here, so this module is imported lazily (about 0.6 s).
"""

from __future__ import annotations

import base64
import binascii
import logging
import warnings
import zlib
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from cryptography.utils import CryptographyDeprecationWarning
from lxml import etree

from emulator.clock import Clock
from emulator.galaxy.sso.direct_users import looks_like_email
from emulator.galaxy.sso.metadata import NAMEID_EMAIL, SpValues, idp_metadata_xml
from emulator.galaxy.sso.refusals import LoginRefused, RefusalCode, refusal_from_exception
from emulator.galaxy.sso.settings import SsoConfiguration
from emulator.saml.backend import client_from_settings
from emulator.saml.errors import UnsafeXmlError
from emulator.saml.xml import SAML_ASSERTION_NS, SAML_PROTOCOL_NS, parse_xml

with warnings.catch_warnings():
    warnings.simplefilter("ignore", CryptographyDeprecationWarning)  # saml.md pitfall 12
    from saml2 import BINDING_HTTP_POST, BINDING_HTTP_REDIRECT
    from saml2.saml import SCM_BEARER

log = logging.getLogger(__name__)

#: Skew allowed on every time check (reference saml.md §4 pitfall 6: Entra sets NotBefore to now).
SKEW = timedelta(seconds=180)
#: pysaml2's window: wide enough never to decide anything (see the module docstring).
_PYSAML2_TIME_WINDOW = int(timedelta(days=36525).total_seconds())
#: A posted response larger than this once inflated is refused (a DEFLATE bomb costs nothing to send).
MAX_DOCUMENT_BYTES = 1024 * 1024

_SAMLP = f"{{{SAML_PROTOCOL_NS}}}"
_SAML = f"{{{SAML_ASSERTION_NS}}}"
_SUCCESS = "urn:oasis:names:tc:SAML:2.0:status:Success"


@dataclass(frozen=True)
class VerifiedAssertion:
    """What a valid response says, read from the verified document only."""

    name_id: str
    name_id_format: str | None
    issuer: str
    assertion_id: str
    response_id: str
    in_response_to: str | None
    session_index: str | None
    authn_instant: str | None
    expires: datetime  # when the assertion stops being usable, skew included: the replay horizon
    signed: str  # "assertion", "response" or "response and assertion"
    attributes: dict[str, list[str]] = field(default_factory=dict)


def decode_saml_response(value: str) -> bytes:
    """The XML bytes of a posted `SAMLResponse`: strict Base64 of XML, or of raw DEFLATE of XML."""
    if not value or not value.strip():
        raise LoginRefused(RefusalCode.MISSING, "the form carries no SAMLResponse")
    try:
        data = base64.b64decode("".join(value.split()), validate=True)
    except (binascii.Error, ValueError):
        raise LoginRefused(RefusalCode.BAD_ENCODING, "the SAMLResponse is not valid Base64") from None
    if data.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        if len(data) > MAX_DOCUMENT_BYTES:
            raise LoginRefused(RefusalCode.BAD_ENCODING, "the SAMLResponse is too large")
        return data
    inflater = zlib.decompressobj(-15)
    try:
        inflated = inflater.decompress(data, MAX_DOCUMENT_BYTES + 1)
    except zlib.error:
        raise LoginRefused(
            RefusalCode.BAD_ENCODING, "the SAMLResponse decodes to neither XML nor DEFLATE-compressed XML"
        ) from None
    if len(inflated) > MAX_DOCUMENT_BYTES or inflater.unconsumed_tail:
        raise LoginRefused(RefusalCode.BAD_ENCODING, "the SAMLResponse inflates beyond 1 MiB")
    if not inflated.lstrip().startswith(b"<"):
        raise LoginRefused(
            RefusalCode.BAD_ENCODING, "the SAMLResponse decodes to neither XML nor DEFLATE-compressed XML"
        )
    return inflated


def parse_instant(text: str | None) -> datetime | None:
    """An xs:dateTime as SAML peers write it (`Z` or an offset, 0 to 7 fractional digits)."""
    if not text:
        return None
    value = text.strip()
    if value.endswith(("Z", "z")):
        value = value[:-1] + "+00:00"
    head, dot, rest = value.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        fraction, zone = rest[:digits], rest[digits:]
        value = f"{head}.{(fraction + '000000')[:6]}{zone}"
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise LoginRefused(RefusalCode.MALFORMED, f"{text!r} is not a SAML time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


class AcsValidator:
    """pysaml2 set up for one saved SSO configuration; rebuilt when the configuration changes."""

    def __init__(self, sp: SpValues, configuration: SsoConfiguration, clock: Clock) -> None:
        self.sp = sp
        self.configuration = configuration
        self.clock = clock
        self.client = client_from_settings(
            _client_settings(sp, configuration), allow_sha1=configuration.allow_sha1
        )

    # -- SP-initiated --------------------------------------------------------------------------

    def authn_request(self, relay_state: str | None) -> tuple[str, str]:
        """An AuthnRequest by HTTP-Redirect to the Login URL: (its ID, the URL to redirect to)."""
        request_id, info = self.client.prepare_for_authenticate(
            entityid=self.configuration.trust.entity_id,
            relay_state=relay_state or "",
            binding=BINDING_HTTP_REDIRECT,
            # Galaxy needs the email as the NameID (reference entra-and-galaxy.md §2); Entra
            # accepts this format in a NameIDPolicy (saml.md §2).
            nameid_format=NAMEID_EMAIL,
        )
        location = dict(info["headers"])["Location"]
        return request_id, location

    # -- the ACS ---------------------------------------------------------------------------------

    def validate(self, document: bytes, outstanding: Collection[str]) -> VerifiedAssertion:
        """Check one decoded response; raise `LoginRefused` naming the first rule it breaks.

        `outstanding` holds the IDs of AuthnRequests Galaxy sent and has not seen answered; this
        method only reads it (the caller consumes an ID once the sign-in is accepted)."""
        try:
            root = parse_xml(document)
        except UnsafeXmlError as exc:
            raise LoginRefused(RefusalCode.UNSAFE_XML, exc.reason) from None
        if root.tag != f"{_SAMLP}Response":
            raise LoginRefused(
                RefusalCode.MALFORMED, f"the document is a {etree.QName(root).localname}, not a SAML Response"
            )
        in_response_to = self._precheck(root, outstanding)
        queries = {in_response_to: "/"} if in_response_to else {}
        try:
            response = self.client.parse_authn_request_response(
                base64.b64encode(document).decode("ascii"),
                BINDING_HTTP_POST,
                queries,
                conv_info={"entity_id": self.sp.entity_id},
            )
        except Exception as exc:  # pysaml2 raises dozens of types, plain Exception among them
            refusal = refusal_from_exception(exc)
            log.info("SAML response refused: %s (%s: %s)", refusal.code, type(exc).__name__, refusal.reason)
            raise refusal from None
        if response is None:
            raise LoginRefused(
                RefusalCode.MALFORMED, "the response could not be read as a SAML authentication response"
            )
        return self._postcheck(response)

    def _precheck(self, root: etree._Element, outstanding: Collection[str]) -> str | None:
        """Reasons that can be told before any signature is checked (only ever to refuse: nothing
        read here is trusted for the sign-in itself)."""
        expected = self.configuration.trust.entity_id
        issuer = root.findtext(f"{_SAML}Issuer")
        if issuer is None:
            issuer = root.findtext(f"{_SAML}Assertion/{_SAML}Issuer")
        if issuer is not None and issuer.strip() != expected:
            raise LoginRefused(
                RefusalCode.ISSUER,
                f"the response was issued by {issuer.strip()!r}, "
                f"not by the configured identity provider {expected!r}",
            )
        status = root.find(f"{_SAMLP}Status/{_SAMLP}StatusCode")
        if status is not None and status.get("Value") != _SUCCESS:
            return None  # pysaml2 raises a StatusError carrying the IdP's message
        destination = root.get("Destination")
        if destination is not None and destination != self.sp.reply_url:
            raise LoginRefused(
                RefusalCode.DESTINATION,
                f"the response is addressed to {destination!r}, "
                f"not to Galaxy's Reply URL {self.sp.reply_url!r}",
            )
        in_response_to = root.get("InResponseTo")
        if in_response_to and in_response_to not in outstanding:
            raise LoginRefused(
                RefusalCode.UNKNOWN_REQUEST,
                f"the response answers the request {in_response_to!r}, "
                "which Galaxy did not send or has already used",
            )
        return in_response_to or None

    def _postcheck(self, response: Any) -> VerifiedAssertion:
        """Rules pysaml2 leaves to the SP, on the verified response and assertion."""
        sp, trust, now = self.sp, self.configuration.trust, self.clock.now()
        message = response.response
        assertion = response.assertion
        if assertion is None:
            raise LoginRefused(RefusalCode.MALFORMED, "the response carries no assertion")
        response_signed = message.signature is not None
        assertion_signed = assertion.signature is not None
        if not (response_signed or assertion_signed):
            raise LoginRefused(RefusalCode.UNSIGNED, "neither the response nor its assertion is signed")
        for what, issuer in (("response", message.issuer), ("assertion", assertion.issuer)):
            if issuer is None and what == "response":
                continue
            value = (issuer.text or "").strip() if issuer is not None else ""
            if value != trust.entity_id:
                raise LoginRefused(
                    RefusalCode.ISSUER,
                    f"the {what} was issued by {value!r}, "
                    f"not by the configured identity provider {trust.entity_id!r}",
                )
        if message.destination is not None and message.destination != sp.reply_url:
            raise LoginRefused(
                RefusalCode.DESTINATION, f"the response is addressed to {message.destination!r}"
            )
        if message.destination is None and response_signed:
            # SAML bindings §3.5.5.2: a signed message sent by HTTP-POST must name its Destination.
            raise LoginRefused(RefusalCode.DESTINATION, "the signed response does not name its Destination")
        self._check_instant(message.issue_instant, "the response's IssueInstant")
        self._check_instant(assertion.issue_instant, "the assertion's IssueInstant")

        conditions = assertion.conditions
        audiences = [
            (audience.text or "").strip()
            for restriction in (conditions.audience_restriction if conditions is not None else [])
            for audience in restriction.audience
        ]
        if sp.entity_id not in audiences:
            raise LoginRefused(
                RefusalCode.AUDIENCE,
                f"the assertion's Audience {audiences or '(none)'} "
                f"is not Galaxy's Identifier {sp.entity_id!r}",
            )
        horizon = self._check_window(
            conditions.not_before, conditions.not_on_or_after, "the assertion's Conditions"
        )

        bearer = [
            confirmation
            for confirmation in assertion.subject.subject_confirmation
            if confirmation.method == SCM_BEARER and confirmation.subject_confirmation_data is not None
        ]
        if not bearer:
            raise LoginRefused(RefusalCode.MALFORMED, "the assertion has no bearer subject confirmation")
        data = bearer[0].subject_confirmation_data
        if data.recipient != sp.reply_url:
            raise LoginRefused(
                RefusalCode.RECIPIENT,
                f"the subject confirmation's Recipient {data.recipient!r} "
                f"is not Galaxy's Reply URL {sp.reply_url!r}",
            )
        if not data.not_on_or_after:
            # SAML profiles §4.1.4.2: the bearer confirmation of a browser SSO assertion must expire.
            raise LoginRefused(RefusalCode.MALFORMED, "the bearer subject confirmation has no NotOnOrAfter")
        confirmation_horizon = self._check_window(
            data.not_before, data.not_on_or_after, "the subject confirmation"
        )
        horizons = [h for h in (horizon, confirmation_horizon) if h is not None]
        for statement in assertion.authn_statement:
            session_end = parse_instant(statement.session_not_on_or_after)
            if session_end is not None and now - SKEW >= session_end:
                raise LoginRefused(RefusalCode.EXPIRED, "the sign-in session the assertion grants has ended")

        in_response_to = message.in_response_to or None
        confirmed_for = data.in_response_to or None
        if in_response_to and confirmed_for and in_response_to != confirmed_for:
            raise LoginRefused(
                RefusalCode.UNKNOWN_REQUEST,
                "the response and its subject confirmation answer different requests",
            )

        name_id = assertion.subject.name_id
        value = (name_id.text or "").strip() if name_id is not None else ""
        if not looks_like_email(value):
            raise LoginRefused(
                RefusalCode.NAME_ID,
                f"the NameID {value or '(empty)'!r} is not an email address; Galaxy needs the user's "
                "email as the NameID (in Entra: Unique User Identifier = user.mail, "
                "or a UPN that is the email)",
            )
        statements = assertion.authn_statement
        signed = (
            "response and assertion"
            if response_signed and assertion_signed
            else "response"
            if response_signed
            else "assertion"
        )
        return VerifiedAssertion(
            name_id=value,
            name_id_format=name_id.format if name_id is not None else None,
            issuer=trust.entity_id,
            assertion_id=assertion.id,
            response_id=message.id,
            in_response_to=in_response_to or confirmed_for,
            session_index=statements[0].session_index if statements else None,
            authn_instant=statements[0].authn_instant if statements else None,
            expires=min(horizons) + SKEW,
            signed=signed,
            attributes={k: list(v) for k, v in (response.ava or {}).items()},
        )

    def _check_instant(self, text: str | None, what: str) -> None:
        issued = parse_instant(text)
        if issued is not None and issued > self.clock.now() + SKEW:
            raise LoginRefused(RefusalCode.NOT_YET_VALID, f"{what} is in the future ({text})")

    def _check_window(
        self, not_before: str | None, not_on_or_after: str | None, what: str
    ) -> datetime | None:
        now = self.clock.now()
        start, end = parse_instant(not_before), parse_instant(not_on_or_after)
        if start is not None and now + SKEW < start:
            raise LoginRefused(RefusalCode.NOT_YET_VALID, f"{what} is not valid before {not_before}")
        if end is not None and now - SKEW >= end:
            raise LoginRefused(
                RefusalCode.EXPIRED, f"{what} expired at {not_on_or_after} (3 minutes of clock skew allowed)"
            )
        return end


def _client_settings(sp: SpValues, configuration: SsoConfiguration) -> dict:
    return {
        "entityid": sp.entity_id,
        "allow_unknown_attributes": True,
        "accepted_time_diff": _PYSAML2_TIME_WINDOW,
        "service": {
            "sp": {
                "endpoints": {"assertion_consumer_service": [(sp.reply_url, BINDING_HTTP_POST)]},
                # Each of Entra's three signing options passes; an unsigned response does not.
                "want_assertions_or_response_signed": True,
                "want_assertions_signed": False,
                "want_response_signed": False,
                "authn_requests_signed": False,
                # Galaxy allows IdP-initiated sign-in from My Apps; whether a given response may be
                # unsolicited (a setting) and whether its InResponseTo is outstanding are decided
                # by the caller, which also consumes each request ID once (saml.md pitfall 7).
                "allow_unsolicited": True,
                "name_id_format": [NAMEID_EMAIL],
            }
        },
        "metadata": {"inline": [idp_metadata_xml(configuration.trust)]},
    }
