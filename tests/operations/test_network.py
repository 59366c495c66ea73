"""The shop on the bar's network: the QR code follows PUBLIC_BASE_URL, and `runsystem --lan`
listens on all interfaces, prints the address phones open and points the QR code at it."""

import http.cookiejar
import re
import subprocess
import sys
import urllib.parse
import urllib.request

import pytest
from django.contrib.auth.models import User
from django.test import Client

from orders.services.barista import barista_grant
from orders.services.qr_codes import qr_code_current
from serverlesspresso.operations.network import lan_address
from tests.conftest import wait_for
from tests.system import REPO, answers_200, running_system

QR_LINK = re.compile(r'<a\b[^>]*\bid="qr-link"[^>]*>')


def qr_link(page: str) -> str:
    """Where the board's QR code (the link around it) sends a phone."""
    tag = QR_LINK.search(page)
    assert tag, page
    return re.search(r'\bhref="([^"]+)"', tag.group(0)).group(1)


@pytest.fixture
def board(db) -> Client:
    barista = User.objects.create_user("bob", password="pw-bob-123")
    barista_grant(user=barista)
    client = Client()
    client.force_login(barista)
    return client


def test_the_qr_code_carries_the_configured_base_url(board, settings):
    code = qr_code_current().code
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "192.168.1.20"]
    # No setting: the address the board itself was opened on.
    page = board.get("/display/", HTTP_HOST="192.168.1.20:8000").content.decode()
    assert qr_link(page) == f"http://192.168.1.20:8000/qr/{code}"

    settings.PUBLIC_BASE_URL = "https://coffee.example.org"
    page = board.get("/display/").content.decode()
    assert qr_link(page) == f"https://coffee.example.org/qr/{code}"
    # The code is drawn from the same link (segno's SVG embeds no text, so check the link only).
    panel = board.get("/display/panel").content.decode()
    assert qr_link(panel) == f"https://coffee.example.org/qr/{code}"


@pytest.mark.integration
def test_runsystem_lan_prints_the_phones_address_and_the_qr_code_follows(tmp_path):
    address = lan_address()
    with running_system(tmp_path, "--lan") as system:
        printed = wait_for(
            lambda: system.alive() and re.search(r"Phones on this network open (\S+)/ ", system.log()),
            timeout=60, interval=0.3, message="the phones' address",
        ).group(1)  # fmt: skip
        assert printed == f"http://{address}:{system.port}"
        # Listening on all interfaces, and that host is allowed (a normal page, host-checked).
        wait_for(lambda: answers_200(f"{printed}/accounts/login/"), timeout=60, interval=0.3)
        assert answers_200(f"{system.url}/accounts/login/")

        done = subprocess.run(
            [sys.executable, "manage.py", "add-barista", "--username", "bob", "--password", "pw-bob-123"],
            cwd=REPO, env=system.env, capture_output=True, text=True, timeout=60,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        browser = _logged_in(system.url, "bob", "pw-bob-123")
        page = browser.open(f"{system.url}/display/", timeout=10).read().decode()
        assert qr_link(page).startswith(f"{printed}/qr/")


def _logged_in(base: str, username: str, password: str) -> urllib.request.OpenerDirector:
    jar = http.cookiejar.CookieJar()
    browser = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    form = browser.open(f"{base}/accounts/login/", timeout=10).read().decode()
    csrf = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    body = urllib.parse.urlencode(
        {"csrfmiddlewaretoken": csrf, "username": username, "password": password}
    ).encode()
    request = urllib.request.Request(
        f"{base}/accounts/login/", data=body, headers={"Referer": base}
    )
    browser.open(request, timeout=10)
    assert any(cookie.name == "sessionid" for cookie in jar), "login failed"
    return browser
