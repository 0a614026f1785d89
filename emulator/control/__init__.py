"""The `/_emulator/` API: powers only an emulator has (health, tokens, recorded exchanges)."""
