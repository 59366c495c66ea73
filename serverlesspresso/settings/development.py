"""A developer's machine (`make run`, manage.py): debug on, and fallbacks for the key and hosts."""

from serverlesspresso.settings.base import *  # noqa: F403
from serverlesspresso.settings.base import _env_bool, hosts_with_public, logging_config

DEBUG = _env_bool("DJANGO_DEBUG", True)
# The fallback key only serves development; a deployment must set DJANGO_SECRET_KEY.
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "dev-only-insecure-key-change-me")  # noqa: F405
ALLOWED_HOSTS = hosts_with_public(
    os.environ.get("DJANGO_ALLOWED_HOSTS", "localhost,127.0.0.1,[::1]").split(",")  # noqa: F405
)
# Readable lines on a developer's terminal; production writes JSON.
LOG_FORMAT = os.environ.get("LOG_FORMAT", "text")  # noqa: F405
LOGGING = logging_config(LOG_FORMAT)
