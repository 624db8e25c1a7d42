"""The 500 page: it names the request id that the log line for the error carries."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseServerError
from django.template import loader


def server_error(request: HttpRequest) -> HttpResponse:
    request_id = getattr(request, "heard_request_id", "")
    try:
        # No request context: the database behind the user and messages may be what failed.
        body = loader.get_template("500.html").render({"request_id": request_id})
    except Exception:  # the page must come out even when templates cannot be read
        body = f"Sorry, there is a problem with the service (reference {request_id})."
        return HttpResponseServerError(body, content_type="text/plain; charset=utf-8")
    return HttpResponseServerError(body)
