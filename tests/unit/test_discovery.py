"""Discovery documents tell clients the truth about this receiver and the active profile."""

import json

import pytest

from emulator.scim.discovery import (
    resource_type_document,
    resource_types_list,
    schema_document,
    schemas_list,
    service_provider_config,
)
from emulator.scim.schema import (
    CORE_GROUP,
    CORE_USER,
    ENTERPRISE_USER,
    LIST_RESPONSE,
    RESOURCE_TYPE_SCHEMA,
    SCHEMA_SCHEMA,
    SPC_SCHEMA,
    build_profile,
)

BASE = "http://127.0.0.1:8000/galaxy/scim/v2"
GALAXY = build_profile("galaxy")
FULL = build_profile("full")


def spc(profile=GALAXY) -> dict:
    return service_provider_config(profile, max_results=200, max_payload=1_048_576, base_url=BASE)


def test_service_provider_config_advertises_what_is_implemented():
    config = spc()
    assert config["schemas"] == [SPC_SCHEMA]
    assert config["patch"] == {"supported": True}
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert config["changePassword"] == {"supported": True}
    assert config["sort"] == {"supported": True}
    assert config["etag"] == {"supported": True}


def test_service_provider_config_says_bulk_is_not_supported():
    assert spc()["bulk"] == {"supported": False, "maxOperations": 0, "maxPayloadSize": 1_048_576}


def test_service_provider_config_has_one_bearer_token_scheme():
    (scheme,) = spc()["authenticationSchemes"]
    assert scheme["type"] == "oauthbearertoken"
    assert scheme["name"] == "OAuth Bearer Token"
    assert "Galaxy" in scheme["description"] and "access token" in scheme["description"]
    assert scheme["primary"] is True


def test_service_provider_config_meta_names_its_location():
    assert spc()["meta"] == {
        "resourceType": "ServiceProviderConfig",
        "location": f"{BASE}/ServiceProviderConfig",
    }


@pytest.mark.parametrize("profile", [GALAXY, FULL], ids=["galaxy", "full"])
def test_discovery_documents_are_json_serialisable(profile):
    for document in (spc(profile), schemas_list(profile, BASE), resource_types_list(profile, BASE)):
        assert json.loads(json.dumps(document)) == document


def test_galaxy_schemas_describe_exactly_the_stored_user_attributes():
    listing = schemas_list(GALAXY, BASE)
    assert listing["schemas"] == [LIST_RESPONSE]
    assert listing["totalResults"] == listing["itemsPerPage"] == 2
    assert listing["startIndex"] == 1
    user, group = listing["Resources"]
    assert user["schemas"] == [SCHEMA_SCHEMA]
    assert user["id"] == CORE_USER
    assert [a["name"] for a in user["attributes"]] == [
        "userName",
        "name",
        "displayName",
        "active",
        "password",
    ]
    name = next(a for a in user["attributes"] if a["name"] == "name")
    assert [s["name"] for s in name["subAttributes"]] == [
        "givenName",
        "familyName",
        "honorificPrefix",
        "honorificSuffix",
    ]
    password = next(a for a in user["attributes"] if a["name"] == "password")
    assert (password["mutability"], password["returned"]) == ("writeOnly", "never")
    assert group["id"] == CORE_GROUP
    assert user["meta"]["location"] == f"{BASE}/Schemas/{CORE_USER}"


def test_full_schemas_include_the_enterprise_extension():
    listing = schemas_list(FULL, BASE)
    assert [s["id"] for s in listing["Resources"]] == [CORE_USER, ENTERPRISE_USER, CORE_GROUP]
    user = listing["Resources"][0]
    assert {"emails", "addresses", "groups", "x509Certificates"} <= {a["name"] for a in user["attributes"]}


def test_resource_types_list_user_and_group():
    listing = resource_types_list(GALAXY, BASE)
    assert listing["totalResults"] == 2
    user, group = listing["Resources"]
    assert user["schemas"] == [RESOURCE_TYPE_SCHEMA]
    assert (user["id"], user["endpoint"], user["schema"]) == ("User", "/Users", CORE_USER)
    assert (group["id"], group["endpoint"], group["schema"]) == ("Group", "/Groups", CORE_GROUP)
    assert "schemaExtensions" not in user
    assert user["meta"]["location"] == f"{BASE}/ResourceTypes/User"


def test_full_user_resource_type_lists_the_optional_enterprise_extension():
    user = resource_types_list(FULL, BASE)["Resources"][0]
    assert user["schemaExtensions"] == [{"schema": ENTERPRISE_USER, "required": False}]


def test_single_documents_are_found_case_insensitively():
    assert schema_document(FULL, ENTERPRISE_USER.upper(), BASE)["id"] == ENTERPRISE_USER
    assert schema_document(GALAXY, ENTERPRISE_USER, BASE) is None
    assert resource_type_document(GALAXY, "group", BASE)["id"] == "Group"
    assert resource_type_document(GALAXY, "Gadget", BASE) is None
