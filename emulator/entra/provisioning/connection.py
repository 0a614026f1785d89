"""The portal's Test Connection (reference §1.2, §4.1): Entra's probe of a Tenant URL, and the
message a person reads when it fails."""

from __future__ import annotations

from collections.abc import Callable

import aiohttp

from emulator.clock import Clock
from emulator.entra.provisioning.scim_client import ScimClient, ScimClientError

CREDENTIAL_CODES = ("Unauthorized", "InsufficientRights")


async def check_connection(
    settings: dict,
    url: str,
    token: str | None,
    *,
    session: Callable[[], aiohttp.ClientSession],
    clock: Clock,
) -> dict:
    """Probe `url` with `token` exactly as Entra does (§1.2), with `settings`' request timeout;
    the answer the portal shows."""
    if not url:
        return {
            "success": False,
            "message": "Enter a Tenant URL before testing the connection.",
            "errorCode": "MissingTenantUrl",
        }
    try:
        client = ScimClient(
            session(),
            url,
            token or None,
            clock=clock,
            timeout=settings["requestTimeoutSeconds"],
        )
    except ValueError as exc:
        return {
            "success": False,
            "message": f"The Tenant URL is not valid: {exc}",
            "errorCode": "InvalidTenantUrl",
        }
    try:
        await client.probe()
    except ScimClientError as exc:
        return {"success": False, "errorCode": exc.code, "message": connection_message(exc, url)}
    return {
        "success": True,
        "message": "The supplied credentials are authorized to enable provisioning.",
        "errorCode": None,
    }


def connection_message(exc: ScimClientError, url: str) -> str:
    """What the portal says when Test Connection fails (§1.2, §4.1)."""
    if exc.code in CREDENTIAL_CODES:
        return (
            "You appear to have entered invalid credentials. The Tenant URL answered "
            f"HTTP {exc.status} to Entra's probe; check the Secret Token. ({exc.reason})"
        )
    if exc.code == "NotFound":
        return (
            "SCIM compliance issue: the Users endpoint answered 404 to a query for a user that does not "
            "exist; it must answer 200 with an empty ListResponse. Check that the Tenant URL is the SCIM "
            f"base URL. ({exc.reason})"
        )
    if exc.code == "SystemForCrossDomainIdentityManagementServiceIncompatible":
        return f"The Tenant URL did not answer like a SCIM service: {exc.reason}"
    if exc.code == "Timeout":
        return f"The Tenant URL {url} did not answer in time: {exc.reason}"
    return f"Unable to connect to {url}: {exc.reason}"
