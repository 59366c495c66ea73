"""Absolute URLs for what leaves the browser: the QR code, links to share, emails."""

from django.conf import settings
from django.http import HttpRequest


def public_url(*, request: HttpRequest | None, path: str) -> str:
    """PUBLIC_BASE_URL + path when it is set (a phone must reach it: the LAN address, the
    proxy's https name); otherwise the address this request came in on."""
    if settings.PUBLIC_BASE_URL:
        return settings.PUBLIC_BASE_URL + "/" + path.lstrip("/")
    if request is None:
        raise ValueError("PUBLIC_BASE_URL is not set and there is no request to build the URL from")
    return request.build_absolute_uri(path)
