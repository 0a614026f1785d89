"""What every page of the emulator shares: templates, static assets, sessions and CSRF."""
