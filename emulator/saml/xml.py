"""Hardened XML parsing for SAML: no DTD, no entities, no network, and ID lookups that see duplicates.

SAML messages never need a document type declaration, so one is refused outright: that closes
external entities (XXE, file and network reads) and entity expansion (billion laughs) before the
parser sees them, and the parser itself is configured so that it could not resolve them anyway.
Comments are dropped while parsing (see `_parser`); a signature made with
`exc-c14n#WithComments` over a document that has comments therefore no longer verifies, which no
SAML peer we know of produces.
"""

from __future__ import annotations

import threading

from lxml import etree

from emulator.saml.errors import UnsafeXmlError

SAML_ASSERTION_NS = "urn:oasis:names:tc:SAML:2.0:assertion"
SAML_PROTOCOL_NS = "urn:oasis:names:tc:SAML:2.0:protocol"
SAML_METADATA_NS = "urn:oasis:names:tc:SAML:2.0:metadata"
DSIG_NS = "http://www.w3.org/2000/09/xmldsig#"

# Attribute names that carry an XML ID somewhere in SAML and XML-DSig (`ID` in SAML 2.0, `Id` in
# xmldsig, `id` as a lax spelling, `xml:id`). A signed ID must appear in exactly one of them.
_ID_ATTRIBUTE_NAMES = ("ID", "Id", "id")
_FIND_BY_ID = "//*[@*[(local-name()='ID' or local-name()='Id' or local-name()='id') and .=$value]]"

# A DOCTYPE is where both entity attacks live; SAML never uses one. Checked on the raw bytes so
# that nothing is parsed at all, and again on the parsed tree for encodings the scan cannot read.
_DTD_MARKERS = (b"<!DOCTYPE", b"<!ENTITY")

# lxml parsers keep per-parse state, so each thread gets its own (and its own compiled XPath).
_per_thread = threading.local()


def _parser(*, text: bool) -> etree.XMLParser:
    """This thread's parser; a `text` parser reads Python str after it was encoded as UTF-8,
    whatever its XML declaration says."""
    name = "text_parser" if text else "bytes_parser"
    parser = getattr(_per_thread, name, None)
    if parser is None:
        parser = etree.XMLParser(
            resolve_entities=False,  # never substitute entities, internal or external
            no_network=True,  # never fetch anything
            load_dtd=False,
            dtd_validation=False,
            huge_tree=False,  # keep libxml2's depth and size limits
            collect_ids=False,  # xml:id must not become an ID behind the signer's back
            # Exclusive c14n leaves comments out of what is signed, so a comment slipped into a
            # NameID (`victim@x.test<!---->.evil.test`) keeps the signature valid while lxml's
            # `.text` would read only up to it. Dropping comments at parse time reads it whole.
            remove_comments=True,
            remove_pis=False,
            encoding="utf-8" if text else None,
        )
        setattr(_per_thread, name, parser)
    return parser


def parse_xml(document: str | bytes) -> etree._Element:
    """Parse an untrusted SAML document and return its root element, or raise `UnsafeXmlError`."""
    text = isinstance(document, str)
    data = document.encode("utf-8") if text else bytes(document)
    if any(marker in data for marker in _DTD_MARKERS):
        raise UnsafeXmlError("the XML carries a DTD or an entity declaration, which SAML never uses")
    try:
        root = etree.fromstring(data, _parser(text=text))
    except etree.XMLSyntaxError as exc:
        raise UnsafeXmlError(f"the XML is not well-formed: {exc.msg}") from None
    if root is None:
        raise UnsafeXmlError("the XML document is empty")
    docinfo = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None or docinfo.externalDTD is not None:
        raise UnsafeXmlError("the XML carries a DTD or an entity declaration, which SAML never uses")
    if next(root.iter(etree.Entity), None) is not None:
        raise UnsafeXmlError("the XML refers to an entity, which SAML never uses")
    return root


def elements_with_id(root: etree._Element, value: str) -> list[etree._Element]:
    """Every element of the document whose ID-like attribute (`ID`, `Id`, `id`, in any namespace,
    `xml:id` included) equals `value`: more than one means someone is wrapping a signature."""
    find = getattr(_per_thread, "find_by_id", None)
    if find is None:
        find = _per_thread.find_by_id = etree.XPath(_FIND_BY_ID)
    return list(find(root.getroottree(), value=value))


def element_id(element: etree._Element) -> str | None:
    """The SAML `ID` of an element (or its xmldsig-style `Id`)."""
    for name in _ID_ATTRIBUTE_NAMES:
        value = element.get(name)
        if value is not None:
            return value
    return None


def clark_name(node_name: str) -> str:
    """`urn:...:assertion:Assertion` (pysaml2's `class_name`) as lxml's `{urn:...:assertion}Assertion`."""
    if node_name.startswith("{"):
        return node_name
    namespace, _, local = node_name.rpartition(":")
    return f"{{{namespace}}}{local}" if namespace else local


def to_bytes(root: etree._Element) -> bytes:
    """Serialise a document as UTF-8 without an XML declaration, the way SAML bindings carry it."""
    return etree.tostring(root.getroottree(), encoding="utf-8", xml_declaration=False)


def to_text(root: etree._Element) -> str:
    return etree.tostring(root.getroottree(), encoding="unicode")
