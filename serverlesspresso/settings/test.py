"""The test suite (pytest's DJANGO_SETTINGS_MODULE): development's fallbacks, debug on."""

from serverlesspresso.settings.development import *  # noqa: F403

DEBUG = True
# Users are made in many tests; the default hasher's deliberate slowness buys nothing here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
