"""Jinja2 pages through aiohttp-jinja2: one environment per product, each product's own
templates first, then the shared base layout and its vendored stylesheet (no CDN: the emulator
runs offline)."""

from __future__ import annotations

from pathlib import Path

import aiohttp_jinja2
import jinja2
from aiohttp import web

from emulator.web.csrf import csrf_token

SHARED = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"


def setup_templates(app: web.Application, product_templates: Path, *, static_prefix: str) -> None:
    """Give `app` a template environment; templates get `csrf_token()` and `static(name)`."""
    env = aiohttp_jinja2.setup(
        app,
        loader=jinja2.ChoiceLoader(
            [jinja2.FileSystemLoader(product_templates), jinja2.FileSystemLoader(SHARED)]
        ),
        autoescape=jinja2.select_autoescape(default=True),
        context_processors=[_context],
    )
    env.globals["static"] = lambda name: f"{static_prefix}/{name}"
    app.router.add_static("/static", STATIC, name="static")


async def _context(request: web.Request) -> dict:
    return {"csrf_token": lambda: csrf_token(request), "request": request}


def page(request: web.Request, template: str, context: dict, status: int = 200) -> web.Response:
    """Render a page; the one call handlers make."""
    response = aiohttp_jinja2.render_template(template, request, context)
    response.set_status(status)
    response.headers["Cache-Control"] = "no-store"
    return response
