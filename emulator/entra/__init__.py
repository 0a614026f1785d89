"""The mock Microsoft Entra ID tenant: directory, enterprise applications and provisioning."""
