"""`scim-emulator demo` as a presenter runs it: the whole login-after-provisioning story, told
and checked step by step, in a subprocess that must finish in a few seconds."""

from __future__ import annotations

import re
import signal
import subprocess
import time
import urllib.request
from pathlib import Path

from emulator.cli.demo import demo
from tests.integration.test_cli import CLI, run_cli

PATTI = "PattiF@contoso.onmicrosoft.com"


def steps(stdout: str) -> dict[int, str]:
    """The text of each numbered step ("N. title" then its lines), by number."""
    found = re.split(r"^(\d)\. ", stdout, flags=re.M)
    return {int(number): text for number, text in zip(found[1::2], found[2::2], strict=True)}


def test_the_demo_tells_the_whole_story() -> None:
    started = time.monotonic()
    done = run_cli("demo")
    elapsed = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert elapsed < 20, f"the demo took {elapsed:.1f} s"
    out = done.stdout
    story = steps(out)
    assert sorted(story) == [1, 2, 3, 4, 5, 6, 7], out

    base = re.search(r"Emulator: (http://127\.0\.0\.1:\d+) \(data: (.+?), removed at the end\)", out)
    assert base, out
    url, data_dir = base.group(1), Path(base.group(2))
    assert not data_dir.exists(), "the temporary data folder is removed at the end"

    # 1. Galaxy's SCIM URL and a generated token; Entra configured and tested.
    assert f"Galaxy SCIM URL:     {url}/galaxy/scim/v2" in story[1]
    token = re.search(r"Galaxy access token: (gxscim_\S+)", story[1]).group(1)
    assert "Test Connection: Success: The supplied credentials are authorized" in story[1]
    saved = re.search(r"Saved: Mode Automatic, Tenant URL (\S+), Secret Token (\S+)", story[1])
    assert saved.group(1) == f"{url}/galaxy/scim/v2"
    assert token not in saved.group(2) and saved.group(2).endswith(token[-4:]), "the token is masked"

    # 2. Refused by Galaxy before provisioning, with the hops.
    assert "GET  302 /galaxy/login/azure" in story[2]
    assert re.search(r"GET  200 /entra/[0-9a-f-]+/saml2\?SAMLRequest=", story[2])
    assert "POST 403 /galaxy/saml/acs" in story[2]
    assert "Galaxy refused" in story[2] and "not provisioned yet" in story[2]

    # 3. A cycle with its progress line and summary.
    progress = re.search(r"Progress: (\d+) objects processed, \d+ objects/s", story[3])
    assert progress and int(progress.group(1)) > 0
    assert re.search(r"Initial cycle: success in [\d.]+ s, \d+ SCIM requests", story[3])
    assert re.search(r"Summary: create \d+, update \d+", story[3])
    assert f"Galaxy got POST /Users for {PATTI}: 201 Created" in story[3]

    # 4. The same login accepted, ending on Galaxy's landing page.
    assert "POST 303 /galaxy/saml/acs" in story[4]
    assert story[4].rstrip().splitlines()[-3].strip().endswith("GET  200 /galaxy/")
    assert f"Signed in to Galaxy as {PATTI}" in story[4]

    # 5. Unassigned in Entra.
    assert f"Removed the direct assignment of {PATTI}" in story[5]

    # 6. The next cycle disables her: the PATCH the receiver got.
    assert re.search(r"Progress: 1 object processed, \d+ objects/s", story[6])
    assert "Incremental cycle: success" in story[6] and "Summary: disable 1" in story[6]
    assert re.search(r"exchange log\): PATCH /galaxy/scim/v2/Users/[0-9a-f-]+", story[6])
    assert '{"op": "Replace", "path": "active", "value": "False"}' in story[6]
    assert f"Galaxy answered 200 with {PATTI}: active false" in story[6]

    # 7. Refused again: by Entra (AADSTS50105), and by Galaxy when Entra lets her through.
    assert "Entra refused (403" in story[7] and "AADSTS50105" in story[7]
    assert "no longer assigned" in story[7]
    assert "Galaxy refused (403, 'Your account is deactivated')" in story[7]

    assert "All 7 steps behaved as the story says." in out
    assert "Press Ctrl-C" not in out and done.stderr == ""


def test_a_step_that_goes_otherwise_is_named_and_exits_1(tmp_path: Path) -> None:
    # Miriam is not assigned to the app: Entra, not Galaxy, refuses her first sign-in.
    data = tmp_path / "data"
    done = run_cli("demo", "--user", "MiriamG@contoso.onmicrosoft.com", "--data-dir", str(data))
    assert done.returncode == 1, done.stdout + done.stderr
    assert "FAILED at step 2 (Miriam signs in to Galaxy with Azure before provisioning" in done.stderr
    assert "Traceback" not in done.stderr and sorted(steps(done.stdout)) == [1, 2]
    assert (data / "data.json").exists(), "a given --data-dir is kept"

    again = run_cli("demo", "--data-dir", str(data))
    assert again.returncode == 1 and "is not empty" in again.stderr


def test_keep_running_serves_until_stopped() -> None:
    proc = subprocess.Popen(
        [*CLI, "demo", "--keep-running", "--pause", "0.01"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    lines: list[str] = []
    try:
        for line in proc.stdout:
            lines.append(line)
            if line.startswith("Press Ctrl-C"):
                break
        out = "".join(lines)
        assert "All 7 steps behaved as the story says." in out, out
        url = re.search(r"Control API:   (\S+)", out).group(1)
        with urllib.request.urlopen(url, timeout=10) as resp:
            assert resp.status == 200
        login = re.search(r"Galaxy login:  (\S+)", out).group(1)
        assert login.endswith("/galaxy/login") and re.search(r"Entra My Apps: \S+/entra/myapps", out)
        data_dir = Path(re.search(r"\(data: (.+?), removed when stopped\)", out).group(1))
        assert data_dir.is_dir()
        proc.send_signal(signal.SIGTERM)
        rest, errors = proc.communicate(timeout=30)
        assert proc.returncode == 0, rest + errors
        assert rest == "Stopping.\n"
        assert not data_dir.exists()
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
        proc.stdout.close()
        proc.stderr.close()


def test_help_documents_every_option() -> None:
    done = run_cli("demo", "--help")
    assert done.returncode == 0
    text = " ".join(done.stdout.split())
    options = [opt for param in demo.params for opt in param.opts if opt.startswith("--")]
    assert sorted(options) == ["--data-dir", "--keep-running", "--pause", "--port", "--user"]
    for param in demo.params:
        assert param.help, f"{param.name} has no help text"
        for opt in param.opts:
            assert opt in text, f"{opt} is missing from `demo --help`"
    for default in ("default: 0", "a temporary folder, removed at the end", PATTI):
        assert default in text, default
    assert "login-after-provisioning story" in text
