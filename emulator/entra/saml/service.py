"""`EntraSaml`: the tenant's SAML identity provider, between the directory and the routes.

It owns the per-app settings (`SamlSettingsStore`), the tenant's signing keys
(`SigningKeyring(<data-dir>/saml)`, made on first use), the sign-ins in progress, and the URLs
Entra shows on an app's Single sign-on blade. It decides who may sign in to which app, what the
token says about them, and builds the signed documents; it knows nothing of HTTP.
"""

from __future__ import annotations

import secrets
import uuid
from datetime import datetime, timedelta
from pathlib import Path

from emulator.clock import Clock
from emulator.entra.directory import EntraDirectory
from emulator.entra.saml.errors import AadstsError, SamlFailure
from emulator.entra.saml.flows import FlowStore
from emulator.entra.saml.metadata import build_metadata
from emulator.entra.saml.response import (
    Assertion,
    Attribute,
    Signer,
    audience_for,
    build_error_response,
    build_logout_response,
    build_response,
)
from emulator.entra.saml.settings import (
    CLAIM_AUTHNMETHODSREFERENCES,
    CLAIM_DISPLAYNAME,
    CLAIM_GROUPS,
    CLAIM_GROUPS_LINK,
    CLAIM_IDENTITYPROVIDER,
    CLAIM_OBJECTIDENTIFIER,
    CLAIM_ROLE,
    CLAIM_TENANTID,
    NAMEID_FORMATS,
    USER_SOURCES,
    SamlSettings,
    SamlSettingsStore,
)
from emulator.saml.keys import SigningCertificate, SigningKeyring, SigningKeys
from emulator.saml.signing import SignatureAlgorithm
from emulator.store import Store

AUTHN_METHOD_PASSWORD = "http://schemas.microsoft.com/ws/2008/06/identity/authenticationmethod/password"
TRANSIENT = NAMEID_FORMATS["transient"]
UNSPECIFIED = NAMEID_FORMATS["unspecified"]
# Reference §3: above 150 groups the SAML token carries a link to Graph instead of the ids.
GROUPS_OVERAGE_LIMIT = 150


