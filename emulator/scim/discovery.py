"""The discovery documents: /ServiceProviderConfig, /Schemas and /ResourceTypes (RFC 7643 §5-§7).

Clients (and scim2-tester) decide what to send from these documents, so they describe exactly
what this receiver implements and what the active profile stores, and nothing more.
"""

from __future__ import annotations

from emulator.scim.projection import list_response
from emulator.scim.schema import SPC_SCHEMA, Profile

RFC6750 = "https://www.rfc-editor.org/rfc/rfc6750"
GALAXY_SCIM_DOCS = (
    "https://docs.starburst.io/starburst-galaxy/security-and-compliance/manage-galaxy-access/"
    "manage-sso-integration/index.html#scim-support"
)


def service_provider_config(profile: Profile, *, max_results: int, max_payload: int, base_url: str) -> dict:
    """The ServiceProviderConfig (RFC 7643 §5) for a receiver storing `profile`.

    Every flag tells the truth: PATCH, filtering (up to `max_results` per page), sorting,
    ETags and password changes are implemented; /Bulk is not, so bulk is unsupported (its
    required sub-attributes are still present, with `maxPayloadSize` = the body size limit).
    """
    return {
        "schemas": [SPC_SCHEMA],
        "documentationUri": GALAXY_SCIM_DOCS,
        "patch": {"supported": True},
        "bulk": {"supported": False, "maxOperations": 0, "maxPayloadSize": max_payload},
        "filter": {"supported": True, "maxResults": max_results},
        "changePassword": {"supported": True},
        "sort": {"supported": True},
        "etag": {"supported": True},
        "authenticationSchemes": [
            {
                "type": "oauthbearertoken",
                "name": "OAuth Bearer Token",
                "description": (
                    "A Starburst Galaxy SCIM access token, generated under Access > Single sign-on > "
                    "Provision SCIM and sent as 'Authorization: Bearer <token>'."
                ),
                "specUri": RFC6750,
                "documentationUri": GALAXY_SCIM_DOCS,
                "primary": True,
            }
        ],
        "meta": {
            "resourceType": "ServiceProviderConfig",
            "location": f"{base_url}/ServiceProviderConfig",
        },
    }


def schemas_list(profile: Profile, base_url: str) -> dict:
    """The /Schemas ListResponse: every schema (core and extension) the profile stores."""
    resources = [s.to_json(base_url) for s in profile.schemas]
    return list_response(resources, len(resources), 1)


def resource_types_list(profile: Profile, base_url: str) -> dict:
    """The /ResourceTypes ListResponse: User and Group, with the profile's extensions."""
    resources = [rt.to_json(base_url) for rt in profile.resource_types]
    return list_response(resources, len(resources), 1)


def schema_document(profile: Profile, schema_id: str, base_url: str) -> dict | None:
    """/Schemas/{id}: one schema by URN (compared case-insensitively), or None if not stored."""
    for schema in profile.schemas:
        if schema.id.lower() == schema_id.lower():
            return schema.to_json(base_url)
    return None


def resource_type_document(profile: Profile, name: str, base_url: str) -> dict | None:
    """/ResourceTypes/{name}: one resource type by name ("User", "Group"), or None."""
    for rtype in profile.resource_types:
        if rtype.name.lower() == name.lower():
            return rtype.to_json(base_url)
    return None
