"""A deployment (the image, docker-compose): refuses to start without a secret key and hosts."""

from django.core.exceptions import ImproperlyConfigured

from serverlesspresso.settings.base import *  # noqa: F403

for _name in ("DJANGO_SECRET_KEY", "DJANGO_ALLOWED_HOSTS"):
    if not os.environ.get(_name, "").strip():  # noqa: F405
        raise ImproperlyConfigured(f"{_name} must be set in production")
DEBUG = False
