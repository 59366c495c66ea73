"""Production settings: check --deploy is clean with .env.example's values, every production value
comes from the environment, and HTTPS is enforced except for health and metrics. (That production
refuses to start without its key and hosts is in tests/test_settings.py.)"""

import json
import subprocess
import sys

from tests.system import REPO


def example_env() -> dict[str, str]:
    """.env.example's assignments, as `set -a; . ./.env.example` would export them."""
    values = {}
    for line in (REPO / ".env.example").read_text().splitlines():
        if line.strip() and not line.lstrip().startswith("#"):
            key, _, value = line.partition("=")
            values[key.strip()] = value.strip()
    return values


def manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess:
    base = {"PATH": "/usr/bin:/bin", "HOME": str(REPO)}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO, env={**base, **env}, capture_output=True, text=True, timeout=60,
    )  # fmt: skip


def test_check_deploy_is_clean_with_the_example_environment():
    done = manage(example_env(), "check", "--deploy", "--fail-level", "WARNING")
    assert done.returncode == 0, done.stderr
    assert "no issues" in done.stdout


def test_production_values_come_from_the_environment():
    env = {**example_env(), "DJANGO_ALLOWED_HOSTS": "localhost", "DJANGO_CSRF_TRUSTED_ORIGINS": ""}
    names = [
        "ALLOWED_HOSTS", "CSRF_TRUSTED_ORIGINS", "SECURE_PROXY_SSL_HEADER", "SECURE_SSL_REDIRECT",
        "SESSION_COOKIE_SECURE", "CSRF_COOKIE_SECURE", "SECURE_HSTS_SECONDS", "LOG_FORMAT",
    ]  # fmt: skip
    code = (
        "import json; from django.conf import settings as s; "
        f"print(json.dumps({{n: getattr(s, n) for n in {names!r}}}))"
    )
    done = manage(env, "shell", "--verbosity", "0", "-c", code)
    assert done.returncode == 0, done.stderr
    values = json.loads(done.stdout.splitlines()[-1])
    # The public URL's host is allowed, and its origin trusted for form posts; each name's sync-
    # form too (botocore's host prefix for StartSyncExecution and TestState).
    assert values["ALLOWED_HOSTS"] == [
        "localhost",
        "coffee.example.org",
        "sync-localhost",
        "sync-coffee.example.org",
    ]
    assert values["CSRF_TRUSTED_ORIGINS"] == ["https://coffee.example.org"]
    assert values["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    assert values["SECURE_SSL_REDIRECT"] and values["SESSION_COOKIE_SECURE"]
    assert values["CSRF_COOKIE_SECURE"] and values["SECURE_HSTS_SECONDS"] >= 31536000
    assert values["LOG_FORMAT"] == "json"


def test_plain_http_is_redirected_but_health_and_metrics_answer(client, db, settings):
    settings.SECURE_SSL_REDIRECT = True
    settings.SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")
    response = client.get("/accounts/login/")
    assert response.status_code == 301 and response["Location"].startswith("https://")
    # Through the proxy, which says the request was HTTPS: served.
    assert client.get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https").status_code == 200
    # The containers' own checks and Prometheus speak plain HTTP.
    assert client.get("/health/live").status_code == 200
    assert client.get("/metrics").status_code == 200