class EntraSaml:
    """The IdP of one tenant. `base_url` is the emulator's public URL (`config.base_url`) and
    `mount` where Entra's pages are mounted under it: together they stand for
    `https://login.microsoftonline.com`."""

    def __init__(
        self,
        store: Store,
        directory: EntraDirectory,
        clock: Clock,
        *,
        keys_dir: Path,
        base_url: str,
        mount: str = "/entra",
    ) -> None:
        self.directory = directory
        self.clock = clock
        self.settings = SamlSettingsStore(store)
        self.keyring = SigningKeyring(keys_dir, clock)
        self.flows = FlowStore(clock)
        self.base_url = base_url.rstrip("/")
        self.mount = mount.rstrip("/")

    # -- the tenant, its keys and URLs ---------------------------------------------------------

    @property
    def tenant_id(self) -> str:
        return self.directory.tenant["id"]

    @property
    def issuer(self) -> str:
        """The Entra Identifier: Issuer of every token and entityID of the metadata (§3)."""
        return f"https://sts.windows.net/{self.tenant_id}/"

    @property
    def login_issuer(self) -> str:
        """`https://login.microsoftonline.com/{tenant}/` in the emulator's address space: the
        Issuer Entra writes on a LogoutResponse (entra-docs single-sign-out-saml-protocol,
        "Issuer": unlike the login Response, not the sts.windows.net identifier)."""
        return f"{self.base_url}{self.mount}/{self.tenant_id}/"

    def is_tenant(self, name: str) -> bool:
        """Whether a URL's tenant segment names this tenant: its id or its primary domain."""
        tenant = self.directory.tenant
        return name.lower() in (tenant["id"].lower(), tenant.get("primaryDomain", "").lower())

    def sso_url(self, tenant: str | None = None) -> str:
        """The Login URL (and Logout URL): `.../{tenant}/saml2` for both bindings; `tenant` is
        the id or domain to show in it (the tenant's id by default)."""
        return f"{self.base_url}{self.mount}/{tenant or self.tenant_id}/saml2"

    def metadata_url(self, tenant: str | None, app_id: str) -> str:
        """The App Federation Metadata Url for the app whose appId (client id) is `app_id`."""
        return (
            f"{self.base_url}{self.mount}/{tenant or self.tenant_id}"
            f"/federationmetadata/2007-06/federationmetadata.xml?appid={app_id}"
        )

    def tenant_metadata_url(self, tenant: str | None = None) -> str:
        return (
            f"{self.base_url}{self.mount}/{tenant or self.tenant_id}"
            "/federationmetadata/2007-06/federationmetadata.xml"
        )

    def myapps_url(self) -> str:
        return f"{self.base_url}{self.mount}/myapps"

    @property
    def keys(self) -> SigningKeys:
        """The tenant's signing key and certificate (made on first use, in `<data-dir>/saml/<tenant>`)."""
        return self.keyring.for_tenant(self.tenant_id)

    def rotate_certificate(self) -> SigningCertificate:
        """A new key and certificate; the old certificate stays listed in metadata beside the new
        one, as Entra shows an inactive certificate while SPs catch up."""
        return self.keys.rotate().certificate

    def signer(self, settings: SamlSettings | None = None) -> Signer:
        algorithm = (
            SignatureAlgorithm.RSA_SHA1
            if settings is not None and settings.signing_algorithm == "SHA-1"
            else SignatureAlgorithm.RSA_SHA256
        )
        return Signer(self.keys.current, algorithm)

    def metadata(self) -> bytes:
        """The federation metadata; the same for every app of the tenant, because the emulator
        signs every app with the tenant's key."""
        keys = self.keys
        return build_metadata(
            entity_id=self.issuer,
            sso_url=self.sso_url(),
            certificates=keys.certificates(),
            signer=self.signer(),
        )

    # -- apps and who may use them ----------------------------------------------------------------

    def app_for_identifier(self, identifier: str | None) -> tuple[dict, SamlSettings]:
        """The app whose Identifier the request's Issuer names, or AADSTS700016."""
        object_id = self.settings.app_for_identifier(identifier) if identifier else None
        app = self._app_or_none(object_id)
        if app is None:
            tenant = self.directory.tenant
            raise AadstsError(
                700016,
                f"Application with identifier '{identifier or ''}' was not found in the directory "
                f"'{tenant.get('displayName', tenant['id'])}'. This can happen if the application has "
                "not been installed by the administrator of the tenant or consented to by any user in "
                "the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        return app, self.settings.get(app["id"])

    def _app_or_none(self, object_id: str | None) -> dict | None:
        if object_id is None:
            return None
        found = self.directory.apps.find_one("id", object_id)
        return found[1] if found else None

    def is_assigned(self, app: dict, user: dict) -> bool:
        """Assigned directly or through a group the user is a direct member of (Entra does not
        honour nested groups for app assignment)."""
        if self.directory.is_assigned(app["id"], user["id"]):
            return True
        return any(
            self.directory.is_assigned(app["id"], g["id"]) for g in self.directory.groups_of(user["id"])
        )

    def may_use(self, app: dict, settings: SamlSettings, user: dict) -> bool:
        return not settings.assignment_required or self.is_assigned(app, user)

    def assigned_apps(self, user: dict) -> list[dict]:
        """The apps My Apps shows a user: those assigned to them."""
        return [app for app in self.directory.list_apps() if self.is_assigned(app, user)]

    def check_can_sign_in(self, user: dict | None, typed: str = "") -> dict:
        """The user, if they may sign in at all: not deleted (AADSTS50034) and not blocked
        (AADSTS50057)."""
        if user is None or user.get("deletedDateTime"):
            tenant = self.directory.tenant
            name = user["userPrincipalName"] if user is not None else typed
            raise AadstsError(
                50034,
                f"The user account {name} does not exist in the '{tenant['id']}' directory. To sign "
                "into this application, the account must be added to the directory.",
                status=400,
                title="We couldn't find an account with that username.",
            )
        if user.get("accountEnabled") is False:
            raise AadstsError(
                50057,
                "The user account is disabled. The user object in Active Directory backing this account "
                "has been disabled. An admin can re-enable this account.",
                status=403,
                title="Your account has been locked. Contact your support person to unlock it, "
                "then try again.",
            )
        return user

    def check_assignment(self, app: dict, settings: SamlSettings, user: dict) -> None:
        """AADSTS50105 when the app requires assignment and the user has none: the natural
        "before provisioning" refusal (reference §3)."""
        if not self.may_use(app, settings, user):
            raise AadstsError(
                50105,
                f"Your administrator has configured the application {app['displayName']} "
                f"('{app['appId']}') to block users unless they are specifically granted ('assigned') "
                f"access to the application. The signed in user '{user['userPrincipalName']}' is blocked "
                "because they are not a direct member of a group with access, nor had access directly "
                "assigned by an administrator. Please contact your administrator to assign access to "
                "this application.",
                status=403,
                title="Your administrator has not granted you access to this application.",
            )

    def sign_in_candidates(self, app: dict | None, settings: SamlSettings | None) -> list[dict]:
        """The accounts the sign-in page offers, in directory order: for an app that requires
        assignment, its assigned users (directly or through a group); otherwise every user who
        is not deleted."""
        if app is None or settings is None or not settings.assignment_required:
            return self.directory.list_users()
        ids: dict[str, None] = {}
        for assignment in self.directory.assignments_of(app["id"]):
            principal = assignment["principalId"]
            if assignment["principalType"] == "User":
                ids[principal] = None
            else:
                found = self.directory.groups.find_one("id", principal)
                for member in found[1]["members"] if found else ():
                    ids[member] = None
        users = []
        for object_id in ids:
            found = self.directory.users.find_one("id", object_id)
            if found and not found[1].get("deletedDateTime"):
                users.append(found[1])
        return users

    # -- what the token says ---------------------------------------------------------------------

    def name_id(self, user: dict, settings: SamlSettings, requested_format: str | None) -> tuple[str, str]:
        """The NameID value and Format: the request's format wins unless it is `unspecified`,
        then the configured one (reference §3). The value is the configured source attribute,
        except for `transient`, which Entra makes "a randomly generated value that is unique to
        the current SSO operation" (entra-docs single-sign-on-saml-protocol). Entra describes
        `persistent` as a pairwise id; the emulator sends the configured source instead, which
        is what a person who set that source expects to see."""
        name_format = requested_format if requested_format and requested_format != UNSPECIFIED else None
        name_format = name_format or settings.name_id_format_uri
        if name_format == TRANSIENT:
            return secrets.token_urlsafe(32), name_format
        value = _user_value(user, settings.name_id_source)
        if not value:
            # entra-docs reference-error-codes AADSTS501241: no value for the NameID source.
            raise AadstsError(
                501241,
                f"Mandatory Input '{settings.name_id_source}' missing from transformation ID "
                f"'CreateNameIdentifier': the user '{user['userPrincipalName']}' has no value for the "
                "source attribute of the Unique User Identifier (Name ID) claim.",
                status=500,
            )
        return value, name_format

    def attributes(self, user: dict, settings: SamlSettings, app: dict | None = None) -> list[Attribute]:
        """The claims: Entra's own first (tenantid, objectidentifier, displayname, groups, the
        app roles the user holds, identityprovider, authnmethodsreferences, reference §3), then
        the configured ones. A claim whose source is empty is left out, as Entra does."""
        tenant_id = self.tenant_id
        found: list[Attribute] = [
            Attribute(CLAIM_TENANTID, (tenant_id,)),
            Attribute(CLAIM_OBJECTIDENTIFIER, (user["id"],)),
        ]
        if user.get("displayName"):
            found.append(Attribute(CLAIM_DISPLAYNAME, (user["displayName"],)))
        if settings.groups_claim == "securityGroups":
            groups = self.transitive_groups(user["id"])
            if len(groups) > GROUPS_OVERAGE_LIMIT:
                link = f"https://graph.windows.net/{tenant_id}/users/{user['id']}/getMemberObjects"
                found.append(Attribute(CLAIM_GROUPS_LINK, (link,)))
            elif groups:
                found.append(Attribute(CLAIM_GROUPS, tuple(groups)))
        if app is not None and (roles := self.directory.roles_of(app["id"], user["id"])):
            found.append(Attribute(CLAIM_ROLE, tuple(roles)))
        found.append(Attribute(CLAIM_IDENTITYPROVIDER, (self.issuer,)))
        found.append(Attribute(CLAIM_AUTHNMETHODSREFERENCES, (AUTHN_METHOD_PASSWORD,)))
        for claim in settings.claims:
            value = _user_value(user, claim.source)
            if value:
                found.append(Attribute(claim.name, (value,)))
        return found

    def transitive_groups(self, object_id: str) -> list[str]:
        """Object ids of every group the user belongs to, directly or through nesting (the
        groups claim, unlike app assignment, is transitive)."""
        seen: dict[str, None] = {}
        pending = [object_id]
        while pending:
            for group in self.directory.groups_of(pending.pop()):
                if group["id"] not in seen:
                    seen[group["id"]] = None
                    pending.append(group["id"])
        return list(seen)

    # -- documents -------------------------------------------------------------------------------

    def sso_response(
        self,
        app: dict,
        settings: SamlSettings,
        user: dict,
        *,
        acs_url: str,
        identifier: str,
        authn_instant: datetime,
        in_response_to: str | None = None,
        requested_format: str | None = None,
        sp_name_qualifier: str | None = None,
    ) -> bytes:
        """The signed Response for `user` at `acs_url`; `in_response_to` is None when the sign-in
        was started from My Apps (IdP-initiated)."""
        now = self.clock.now()
        name_id, name_format = self.name_id(user, settings, requested_format)
        assertion = Assertion(
            issuer=self.issuer,
            name_id=name_id,
            name_id_format=name_format,
            recipient=acs_url,
            audience=audience_for(identifier),
            attributes=self.attributes(user, settings, app),
            issue_instant=now,
            authn_instant=min(authn_instant, now),
            lifetime=timedelta(minutes=settings.assertion_lifetime_minutes),
            subject_confirmation_lifetime=timedelta(minutes=settings.subject_confirmation_minutes),
            in_response_to=in_response_to,
            sp_name_qualifier=sp_name_qualifier,
        )
        return build_response(
            assertion,
            self.signer(settings),
            sign_assertion=settings.sign_assertion,
            sign_response=settings.sign_response,
        )

    def error_response(self, failure: SamlFailure, *, acs_url: str, in_response_to: str | None) -> bytes:
        return build_error_response(
            issuer=self.issuer,
            destination=acs_url,
            in_response_to=in_response_to,
            failure=failure,
            now=self.clock.now(),
            trace_id=new_trace_id(),
        )

    def logout_response(self, *, destination: str | None, in_response_to: str) -> bytes:
        return build_logout_response(
            issuer=self.login_issuer,
            destination=destination,
            in_response_to=in_response_to,
            now=self.clock.now(),
        )


def new_trace_id() -> str:
    """The "Trace ID" Entra prints under every error."""
    return str(uuid.uuid4())


def _user_value(user: dict, source: str) -> str | None:
    value = user.get(USER_SOURCES[source])
    return str(value) if value not in (None, "") else None
