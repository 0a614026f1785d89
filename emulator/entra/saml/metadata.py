"""The App Federation Metadata document, as Entra publishes it at
`/{tenant}/federationmetadata/2007-06/federationmetadata.xml?appid=...` (reference §3).

    <EntityDescriptor xmlns="...metadata" ID="_guid" entityID="https://sts.windows.net/{tenant}/">
      <Signature .../>                       signed with the tenant key, first child
      <RoleDescriptor xsi:type="fed:SecurityTokenServiceType">   the WS-Federation role Entra
          lists first: its signing key, the claims it offers, its token service endpoint
      <IDPSSODescriptor protocolSupportEnumeration="urn:oasis:names:tc:SAML:2.0:protocol">
        <KeyDescriptor use="signing"> the active certificate (then the previous one, if kept)
        <SingleLogoutService> Redirect and POST at .../{tenant}/saml2
        <NameIDFormat> emailAddress, persistent, unspecified, transient
        <SingleSignOnService> Redirect and POST at .../{tenant}/saml2

Elements follow the order of the SAML metadata schema (saml-schema-metadata-2.0.xsd), so strict
parsers take it: pysaml2 and python3-saml's `OneLogin_Saml2_IdPMetadataParser` are tested on
it. python3-saml takes the first NameIDFormat as the SP's, hence emailAddress first, which is
what Galaxy wants (reference §2).
"""

from __future__ import annotations

from collections.abc import Sequence

from lxml import etree

from emulator.entra.saml.requests import BINDING_POST, BINDING_REDIRECT
from emulator.entra.saml.response import Signer, new_id
from emulator.entra.saml.settings import (
    CLAIM_DISPLAYNAME,
    CLAIM_EMAILADDRESS,
    CLAIM_GIVENNAME,
    CLAIM_GROUPS,
    CLAIM_IDENTITYPROVIDER,
    CLAIM_NAME,
    CLAIM_OBJECTIDENTIFIER,
    CLAIM_SURNAME,
    CLAIM_TENANTID,
    NAMEID_FORMATS,
)
from emulator.saml.keys import SigningCertificate
from emulator.saml.xml import DSIG_NS, SAML_METADATA_NS, SAML_PROTOCOL_NS

XSI_NS = "http://www.w3.org/2001/XMLSchema-instance"
FED_NS = "http://docs.oasis-open.org/wsfed/federation/200706"
AUTH_NS = "http://docs.oasis-open.org/wsfed/authorization/200706"
WSA_NS = "http://www.w3.org/2005/08/addressing"

_MD = f"{{{SAML_METADATA_NS}}}"
_DS = f"{{{DSIG_NS}}}"
_FED = f"{{{FED_NS}}}"
_AUTH = f"{{{AUTH_NS}}}"
_WSA = f"{{{WSA_NS}}}"

# The claims Entra's metadata offers, with the descriptions it gives them (a subset).
OFFERED_CLAIMS = (
    (CLAIM_NAME, "Name", "The mutable display name of the user."),
    (
        CLAIM_OBJECTIDENTIFIER,
        "Subject",
        "An immutable, globally unique, non-reusable identifier of the user.",
    ),
    (CLAIM_GIVENNAME, "Given Name", "First name of the user."),
    (CLAIM_SURNAME, "Surname", "Last name of the user."),
    (CLAIM_DISPLAYNAME, "Display Name", "Display name of the user."),
    (CLAIM_EMAILADDRESS, "Email", "Email address of the user."),
    (CLAIM_TENANTID, "Tenant Id", "Identifier for the user's tenant."),
    (CLAIM_IDENTITYPROVIDER, "Identity Provider", "Identity provider for the user."),
    (CLAIM_GROUPS, "Groups", "Groups of the user."),
)


def build_metadata(
    *,
    entity_id: str,
    sso_url: str,
    certificates: Sequence[SigningCertificate],
    signer: Signer,
) -> bytes:
    """The signed metadata document, with an XML declaration, ready to serve."""
    descriptor_id = new_id()
    root = etree.Element(f"{_MD}EntityDescriptor", nsmap={None: SAML_METADATA_NS})
    root.set("ID", descriptor_id)
    root.set("entityID", entity_id)

    role = etree.SubElement(root, f"{_MD}RoleDescriptor", nsmap={"xsi": XSI_NS, "fed": FED_NS})
    role.set(f"{{{XSI_NS}}}type", "fed:SecurityTokenServiceType")
    role.set("protocolSupportEnumeration", FED_NS)
    for certificate in certificates:
        _key_descriptor(role, certificate)
    offered = etree.SubElement(role, f"{_FED}ClaimTypesOffered")
    for uri, name, description in OFFERED_CLAIMS:
        claim = etree.SubElement(offered, f"{_AUTH}ClaimType", nsmap={"auth": AUTH_NS}, Uri=uri)
        etree.SubElement(claim, f"{_AUTH}DisplayName").text = name
        etree.SubElement(claim, f"{_AUTH}Description").text = description
    endpoint = etree.SubElement(role, f"{_FED}SecurityTokenServiceEndpoint")
    reference = etree.SubElement(endpoint, f"{_WSA}EndpointReference", nsmap={"wsa": WSA_NS})
    etree.SubElement(reference, f"{_WSA}Address").text = entity_id

    idp = etree.SubElement(root, f"{_MD}IDPSSODescriptor", protocolSupportEnumeration=SAML_PROTOCOL_NS)
    for certificate in certificates:
        _key_descriptor(idp, certificate)
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(idp, f"{_MD}SingleLogoutService", Binding=binding, Location=sso_url)
    for uri in NAMEID_FORMATS.values():
        etree.SubElement(idp, f"{_MD}NameIDFormat").text = uri
    for binding in (BINDING_REDIRECT, BINDING_POST):
        etree.SubElement(idp, f"{_MD}SingleSignOnService", Binding=binding, Location=sso_url)

    signed = signer.sign(etree.tostring(root, encoding="utf-8"), descriptor_id)
    return b'<?xml version="1.0" encoding="utf-8"?>' + signed


def _key_descriptor(parent: etree._Element, certificate: SigningCertificate) -> None:
    key = etree.SubElement(parent, f"{_MD}KeyDescriptor", use="signing")
    info = etree.SubElement(key, f"{_DS}KeyInfo", nsmap={None: DSIG_NS})
    data = etree.SubElement(info, f"{_DS}X509Data")
    etree.SubElement(data, f"{_DS}X509Certificate").text = certificate.base64
