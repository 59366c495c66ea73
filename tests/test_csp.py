"""Every page carries the strict Content-Security-Policy (settings.SECURE_CSP); that the pages
work under it is checked in the browser tests (tests/browser.py fails one on any violation)."""

import pytest

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/admin/login/", "/display/", "/nowhere"]
)
def test_every_page_sends_the_policy(client, db, path):
    response = client.get(path)
    assert response.status_code in (200, 302, 404)
    assert response["Content-Security-Policy"] == POLICY
