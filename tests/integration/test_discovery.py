"""Discovery endpoints (RFC 7644 §4) are readable without a token and describe the profile."""

from __future__ import annotations

from tests.conftest import Running


async def test_discovery_needs_no_token_and_tells_the_truth(emulator: Running) -> None:
    anonymous = emulator.scim(token=None)
    spc = await anonymous.get("/ServiceProviderConfig")
    assert spc.status == 200
    assert spc.json["patch"]["supported"] is True and spc.json["bulk"]["supported"] is False
    assert spc.json["filter"] == {"supported": True, "maxResults": 1000}
    assert spc.json["sort"]["supported"] is True and spc.json["etag"]["supported"] is True
    types = (await anonymous.get("/ResourceTypes")).json
    assert {r["id"] for r in types["Resources"]} == {"User", "Group"}
    assert (await anonymous.get("/ResourceTypes/User")).json["endpoint"] == "/Users"
    schemas = (await anonymous.get("/Schemas")).json
    user_schema = next(s for s in schemas["Resources"] if s["id"].endswith(":User"))
    assert {a["name"] for a in user_schema["attributes"]} == {
        "userName",
        "name",
        "displayName",
        "active",
        "password",
    }
    one = await anonymous.get("/Schemas/urn:ietf:params:scim:schemas:core:2.0:Group")
    assert one.status == 200 and one.json["name"] == "Group"
    assert (await anonymous.get("/Schemas/urn:nope")).status == 404


async def test_full_profile_schemas_include_the_enterprise_extension(full_emulator: Running) -> None:
    schemas = (await full_emulator.scim(token=None).get("/Schemas")).json
    ids = {s["id"] for s in schemas["Resources"]}
    assert "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User" in ids
    user_type = (await full_emulator.scim(token=None).get("/ResourceTypes/User")).json
    assert user_type["schemaExtensions"] == [
        {"schema": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "required": False}
    ]
