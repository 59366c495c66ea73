"""Requests no view should see."""

from collections.abc import Callable

from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound


def refuse_nul(get_response: Callable[[HttpRequest], HttpResponse]):
    """A NUL character in the path names nothing here (404); in the query string it is refused
    (400). PostgreSQL cannot hold a NUL in text, so it must never reach a query."""

    def middleware(request: HttpRequest) -> HttpResponse:
        if "\x00" in request.path_info:
            return HttpResponseNotFound("Not found", content_type="text/plain")
        if any(
            "\x00" in key or any("\x00" in v for v in values) for key, values in request.GET.lists()
        ):
            return HttpResponseBadRequest(
                "NUL characters are not allowed", content_type="text/plain"
            )
        return get_response(request)

    return middleware
