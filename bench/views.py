"""The stack's ceiling: a view that does nothing, measured through the same
gunicorn, middleware and settings as the portal's pages."""

from django.http import HttpRequest, HttpResponse

BARE_BODY = b"ok\n"


def bare(request: HttpRequest) -> HttpResponse:
    return HttpResponse(BARE_BODY, content_type="text/plain")
