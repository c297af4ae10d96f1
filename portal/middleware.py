"""Site-wide middleware."""

from collections.abc import Callable

from allauth.core.exceptions import RateLimited
from allauth.core.internal.ratelimit import respond_429
from django.http import HttpRequest, HttpResponse


class RateLimitedMiddleware:
    """Some allauth flows raise RateLimited instead of answering (for example a
    second phone verification for the same number within 30 s): show our
    translated "too many attempts" page rather than a server error."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if isinstance(exception, RateLimited):
            return respond_429(request)
        return None
