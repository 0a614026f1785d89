"""SAML plumbing shared by Entra's IdP and Galaxy's SP: keys, safe XML, in-process signatures.

Modules: `keys` (per-tenant signing key and certificate), `xml` (hardened parsing), `signing`
(sign and verify one element with python-xmlsec), `backend` (the same as a pysaml2 crypto
backend), `errors` (why a document was refused). Nothing here imports aiohttp or the products.
"""
