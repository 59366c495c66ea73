"""The engine alone: the test settings without the coffee bar, for `make test-engine`.

Proves the arrow points one way: stepfunctions and its tests run with `orders` not installed.
"""

from serverlesspresso.settings.test import *  # noqa: F403

INSTALLED_APPS = [app for app in INSTALLED_APPS if app != "orders"]  # noqa: F405
LOGIN_URL = "admin:login"
LOGIN_REDIRECT_URL = "admin:index"
SFN_DEFAULT_STATE_MACHINE = None
# A database file of its own, so it never meets a full run's schema.
DATABASES["default"].setdefault("TEST", {})  # noqa: F405
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":  # noqa: F405
    DATABASES["default"]["TEST"]["NAME"] = str(VAR_DIR / "test-engine-db.sqlite3")  # noqa: F405
