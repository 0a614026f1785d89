"""Entra's provisioning engine: attribute mappings, expressions, planning and the SCIM client."""
