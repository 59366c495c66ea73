"""A deployment (the image, docker-compose): refuses to start without a secret key and hosts."""

from django.core.exceptions import ImproperlyConfigured

from serverlesspresso.settings.base import *  # noqa: F403
from serverlesspresso.settings.base import _env_bool

for _name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
    if not os.environ.get(_name, "").strip():  # noqa: F405
        raise ImproperlyConfigured(f"{_name} must be set in production")
DEBUG = False

# TLS ends at the reverse proxy (deploy/Caddyfile), which says so in X-Forwarded-Proto.
SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
SECURE_SSL_REDIRECT = _env_bool("DJANGO_SECURE_SSL_REDIRECT", True)
SESSION_COOKIE_SECURE = True
CSRF_COOKIE_SECURE = True
SECURE_HSTS_SECONDS = int(os.environ.get("DJANGO_SECURE_HSTS_SECONDS", str(365 * 24 * 3600)))  # noqa: F405
SECURE_HSTS_INCLUDE_SUBDOMAINS = _env_bool("DJANGO_SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
SECURE_HSTS_PRELOAD = _env_bool("DJANGO_SECURE_HSTS_PRELOAD", True)
# Forms posted from the public origin pass the CSRF check behind the proxy.
CSRF_TRUSTED_ORIGINS = [
    origin
    # Empty (as docker-compose passes an unset one) means the default too.
    for origin in (os.environ.get("DJANGO_CSRF_TRUSTED_ORIGINS") or PUBLIC_BASE_URL).split(",")  # noqa: F405
    if origin
]
