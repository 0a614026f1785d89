"""Chromium through Playwright: Debian's /usr/bin/chromium, headless and kept off the network
(reference browser-tests.md); Playwright's own browser download is never used."""

from __future__ import annotations

import signal
from pathlib import Path

import pytest

from tests.helpers import ServerProcess

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).parents[2] / "test-artifacts" / "browser"


LAUNCH_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


@pytest.fixture
async def page():
    """A fresh Chromium page. Playwright's async API runs on the test's own event loop, so
    nothing is left running for the async tests that follow."""
    from playwright.async_api import async_playwright

    if not Path(CHROMIUM).exists():
        pytest.fail(f"{CHROMIUM} is missing: `bash .ci/bootstrap --test` installs Debian's chromium")
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=LAUNCH_ARGS)
        context = await browser.new_context()
        try:
            yield await context.new_page()
        finally:
            await context.close()
            await browser.close()


@pytest.fixture
def demo_server(tmp_path: Path):
    """A real `scim-emulator serve` on the demo scenario with manual cycles."""
    server = ServerProcess(tmp_path / "data", "--scenario", "demo", "--cycle-interval", "manual")
    yield server
    server.stop(signal.SIGTERM)


@pytest.fixture
def shots(request: pytest.FixtureRequest):
    """Save a numbered screenshot of each step under test-artifacts/browser/<test name>/."""
    folder = ARTIFACTS / request.node.name
    folder.mkdir(parents=True, exist_ok=True)
    counter = iter(range(1, 100))

    async def take(page, name: str) -> Path:
        path = folder / f"{next(counter):02d}-{name}.png"
        await page.screenshot(path=str(path), full_page=True)
        return path

    return take
