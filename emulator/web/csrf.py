"""CSRF protection for every form post of the pages: a random token in an HttpOnly,
SameSite=Lax cookie that each form repeats in a hidden field (the double-submit pattern).
A cross-site page can make a browser send the cookie but cannot read it to fill the field."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Awaitable, Callable

from aiohttp import web

COOKIE = "csrf_token"
FIELD = "csrf_token"
EXEMPT = web.AppKey("csrf_exempt", frozenset)
NEW_TOKEN = web.RequestKey("new_csrf_token", str)


def csrf_token(request: web.Request) -> str:
    """The token for this browser, made on first use and set on the response by the middleware."""
    token = request.cookies.get(COOKIE) or request.get(NEW_TOKEN)
    if not token:
        token = request[NEW_TOKEN] = secrets.token_urlsafe(32)
    return token


@web.middleware
async def csrf_middleware(
    request: web.Request, handler: Callable[[web.Request], Awaitable[web.StreamResponse]]
) -> web.StreamResponse:
    """Refuse a form post whose hidden token does not match the cookie, with a readable page.

    Routes named in the app's `EXEMPT` set are the ones other sites post to by design, such as
    a SAML Assertion Consumer Service receiving the identity provider's auto-posted form."""
    if request.method == "POST" and (request.match_info.route.name or "") not in request.app.get(
        EXEMPT, frozenset()
    ):
        form = await request.post()
        sent = form.get(FIELD)
        cookie = request.cookies.get(COOKIE)
        if not isinstance(sent, str) or not cookie or not hmac.compare_digest(sent, cookie):
            return web.Response(
                status=403,
                content_type="text/html",
                text="<!doctype html><title>Request refused</title><h1>Request refused</h1><p>This form "
                "was not sent from this site's own page (its security token is missing or stale). Go back, "
                "reload the page and try again.</p>",
            )
    response = await handler(request)
    new = request.get(NEW_TOKEN)
    if new:
        response.set_cookie(COOKIE, new, path="/", httponly=True, samesite="Lax")
    return response
