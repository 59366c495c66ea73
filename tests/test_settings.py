"""Settings per environment: production refuses to start without its secrets, only development
and tests debug, and importing settings creates no directory."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PRINT_DEBUG = "from django.conf import settings; print(settings.DEBUG, settings.VAR_DIR.exists())"


def _load(module: str, var_dir: Path, **env: str) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    return subprocess.run(
        [sys.executable, "-c", PRINT_DEBUG],
        cwd=ROOT,
        env={
            **clean,
            "DJANGO_SETTINGS_MODULE": f"serverlesspresso.settings.{module}",
            "SERVERLESSPRESSO_VAR_DIR": str(var_dir),
            **env,
        },
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "env",
    [
        {},
        {"DJANGO_SECRET_KEY": "s3cret"},
        {"DJANGO_ALLOWED_HOSTS": "shop.example"},
        {"DJANGO_SECRET_KEY": " ", "DJANGO_ALLOWED_HOSTS": "shop.example"},
    ],
)
def test_production_refuses_to_start_without_a_secret_key_and_hosts(tmp_path, env):
    loaded = _load("production", tmp_path / "var", **env)
    assert loaded.returncode != 0
    assert "ImproperlyConfigured" in loaded.stderr and "must be set in production" in loaded.stderr


@pytest.mark.parametrize(
    ("module", "env", "debug"),
    [
        ("production", {"DJANGO_SECRET_KEY": "s3cret", "DJANGO_ALLOWED_HOSTS": "a.b"}, "False"),
        (
            "production",
            {"DJANGO_SECRET_KEY": "s", "DJANGO_ALLOWED_HOSTS": "a", "DJANGO_DEBUG": "1"},
            "False",
        ),
        ("development", {}, "True"),
        ("test", {}, "True"),
        ("engine_only", {}, "True"),
    ],
)
def test_debug_only_in_development_and_tests_and_no_directory_made(tmp_path, module, env, debug):
    loaded = _load(module, tmp_path / "var", **env)
    assert loaded.returncode == 0, loaded.stderr
    # The settings loaded, and var/ still does not exist.
    assert loaded.stdout.split() == [debug, "False"]
    assert not (tmp_path / "var").exists()
