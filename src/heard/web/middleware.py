"""Response headers every page carries, and the request id that ties a 500 page to its log line.

- ``Content-Security-Policy``: scripts, styles, images and fonts come from this server only;
  no inline script or style attribute runs, no plugin loads, and no other site may frame a
  page or receive a form.
- ``X-Content-Type-Options: nosniff`` and ``Referrer-Policy: same-origin`` (also set by
  Django's SecurityMiddleware; set here too so every response has them).
- ``Cache-Control: no-store`` on every page seen by a signed-in person, so consultation data
  never stays in a shared or browser cache.
"""

from __future__ import annotations

import secrets
from collections.abc import Callable

from django.http import HttpRequest, HttpResponse
from django.utils.cache import add_never_cache_headers

CONTENT_SECURITY_POLICY = "; ".join([
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "font-src 'self'",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "frame-ancestors 'none'",
    "form-action 'self'",
])
REQUEST_ID_HEADER = "X-Request-Id"


def new_request_id() -> str:
    return secrets.token_hex(6)


class SecurityHeadersMiddleware:
    """Give each request an id, and each response the headers above."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.heard_request_id = new_request_id()
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", CONTENT_SECURITY_POLICY)
        response.setdefault("X-Content-Type-Options", "nosniff")
        response.setdefault("Referrer-Policy", "same-origin")
        response[REQUEST_ID_HEADER] = request.heard_request_id
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            add_never_cache_headers(response)  # Cache-Control: ... no-store ..., private
        return response
