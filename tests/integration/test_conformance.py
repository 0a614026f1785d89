"""scim2-tester's whole conformance suite against a live receiver, in both profiles
(reference scim.md §2.1): every check must come back SUCCESS."""

from __future__ import annotations

import asyncio
import os
import shutil
import sys
from pathlib import Path

import pytest

from tests.conftest import TOKEN

SCIM2 = shutil.which("scim2") or str(Path(sys.executable).with_name("scim2"))


@pytest.mark.parametrize("profile", ["galaxy", "full"])
async def test_scim2_tester_reports_every_check_success(start_emulator, profile: str) -> None:
    emu = await start_emulator(scim_profile=profile)
    env = {**os.environ, "SCIM_CLI_URL": emu.scim_url, "SCIM_CLI_HEADERS": f"Authorization: Bearer {TOKEN}"}
    proc = await asyncio.create_subprocess_exec(
        SCIM2, "test", env=env, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), timeout=120)
    text = out.decode()
    verdicts = [
        line for line in text.splitlines() if line[:1].isupper() and not line.startswith("Performing")
    ]
    results = [line.split()[0] for line in verdicts]
    failures = [line for line in verdicts if not line.startswith("SUCCESS")]
    assert proc.returncode == 0, "\n".join(failures) or text
    assert len(results) > 20 and set(results) == {"SUCCESS"}
