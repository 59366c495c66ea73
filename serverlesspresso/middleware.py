"""Requests no view should see (a NUL in the URL), the 429 of a login refused while its account or
address is locked."""

from collections.abc import Callable

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound

from orders.services.login_locks import login_failure_count, login_lock_lift


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


# --- Logins: failures counted per account and per address (orders.services.login_locks) --------
class LoginThrottleMiddleware:
    """Answers 429 with Retry-After a login its form refused because its account or address is
    locked (orders.web.forms' login forms leave the lock on the request): the page still says
    when to try again, and a script or proxy reads the status."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        locked = getattr(request, "login_locked", None)
        if locked is not None:
            response.status_code = 429
            response["Retry-After"] = str(locked.retry_after)
        return response


@receiver(user_login_failed, dispatch_uid="serverlesspresso.login_failed")
def _login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None:
        return
    login_failure_count(
        username=credentials.get("username"), address=request.META.get("REMOTE_ADDR", "")
    )


@receiver(user_logged_in, dispatch_uid="serverlesspresso.logged_in")
def _logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    # A success ends the account's run of failures (the address keeps its count).
    login_lock_lift(username=user.get_username())
