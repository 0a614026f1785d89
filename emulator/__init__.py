"""scim-emulator: Starburst Galaxy's SCIM receiver and a mock Microsoft Entra tenant, offline."""

__version__ = "0.1.0"
