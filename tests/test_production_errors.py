"""A server error under the production settings shows the plain 500 page: no traceback, no
settings, no debug page, whatever DJANGO_DEBUG says."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
# A login reads the database, here one that cannot be opened: a real 500.
REQUEST_A_500 = """
import django
django.setup()
from django.test import Client
login = {"username": "ana", "password": "pw"}
response = Client(raise_request_exception=False).post("/accounts/login/", login, secure=True)
body = response.content.decode()
print(response.status_code, "Traceback" in body, "SECRET_KEY" in body, "DEBUG" in body)
"""


@pytest.mark.parametrize("debug_env", [{}, {"DJANGO_DEBUG": "1"}])
def test_a_500_in_production_shows_no_debug_page(tmp_path, debug_env):
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "DATABASE_"))}
    env = {
        **clean,
        "DJANGO_SETTINGS_MODULE": "serverlesspresso.settings.production",
        "DJANGO_SECRET_KEY": "production-secret",
        "DJANGO_ALLOWED_HOSTS": "testserver",
        # A database in a directory that does not exist: every query fails.
        "DATABASE_URL": f"sqlite:///{tmp_path / 'missing' / 'db.sqlite3'}",
        "SERVERLESSPRESSO_VAR_DIR": str(tmp_path / "var"),
        **debug_env,
    }
    run = subprocess.run(
        [sys.executable, "-c", REQUEST_A_500],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert run.returncode == 0, run.stderr
    assert run.stdout.split() == ["500", "False", "False", "False"], run.stdout
    # The error is logged for the operator, not shown to the customer.
    assert "OperationalError" in run.stderr
