"""Every page carries the strict Content-Security-Policy (settings.CONTENT_SECURITY_POLICY, sent
by django-csp); that the pages work under it is checked in the browser tests (tests/browser.py
fails one on any violation)."""

import pytest

POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)


def _directives(policy: str) -> dict[str, list[str]]:
    """A policy's directives and their sources; the order of directives means nothing."""
    return {d.split()[0]: d.split()[1:] for d in policy.split("; ")}


@pytest.mark.parametrize(
    "path", ["/", "/accounts/login/", "/admin/login/", "/display/", "/nowhere"]
)
def test_every_page_sends_the_policy(client, db, path):
    response = client.get(path)
    assert response.status_code in (200, 302, 404)
    assert _directives(response["Content-Security-Policy"]) == _directives(POLICY)
