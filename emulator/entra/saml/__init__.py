"""Entra's SAML identity provider: per-app settings, request decoding and checks, Entra-exact
responses and metadata, and the service that ties them to the tenant's signing keys.

Modules: `settings` (Basic SAML Configuration, Attributes & Claims, SAML Certificates as the
portal edits them), `errors` (AADSTS errors), `requests` (bindings and AuthnRequest /
LogoutRequest rules), `response` (Response, error Response, LogoutResponse), `metadata` (App
Federation Metadata), `service` (`EntraSaml`). Nothing here imports aiohttp; the routes live in
`emulator.entra.pages`.
"""
