"""The test suite (pytest's DJANGO_SETTINGS_MODULE): development's fallbacks, debug on."""

from serverlesspresso.settings.development import *  # noqa: F403

DEBUG = True
# Users are made in many tests; the default hasher's deliberate slowness buys nothing here.
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
# No test is throttled unless it sets its own small limits (tests/*/test_rate_limits.py).
RATE_LIMITS = {scope: (1_000_000, window) for scope, (_, window) in RATE_LIMITS.items()}  # noqa: F405
