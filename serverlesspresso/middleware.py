"""Requests no view should see: a NUL in the URL, a login from an account or address that has
failed too often; and the Content-Security-Policy every answer carries."""

import contextlib
import hashlib
from collections.abc import Callable

from django.conf import settings
from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.dispatch import receiver
from django.http import HttpRequest, HttpResponse, HttpResponseBadRequest, HttpResponseNotFound

from stepfunctions.services.rate_limits import (
    RateLimited,
    rate_limit_check,
    rate_limit_hit,
    rate_limit_reset,
)


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


def content_security_policy(get_response: Callable[[HttpRequest], HttpResponse]):
    """Content-Security-Policy from settings.SECURE_CSP on every answer that sets none itself.

    Django 5.2 has no CSP support (6.0 adds it, with the same setting's name and shape: this
    middleware then gives way to django.middleware.csp.ContentSecurityPolicyMiddleware)."""
    policy = "; ".join(
        f"{directive} {' '.join(sources)}".strip()
        for directive, sources in settings.SECURE_CSP.items()
    )

    def middleware(request: HttpRequest) -> HttpResponse:
        response = get_response(request)
        response.headers.setdefault("Content-Security-Policy", policy)
        return response

    return middleware


# --- Logins: failures counted per account and per address; past the limit, 429 -----------------
def _account(username: object) -> str:
    # A digest: any username (any length, any characters) makes a short Redis key.
    return hashlib.sha256(str(username).encode("utf-8", "surrogatepass")).hexdigest()[:32]


def _address(request: HttpRequest) -> str:
    return request.META.get("REMOTE_ADDR", "")


class LoginThrottleMiddleware:
    """Refuses a login POST (the site's and the admin's, both named "login") with 429 while its
    account or its client address has used up its failures (settings.RATE_LIMITS' login-*),
    before the password is checked: a guesser learns nothing more, even with the right one."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        match = request.resolver_match
        if request.method != "POST" or match is None or match.url_name != "login":
            return None
        try:
            rate_limit_check(scope="login-account", who=_account(request.POST.get("username")))
            rate_limit_check(scope="login-address", who=_address(request))
        except RateLimited as limited:
            response = HttpResponse(
                f"Too many failed logins. Try again in {limited.retry_after} seconds.",
                status=429,
                content_type="text/plain",
            )
            response["Retry-After"] = str(limited.retry_after)
            return response
        return None


@receiver(user_login_failed, dispatch_uid="serverlesspresso.login_failed")
def _login_failed(sender, credentials: dict, request: HttpRequest | None = None, **kwargs) -> None:
    if request is None:
        return
    for scope, who in (
        ("login-account", _account(credentials.get("username"))),
        ("login-address", _address(request)),
    ):
        # Past the limit it is still counted; the next attempt is refused by the middleware.
        with contextlib.suppress(RateLimited):
            rate_limit_hit(scope=scope, who=who)


@receiver(user_logged_in, dispatch_uid="serverlesspresso.logged_in")
def _logged_in(sender, request: HttpRequest | None, user, **kwargs) -> None:
    # A success ends the account's run of failures (the address keeps its count).
    rate_limit_reset(scope="login-account", who=_account(user.get_username()))
