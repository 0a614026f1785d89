"""`python -m emulator.cli` runs the `scim-emulator` command."""

from emulator.cli import main

main()
