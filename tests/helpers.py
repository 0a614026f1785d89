"""Running the real `scim-emulator` command in a subprocess, for tests that kill or stop it."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

SCIM2_SERVER = shutil.which("scim2-server") or str(Path(sys.executable).with_name("scim2-server"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def scim2_server(token: str) -> Iterator[str]:
    """scim2-server (an independent SCIM server from PyPI) on a free port; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen(
        [SCIM2_SERVER, "--hostname", "127.0.0.1", "--port", str(port), "--bearer-token", token],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}/v2"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/ServiceProviderConfig", timeout=1)
                break
            except OSError:
                time.sleep(0.05)
        yield url
    finally:
        proc.terminate()
        proc.wait(timeout=10)


class ServerProcess:
    """`scim-emulator serve` on a free port; waits for /_emulator/health before returning."""

    def __init__(self, data_dir: Path, *args: str, token: str = "proc-token-0123456789") -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "SCIM_EMULATOR_TOKEN": token}
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "emulator.cli",
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(data_dir),
                *args,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited early: {self.proc.stdout.read()}")
            try:
                with urllib.request.urlopen(self.url + "/_emulator/health", timeout=1) as resp:
                    if resp.status == 200:
                        self.banner = self._read_banner()
                        return
            except OSError:
                time.sleep(0.05)
        self.proc.kill()
        raise RuntimeError("server did not become healthy within 30 s")

    def _read_banner(self) -> list[str]:
        """What `serve` printed at start (URLs, the first token, the accountadmin password)."""
        lines: list[str] = []
        for line in self.proc.stdout:
            lines.append(line.rstrip("\n"))
            if line.startswith("Press Ctrl-C"):
                break
        return lines

    def stop(self, sig: int) -> str:
        self.proc.send_signal(sig)
        out, _ = self.proc.communicate(timeout=30)
        return out
